#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "error.h"

Test (error, set_returns_code_and_formats_message)
{
  struct v2v_error err = { 0 };

  cr_assert_eq (v2v_error_set (&err, -ENOENT, "open %s", "/x"), -ENOENT);
  cr_assert_eq (err.code, -ENOENT);
  cr_assert_str_eq (err.msg, "open /x");
}

Test (error, set_accepts_null)
{
  cr_assert_eq (v2v_error_set (NULL, -EIO, "ignored"), -EIO);
}

Test (error, errno_appends_strerror)
{
  struct v2v_error err = { 0 };
  char want[256];

  snprintf (want, sizeof want, "read /dev/block0: %s", strerror (EIO));
  cr_assert_eq (v2v_error_errno (&err, -EIO, "read %s", "/dev/block0"), -EIO);
  cr_assert_eq (err.code, -EIO);
  cr_assert_str_eq (err.msg, want);
}

/* A call that failed without setting errno must not turn into success. */
Test (error, errno_zero_becomes_eio)
{
  struct v2v_error err = { 0 };
  char want[256];

  snprintf (want, sizeof want, "read /dev/block0: %s", strerror (EIO));
  cr_assert_eq (v2v_error_errno (&err, 0, "read %s", "/dev/block0"), -EIO);
  cr_assert_eq (err.code, -EIO);
  cr_assert_str_eq (err.msg, want);
}

Test (error, set_truncates_long_message)
{
  struct v2v_error err = { 0 };
  char big[2 * V2V_ERROR_MAX];

  memset (big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  v2v_error_set (&err, -EINVAL, "%s", big);
  cr_assert_eq (strlen (err.msg), V2V_ERROR_MAX - 1);
}

Test (error, prefix_adds_context)
{
  struct v2v_error err = { 0 };

  v2v_error_set (&err, -ENOENT, "not found");
  v2v_error_prefix (&err, "blockdev_probe %s", "/dev/block0");
  cr_assert_eq (err.code, -ENOENT);
  cr_assert_str_eq (err.msg, "blockdev_probe /dev/block0: not found");
}

Test (error, prefix_kept_whole_when_message_is_full)
{
  struct v2v_error err = { 0 };
  char big[V2V_ERROR_MAX];

  memset (big, 'm', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  v2v_error_set (&err, -EIO, "%s", big);
  v2v_error_prefix (&err, "outer");
  cr_assert_eq (strncmp (err.msg, "outer: mmm", 10), 0);
  cr_assert_eq (strlen (err.msg), V2V_ERROR_MAX - 1);
}

Test (error, prefix_accepts_null)
{
  v2v_error_prefix (NULL, "nothing");
}

Test (error, clear_resets)
{
  struct v2v_error err = { 0 };

  v2v_error_set (&err, -EIO, "x");
  v2v_error_clear (&err);
  cr_assert_eq (err.code, 0);
  cr_assert_str_eq (err.msg, "");
  v2v_error_clear (NULL);
}
