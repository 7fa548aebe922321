/* convert/text.c: splitting and joining lines, replacing whole words. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "internal.h"

static size_t
count (char **lines)
{
  size_t n = 0;

  while (lines[n])
    n++;
  return n;
}

static char **
split (const char *text)
{
  char **lines = convert_internal_split_lines (text, strlen (text));

  cr_assert_not_null (lines);
  return lines;
}

/* split, then join, must give back TEXT with a newline at the end. */
static void
assert_round_trip (const char *text, const char *expected)
{
  char **lines = split (text);
  char *joined = convert_internal_join_lines (lines);

  cr_assert_not_null (joined);
  cr_assert_str_eq (joined, expected);
  free (joined);
  strv_free (lines);
}

Test (split_lines, trailing_newline_makes_no_empty_line)
{
  char **lines = split ("a\nb\n");

  cr_assert_eq (count (lines), 2);
  cr_assert_str_eq (lines[0], "a");
  cr_assert_str_eq (lines[1], "b");
  strv_free (lines);
}

Test (split_lines, last_line_without_newline)
{
  char **lines = split ("a\nb");

  cr_assert_eq (count (lines), 2);
  cr_assert_str_eq (lines[1], "b");
  strv_free (lines);
}

Test (split_lines, empty_text_has_no_lines)
{
  char **lines = split ("");

  cr_assert_eq (count (lines), 0);
  strv_free (lines);
}

Test (split_lines, empty_lines_are_kept)
{
  char **lines = split ("\n\na\n\n");

  cr_assert_eq (count (lines), 4);
  cr_assert_str_eq (lines[0], "");
  cr_assert_str_eq (lines[1], "");
  cr_assert_str_eq (lines[2], "a");
  cr_assert_str_eq (lines[3], "");
  strv_free (lines);
}

Test (split_lines, length_bounds_the_text)
{
  /* The text need not be NUL-terminated: LEN says where it ends. */
  char **lines = convert_internal_split_lines ("ab\ncd\nef", 5);

  cr_assert_not_null (lines);
  cr_assert_eq (count (lines), 2);
  cr_assert_str_eq (lines[0], "ab");
  cr_assert_str_eq (lines[1], "cd");
  strv_free (lines);
}

Test (join_lines, no_lines_is_empty)
{
  char *none[] = { NULL };
  char *joined = convert_internal_join_lines (none);

  cr_assert_str_eq (joined, "");
  free (joined);
}

Test (join_lines, every_line_is_terminated)
{
  char *lines[] = { (char *) "a", (char *) "", (char *) "b", NULL };
  char *joined = convert_internal_join_lines (lines);

  cr_assert_str_eq (joined, "a\n\nb\n");
  free (joined);
}

Test (round_trip, with_trailing_newline)
{
  assert_round_trip ("one\ntwo\n", "one\ntwo\n");
}

Test (round_trip, without_trailing_newline_gains_one)
{
  assert_round_trip ("one\ntwo", "one\ntwo\n");
}

Test (round_trip, empty)
{
  assert_round_trip ("", "");
}

Test (round_trip, only_a_newline)
{
  assert_round_trip ("\n", "\n");
}

Test (round_trip, blank_lines)
{
  assert_round_trip ("a\n\n\nb\n", "a\n\n\nb\n");
}

/* convert_internal_replace_word */

static void
assert_replace (const char *s, const char *from, const char *to,
                const char *expected)
{
  char *r = convert_internal_replace_word (s, from, to);

  cr_assert_not_null (r);
  cr_assert_str_eq (r, expected);
  free (r);
}

Test (replace_word, between_blanks)
{
  assert_replace ("a xen-vbd b", "xen-vbd", "virtio_blk", "a virtio_blk b");
}

Test (replace_word, at_start_and_end)
{
  assert_replace ("xen-vbd", "xen-vbd", "x", "x");
  assert_replace ("xen-vbd b", "xen-vbd", "x", "x b");
  assert_replace ("a xen-vbd", "xen-vbd", "x", "a x");
}

Test (replace_word, every_occurrence)
{
  assert_replace ("hvc0 hvc0\thvc0", "hvc0", "ttyS0", "ttyS0 ttyS0\tttyS0");
}

Test (replace_word, inside_double_quotes)
{
  assert_replace ("INITRD_MODULES=\"xen-vbd xen-vnif\"", "xen-vnif", "",
                  "INITRD_MODULES=\"xen-vbd \"");
}

Test (replace_word, inside_single_quotes)
{
  assert_replace ("M='xen-vbd'", "xen-vbd", "virtio_blk", "M='virtio_blk'");
}

Test (replace_word, longer_word_is_not_matched)
{
  assert_replace ("xen-vbdx axen-vbd", "xen-vbd", "x", "xen-vbdx axen-vbd");
}

Test (replace_word, equals_sign_is_part_of_the_word)
{
  assert_replace ("M=xen-vbd", "xen-vbd", "x", "M=xen-vbd");
}

Test (replace_word, deletion)
{
  assert_replace ("a b c", "b", "", "a  c");
}

Test (replace_word, longer_replacement_many_times)
{
  assert_replace ("a a a a a a a a", "a", "abcdefgh",
                  "abcdefgh abcdefgh abcdefgh abcdefgh abcdefgh abcdefgh "
                  "abcdefgh abcdefgh");
}

Test (replace_word, no_match_is_a_copy)
{
  assert_replace ("nothing here", "xen", "virtio", "nothing here");
}

/* convert_internal_datasource_list */

static void
assert_ds (const char *text, const char *want)
{
  char *got = convert_internal_datasource_list (text);

  if (want == NULL)
    cr_assert_null (got, "got \"%s\" from:\n%s", got, text);
  else {
    cr_assert_not_null (got, "nothing from:\n%s", text);
    cr_assert_str_eq (got, want);
  }
  free (got);
}

Test (datasource_list, flow_style)
{
  assert_ds ("datasource_list: [ Ec2, None ]\n", "Ec2,None");
  assert_ds ("datasource_list: ['NoCloud', \"ConfigDrive\",None]\n",
             "NoCloud,ConfigDrive,None");
  assert_ds ("datasource_list: []\n", "");
}

Test (datasource_list, block_style_and_comments)
{
  assert_ds ("# pinned by the AMI builder\n"
             "datasource_list:\n"
             "  - Ec2   # the only one\n"
             "  - None\n"
             "datasource:\n"
             "  Ec2:\n"
             "    strict_id: false\n", "Ec2,None");
}

Test (datasource_list, last_setting_wins_and_absent_is_null)
{
  assert_ds ("datasource_list: [ Ec2 ]\nfoo: 1\ndatasource_list: [ NoCloud ]\n",
             "NoCloud");
  assert_ds ("datasource:\n  Ec2:\n    timeout: 5\n", NULL);
  assert_ds ("# datasource_list: [ Ec2 ]\n", NULL);
  assert_ds ("", NULL);
}
