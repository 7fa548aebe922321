#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "blockdev-testlib.h"
#include "cleanup.h"
#include "internal.h"
#include "sha256.h"
#include "spawn.h"

char blockdev_test_dir[256];

void
blockdev_test_setup (void)
{
  const char *tmp = getenv ("TMPDIR");

  snprintf (blockdev_test_dir, 256, "%s/v2v-blockdev-XXXXXX",
            tmp && *tmp ? tmp : "/tmp");
  cr_assert_not_null (mkdtemp (blockdev_test_dir), "mkdtemp: %m");
}

static int
remove_one (const char *path, const struct stat *st, int flag,
            struct FTW *ftw)
{
  (void) st;
  (void) flag;
  (void) ftw;
  remove (path);
  return 0;
}

void
blockdev_test_teardown (void)
{
  if (blockdev_test_dir[0])
    nftw (blockdev_test_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
blockdev_test_path (const char *name)
{
  char *p = NULL;

  cr_assert_neq (asprintf (&p, "%s/%s", blockdev_test_dir, name), -1);
  return p;
}

void
blockdev_test_file (const char *path, uint64_t size)
{
  CLEANUP_CLOSE int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC |
                               O_CLOEXEC, 0644);

  cr_assert_geq (fd, 0, "%s: %m", path);
  cr_assert_eq (ftruncate (fd, (off_t) size), 0, "%s: ftruncate: %m", path);
}

void
blockdev_test_pwrite (const char *path, uint64_t offset, const void *data,
                      size_t len)
{
  CLEANUP_CLOSE int fd = open (path, O_WRONLY | O_CLOEXEC);

  cr_assert_geq (fd, 0, "%s: %m", path);
  cr_assert_eq (pwrite (fd, data, len, (off_t) offset), (ssize_t) len,
                "%s: pwrite: %m", path);
}

void
blockdev_test_fill (const char *path, uint64_t offset, int byte, size_t len)
{
  CLEANUP_FREE char *buf = malloc (len);

  cr_assert_not_null (buf);
  memset (buf, byte, len);
  blockdev_test_pwrite (path, offset, buf, len);
}

void
blockdev_test_copy_into (const char *src, const char *dst, uint64_t offset)
{
  CLEANUP_CLOSE int fd = open (src, O_RDONLY | O_CLOEXEC);
  char buf[65536];
  ssize_t n;

  cr_assert_geq (fd, 0, "%s: %m", src);
  while ((n = read (fd, buf, sizeof buf)) > 0) {
    blockdev_test_pwrite (dst, offset, buf, (size_t) n);
    offset += (uint64_t) n;
  }
  cr_assert_eq (n, 0, "%s: read: %m", src);
}

void
blockdev_test_run (const char *arg0, ...)
{
  const char *argv[32];
  struct v2v_error err = { 0 };
  size_t n = 0;
  va_list ap;

  argv[n++] = arg0;
  va_start (ap, arg0);
  while (n < 31 && (argv[n] = va_arg (ap, const char *)) != NULL)
    n++;
  va_end (ap);
  argv[n] = NULL;
  cr_assert_eq (spawn_run (argv, &err), 0, "%s", err.msg);
}

void
blockdev_test_sfdisk (const char *path, const char *script)
{
  CLEANUP_FREE char *input = blockdev_test_path ("sfdisk.script");
  CLEANUP_CLOSE int fd = -1;
  int status;
  pid_t pid;

  blockdev_test_file (input, 0);
  blockdev_test_pwrite (input, 0, script, strlen (script));
  fd = open (input, O_RDONLY | O_CLOEXEC);
  cr_assert_geq (fd, 0, "%s: %m", input);
  pid = fork ();
  cr_assert_neq (pid, -1, "fork: %m");
  if (pid == 0) {
    int null = open ("/dev/null", O_WRONLY);

    dup2 (fd, 0);
    dup2 (null, 1);
    execlp ("sfdisk", "sfdisk", "-q", path, (char *) NULL);
    _exit (127);
  }
  cr_assert_eq (waitpid (pid, &status, 0), pid);
  cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0,
             "sfdisk %s failed (status 0x%x)", path, (unsigned) status);
  unlink (input);
}

static void
put_le32 (uint8_t *p, uint32_t v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

void
blockdev_test_mbr (const char *path, uint8_t type, uint32_t start_lba,
                   uint32_t nr_sectors, int active, int boot_code)
{
  uint8_t mbr[512] = { 0 };
  uint8_t *e = &mbr[446];

  if (boot_code) {
    /* What a boot loader starts with: cli; xor ax,ax; jmp ... */
    mbr[0] = 0xfa;
    mbr[1] = 0x31;
    mbr[2] = 0xc0;
    mbr[3] = 0xeb;
  }
  put_le32 (&mbr[440], 0x12345678);     /* disk signature */
  e[0] = active ? 0x80 : 0x00;
  e[4] = type;
  put_le32 (&e[8], start_lba);
  put_le32 (&e[12], nr_sectors);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  blockdev_test_pwrite (path, 0, mbr, sizeof mbr);
}

struct blockdev_list *
blockdev_test_probe (const char *path)
{
  char *const disks[] = { (char *) path, NULL };
  struct blockdev_options opts = { .explicit_disks = disks };
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (blockdev_discover (&opts, &list, &err), 0, "%s", err.msg);
  cr_assert_eq (blockdev_probe (list, &err), 0, "%s", err.msg);
  cr_assert_eq (list->nr_disks, 1);
  return list;
}

void
blockdev_test_sha256 (const char *path, char *hex)
{
  cr_assert_eq (sha256_hex_file (path, hex), 0, "sha256 %s", path);
}
