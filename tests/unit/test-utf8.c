/* common/utf8.c: what counts as a character, copies, and cuts. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "utf8.h"

#define U(s) ((const unsigned char *) (s))

Test (utf8, char_len_accepts_each_length)
{
  cr_expect_eq (utf8_char_len (U ("a"), 1), 1);
  cr_expect_eq (utf8_char_len (U ("\xc3\xa9"), 2), 2);          /* é */
  cr_expect_eq (utf8_char_len (U ("\xe2\x82\xac"), 3), 3);      /* € */
  cr_expect_eq (utf8_char_len (U ("\xf0\x9f\x98\x80"), 4), 4);  /* 😀 */
  cr_expect_eq (utf8_char_len (U ("\xf4\x8f\xbf\xbf"), 4), 4);  /* U+10FFFF */
}

Test (utf8, char_len_refuses_what_rfc3629_forbids)
{
  cr_expect_eq (utf8_char_len (U (""), 0), 0);
  cr_expect_eq (utf8_char_len (U ("\x80"), 1), 0);              /* continuation */
  cr_expect_eq (utf8_char_len (U ("\xc0\xaf"), 2), 0);          /* overlong '/' */
  cr_expect_eq (utf8_char_len (U ("\xe0\x80\xaf"), 3), 0);      /* overlong */
  cr_expect_eq (utf8_char_len (U ("\xed\xa0\x80"), 3), 0);      /* surrogate */
  cr_expect_eq (utf8_char_len (U ("\xf4\x90\x80\x80"), 4), 0);  /* > U+10FFFF */
  cr_expect_eq (utf8_char_len (U ("\xc3("), 2), 0);             /* bad tail */
  cr_expect_eq (utf8_char_len (U ("\xe2\x82\xac"), 2), 0);      /* cut short */
}

Test (utf8, copy_replaces_invalid_bytes)
{
  char *s = utf8_copy_valid ("a\xff" "b\xc3\xa9" "c\xed\xa0\x80", 100);

  cr_assert_not_null (s);
  cr_expect_str_eq (s, "a?b\xc3\xa9" "c???");
  free (s);
  cr_expect_null (utf8_copy_valid (NULL, 10));
}

Test (utf8, copy_never_splits_a_character)
{
  /* "é" is 2 bytes: a cut at 2 keeps "a" only. */
  char *s = utf8_copy_valid ("a\xc3\xa9", 2);

  cr_assert_not_null (s);
  cr_expect_str_eq (s, "a");
  free (s);
  s = utf8_copy_valid ("abc", 0);
  cr_assert_not_null (s);
  cr_expect_str_eq (s, "");
  free (s);
}

Test (utf8, prefix_len_stops_before_a_split)
{
  cr_expect_eq (utf8_prefix_len ("ab\xe2\x82\xac", 4), 2);
  cr_expect_eq (utf8_prefix_len ("ab\xe2\x82\xac", 5), 5);
  cr_expect_eq (utf8_prefix_len ("ab\xe2\x82\xac", 99), 5);
  cr_expect_eq (utf8_prefix_len ("\xff\xff", 1), 1);  /* invalid: 1 byte */
}
