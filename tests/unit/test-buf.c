#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "buf.h"

Test (buf, append_grows_and_terminates)
{
  struct buf b;
  char chunk[300];

  buf_init (&b, 4096);
  memset (chunk, 'x', sizeof chunk);
  cr_assert_eq (buf_append (&b, "ab", 2), 0);
  cr_assert_eq (buf_append (&b, chunk, sizeof chunk), 0);
  cr_assert_eq (b.len, 302);
  cr_assert_eq (b.data[b.len], '\0');
  cr_assert_eq (strncmp (b.data, "abxx", 4), 0);
  cr_assert_geq (b.cap, b.len + 1);
  buf_free (&b);
}

Test (buf, append_up_to_cap_succeeds)
{
  struct buf b;

  buf_init (&b, 4);
  cr_assert_eq (buf_append (&b, "abcd", 4), 0);
  cr_assert_str_eq (b.data, "abcd");
  buf_free (&b);
}

Test (buf, append_past_cap_is_e2big_and_unchanged)
{
  struct buf b;

  buf_init (&b, 4);
  cr_assert_eq (buf_append (&b, "abc", 3), 0);
  cr_assert_eq (buf_append (&b, "de", 2), -E2BIG);
  cr_assert_eq (b.len, 3);
  cr_assert_str_eq (b.data, "abc");
  buf_free (&b);
}

Test (buf, append_length_overflow_is_e2big)
{
  struct buf b;

  buf_init (&b, SIZE_MAX);
  cr_assert_eq (buf_append (&b, "a", 1), 0);
  cr_assert_eq (buf_append (&b, "b", SIZE_MAX), -E2BIG);
  cr_assert_eq (b.len, 1);
  buf_free (&b);
}

Test (buf, printf_appends_formatted)
{
  struct buf b;

  buf_init (&b, 64);
  cr_assert_eq (buf_printf (&b, "%s=%d", "n", 42), 0);
  cr_assert_eq (buf_printf (&b, ";"), 0);
  cr_assert_str_eq (b.data, "n=42;");
  buf_free (&b);
}

Test (buf, printf_past_cap_is_e2big)
{
  struct buf b;

  buf_init (&b, 4);
  cr_assert_eq (buf_printf (&b, "%d", 12345), -E2BIG);
  cr_assert_eq (b.len, 0);
  buf_free (&b);
}

Test (buf, steal_hands_over_data)
{
  struct buf b;
  char *s;

  buf_init (&b, 64);
  buf_append (&b, "hello", 5);
  s = buf_steal (&b);
  cr_assert_str_eq (s, "hello");
  cr_assert_null (b.data);
  cr_assert_eq (b.len, 0);
  free (s);
}

Test (buf, steal_empty_gives_empty_string)
{
  struct buf b;
  char *s;

  buf_init (&b, 64);
  s = buf_steal (&b);
  cr_assert_not_null (s);
  cr_assert_str_eq (s, "");
  free (s);
}

Test (buf, free_twice_is_safe)
{
  struct buf b;

  buf_init (&b, 64);
  buf_append (&b, "x", 1);
  buf_free (&b);
  buf_free (&b);
  cr_assert_null (b.data);
}
