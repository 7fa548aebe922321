#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fileio.h"

static char dir[] = "/tmp/test-fileio-XXXXXX";
static char path[256];

static void
setup (void)
{
  cr_assert_not_null (mkdtemp (dir));
  snprintf (path, sizeof path, "%s/f", dir);
}

static void
teardown (void)
{
  unlink (path);
  rmdir (dir);
}

static void
write_file (const void *data, size_t len)
{
  FILE *fp = fopen (path, "w");

  cr_assert_not_null (fp);
  cr_assert_eq (fwrite (data, 1, len, fp), len);
  cr_assert_eq (fclose (fp), 0);
}

TestSuite (fileio, .init = setup, .fini = teardown);

Test (fileio, reads_whole_file_with_nuls)
{
  char *data = NULL;
  size_t len = 0;
  struct v2v_error err = { 0 };

  write_file ("ab\0cd", 5);
  cr_assert_eq (read_file_bounded (path, 100, &data, &len, &err), 0,
                "%s", err.msg);
  cr_assert_eq (len, 5);
  cr_assert_eq (memcmp (data, "ab\0cd", 6), 0, "contents and the NUL");
  free (data);
}

Test (fileio, larger_than_one_chunk)
{
  size_t n = 100000;
  char *big = malloc (n), *data = NULL;
  size_t len = 0;

  for (size_t i = 0; i < n; i++)
    big[i] = (char) ('a' + i % 26);
  write_file (big, n);
  cr_assert_eq (read_file_bounded (path, n, &data, &len, NULL), 0);
  cr_assert_eq (len, n);
  cr_assert_eq (memcmp (data, big, n), 0);
  free (data);
  free (big);
}

Test (fileio, empty_file_is_empty_string)
{
  char *data = NULL;

  write_file ("", 0);
  cr_assert_eq (read_file_bounded (path, 10, &data, NULL, NULL), 0);
  cr_assert_str_eq (data, "");
  free (data);
}

Test (fileio, exactly_max_is_fine)
{
  char *data = NULL;

  write_file ("abcd", 4);
  cr_assert_eq (read_file_bounded (path, 4, &data, NULL, NULL), 0);
  cr_assert_str_eq (data, "abcd");
  free (data);
}

Test (fileio, past_max_is_e2big)
{
  char *data = NULL, want[512];
  struct v2v_error err = { 0 };

  write_file ("abcde", 5);
  cr_assert_eq (read_file_bounded (path, 4, &data, NULL, &err), -E2BIG);
  cr_assert_eq (err.code, -E2BIG);
  snprintf (want, sizeof want, "%s: larger than 4 bytes", path);
  cr_assert_str_eq (err.msg, want);
  cr_assert_null (data, "output untouched on failure");
}

Test (fileio, missing_is_enoent_naming_the_file)
{
  char *data = NULL, want[512];
  struct v2v_error err = { 0 };

  cr_assert_eq (read_file_bounded (path, 4, &data, NULL, &err), -ENOENT);
  snprintf (want, sizeof want, "open %s: %s", path, strerror (ENOENT));
  cr_assert_str_eq (err.msg, want);
  cr_assert_null (data);
}

Test (fileio, directory_is_eisdir)
{
  char *data = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (read_file_bounded (dir, 4, &data, NULL, &err), -EISDIR);
  cr_assert_eq (strncmp (err.msg, "read ", 5), 0, "%s", err.msg);
}

Test (fileio, follows_symlinks)
{
  char link[300], *data = NULL;

  write_file ("token", 5);
  snprintf (link, sizeof link, "%s/l", dir);
  cr_assert_eq (symlink ("f", link), 0);
  cr_assert_eq (read_file_bounded (link, 100, &data, NULL, NULL), 0);
  cr_assert_str_eq (data, "token");
  free (data);
  unlink (link);
}
