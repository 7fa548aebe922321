#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "sha256.h"

/* FIPS 180-2 appendix B and the empty string. */
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_ABCDB "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define SHA_MILLION_A \
  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

static char tmpdir[] = "/tmp/v2v-test-sha256-XXXXXX";

static void
setup (void)
{
  cr_assert_not_null (mkdtemp (tmpdir));
}

static void
teardown (void)
{
  char path[256];

  snprintf (path, sizeof path, "%s/f", tmpdir);
  unlink (path);
  rmdir (tmpdir);
}

static const char *
write_file (const void *data, size_t len)
{
  static char path[sizeof tmpdir + 8];
  FILE *fp;

  snprintf (path, sizeof path, "%s/f", tmpdir);
  fp = fopen (path, "we");
  cr_assert_not_null (fp);
  cr_assert_eq (fwrite (data, 1, len, fp), len);
  cr_assert_eq (fclose (fp), 0);
  return path;
}

TestSuite (sha256, .init = setup, .fini = teardown);

Test (sha256, buffer_empty)
{
  char hex[SHA256_HEX_LEN];

  sha256_hex_buffer ("", 0, hex);
  cr_assert_str_eq (hex, SHA_EMPTY);
}

Test (sha256, buffer_abc)
{
  char hex[SHA256_HEX_LEN];

  sha256_hex_buffer ("abc", 3, hex);
  cr_assert_str_eq (hex, SHA_ABC);
}

Test (sha256, buffer_two_blocks)
{
  const char *s = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  char hex[SHA256_HEX_LEN];

  sha256_hex_buffer (s, strlen (s), hex);
  cr_assert_str_eq (hex, SHA_ABCDB);
}

Test (sha256, file_abc)
{
  char hex[SHA256_HEX_LEN];

  cr_assert_eq (sha256_hex_file (write_file ("abc", 3), hex), 0);
  cr_assert_str_eq (hex, SHA_ABC);
}

Test (sha256, file_empty)
{
  char hex[SHA256_HEX_LEN];

  cr_assert_eq (sha256_hex_file (write_file ("", 0), hex), 0);
  cr_assert_str_eq (hex, SHA_EMPTY);
}

/* Larger than the 64 KiB read buffer, so several reads are hashed. */
Test (sha256, file_million_a)
{
  char hex[SHA256_HEX_LEN];
  char *data = malloc (1000000);

  cr_assert_not_null (data);
  memset (data, 'a', 1000000);
  cr_assert_eq (sha256_hex_file (write_file (data, 1000000), hex), 0);
  cr_assert_str_eq (hex, SHA_MILLION_A);
  free (data);
}

Test (sha256, file_missing_is_enoent)
{
  char hex[SHA256_HEX_LEN] = "unchanged";
  char path[sizeof tmpdir + 16];

  snprintf (path, sizeof path, "%s/missing", tmpdir);
  cr_assert_eq (sha256_hex_file (path, hex), -ENOENT);
  cr_assert_str_eq (hex, "unchanged");
}

Test (sha256, file_directory_is_eisdir)
{
  char hex[SHA256_HEX_LEN];

  cr_assert_eq (sha256_hex_file (tmpdir, hex), -EISDIR);
}
