#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "timeutil.h"

Test (timeutil, now_is_monotonic_and_consistent)
{
  int64_t a = now_ms ();
  double s = now_s ();
  struct timespec ts = { 0, 30 * 1000000 };

  nanosleep (&ts, NULL);
  int64_t b = now_ms ();
  cr_assert_geq (b - a, 30, "%lld ms", (long long) (b - a));
  cr_assert_lt (b - a, 30000);
  /* Both read CLOCK_MONOTONIC. */
  cr_assert_lt (s * 1000 - (double) a, 1000.0);
  cr_assert_geq (s * 1000 - (double) a, -1.0);
}

Test (timeutil, timespec_after_ms_normalises)
{
  struct timespec now, t;

  clock_gettime (CLOCK_MONOTONIC, &now);
  t = timespec_after_ms (CLOCK_MONOTONIC, 1999);
  cr_assert_lt (t.tv_nsec, 1000000000L);
  cr_assert_geq (t.tv_nsec, 0);
  double d = timespec_diff_s (&t, &now);
  cr_assert (d >= 1.999 && d < 3.0, "%f", d);
}

Test (timeutil, timespec_after_negative_is_now)
{
  struct timespec now, t;

  clock_gettime (CLOCK_REALTIME, &now);
  t = timespec_after_ms (CLOCK_REALTIME, -5000);
  cr_assert (timespec_diff_s (&t, &now) >= 0.0);
  cr_assert (timespec_diff_s (&t, &now) < 1.0);
}

Test (timeutil, timespec_diff)
{
  struct timespec a = { 10, 100000000 }, b = { 8, 900000000 };

  cr_assert_float_eq (timespec_diff_s (&a, &b), 1.2, 1e-9);
  cr_assert_float_eq (timespec_diff_s (&b, &a), -1.2, 1e-9);
}

Test (timeutil, rfc3339)
{
  char s[RFC3339_MAX];

  cr_assert_eq (time_format_rfc3339 (0, s, sizeof s), 0);
  cr_assert_str_eq (s, "1970-01-01T00:00:00Z");
  cr_assert_eq (time_format_rfc3339 (1796292789, s, sizeof s), 0);
  cr_assert_str_eq (s, "2026-12-03T10:13:09Z");
}

Test (timeutil, rfc3339_too_small_is_einval_and_empty)
{
  char s[8];

  cr_assert_eq (time_format_rfc3339 (0, s, sizeof s), -EINVAL);
  cr_assert_str_eq (s, "");
}
