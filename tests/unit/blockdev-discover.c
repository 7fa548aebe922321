/* blockdev_discover: ordering, layouts, readiness backoff and each error
 * path, on a scratch directory of image files and a clock that only
 * moves when something sleeps on it.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "blockdev-testlib.h"
#include "cleanup.h"
#include "internal.h"

TestSuite (discover, .init = blockdev_test_setup,
           .fini = blockdev_test_teardown);

/* The fake clock.  Sleeping may make a disk appear, to test waiting. */
struct fake {
  int64_t now;
  int64_t slept[64];
  size_t nslept;
  int64_t appear_at;            /* create APPEAR_PATH once now >= this */
  const char *appear_path;
  unsigned retries;             /* on_retry calls */
  char last_retry[V2V_ERROR_MAX + 64];
};

static struct fake f;

static int64_t
fake_now (void *opaque)
{
  return ((struct fake *) opaque)->now;
}

static void
fake_sleep (void *opaque, int64_t ms)
{
  struct fake *fk = opaque;

  if (fk->nslept < sizeof fk->slept / sizeof fk->slept[0])
    fk->slept[fk->nslept++] = ms;
  fk->now += ms;
  if (fk->appear_path && fk->now >= fk->appear_at) {
    blockdev_test_file (fk->appear_path, 4096);
    fk->appear_path = NULL;
  }
}

static uint64_t
fake_random (void *opaque)
{
  (void) opaque;
  return 0;
}

static const struct backoff_clock fake_clock = {
  .now_ms = fake_now, .sleep_ms = fake_sleep, .random = fake_random,
  .opaque = &f,
};

static void
on_retry (void *opaque, const char *msg)
{
  struct fake *fk = opaque;

  fk->retries++;
  snprintf (fk->last_retry, sizeof fk->last_retry, "%s", msg);
}

static struct blockdev_options
dir_options (void)
{
  struct blockdev_options opts = {
    .device_dir = blockdev_test_dir,
    .clock = &fake_clock,
    .on_retry = on_retry,
    .on_retry_opaque = &f,
  };
  return opts;
}

static void
make_disk (const char *name, uint64_t size)
{
  CLEANUP_FREE char *path = blockdev_test_path (name);

  blockdev_test_file (path, size);
}

/* Ordering */

Test (discover, parse_index)
{
  unsigned i = 99;

  cr_assert (blockdev_internal_parse_index ("block0", "block", &i));
  cr_assert_eq (i, 0);
  cr_assert (blockdev_internal_parse_index ("block10", "block", &i));
  cr_assert_eq (i, 10);
  cr_assert (blockdev_internal_parse_index ("disk7", "disk", &i));
  cr_assert_eq (i, 7);
  cr_assert_not (blockdev_internal_parse_index ("block", "block", &i));
  cr_assert_not (blockdev_internal_parse_index ("block01", "block", &i));
  cr_assert_not (blockdev_internal_parse_index ("block1p1", "block", &i));
  cr_assert_not (blockdev_internal_parse_index ("block-1", "block", &i));
  cr_assert_not (blockdev_internal_parse_index ("blockx", "block", &i));
  cr_assert_not (blockdev_internal_parse_index ("loop0", "block", &i));
  cr_assert_not (blockdev_internal_parse_index ("block99999999999", "block",
                                                &i));
}

Test (discover, numeric_order_block2_before_block10)
{
  static const char *const names[] = {
    "block10", "block2", "block0", "block1", "block9", "block3", "block8",
    "block4", "block7", "block5", "block6",
  };
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };

  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    make_disk (names[i], 4096);
  make_disk ("block1p1", 4096);         /* not a disk of ours */
  make_disk ("loop0", 4096);

  cr_assert_eq (blockdev_discover (&opts, &list, &err), 0, "%s", err.msg);
  cr_assert_eq (list->nr_disks, 11);
  for (unsigned i = 0; i < 11; i++) {
    CLEANUP_FREE char *want = NULL;

    cr_assert_neq (asprintf (&want, "%s/block%u", blockdev_test_dir, i), -1);
    cr_assert_eq (list->disks[i].index, i);
    cr_assert_str_eq (list->disks[i].path, want);
    cr_assert_eq (list->disks[i].size, 4096);
    cr_assert_not (list->disks[i].is_nbd);
  }
  cr_assert_eq (f.nslept, 0, "nothing to wait for");
  blockdev_list_free (list);
}

Test (discover, filesystem_pvc_layout)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *d0 = blockdev_test_path ("disk0");
  CLEANUP_FREE char *d1 = blockdev_test_path ("disk1");

  cr_assert_eq (mkdir (d0, 0755), 0);
  cr_assert_eq (mkdir (d1, 0755), 0);
  make_disk ("disk0/disk.img", 8192);
  make_disk ("disk1/disk.img", 4096);

  cr_assert_eq (blockdev_discover (&opts, &list, &err), 0, "%s", err.msg);
  cr_assert_eq (list->nr_disks, 2);
  cr_assert_eq (list->disks[0].size, 8192);
  cr_assert (strstr (list->disks[1].path, "/disk1/disk.img"));
  blockdev_list_free (list);
}

Test (discover, block_and_image_layouts_merge)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *d1 = blockdev_test_path ("disk1");

  make_disk ("block0", 4096);
  cr_assert_eq (mkdir (d1, 0755), 0);
  make_disk ("disk1/disk.img", 4096);

  cr_assert_eq (blockdev_discover (&opts, &list, &err), 0, "%s", err.msg);
  cr_assert_eq (list->nr_disks, 2);
  cr_assert (strstr (list->disks[0].path, "/block0"));
  cr_assert (strstr (list->disks[1].path, "/disk1/disk.img"));
  blockdev_list_free (list);
}

Test (discover, explicit_disks_take_precedence)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *a = blockdev_test_path ("a.img");
  CLEANUP_FREE char *b = blockdev_test_path ("b.img");
  char *const disks[] = { b, a, NULL };

  make_disk ("block0", 4096);
  blockdev_test_file (a, 4096);
  blockdev_test_file (b, 8192);
  opts.explicit_disks = disks;

  cr_assert_eq (blockdev_discover (&opts, &list, &err), 0, "%s", err.msg);
  cr_assert_eq (list->nr_disks, 2);
  cr_assert_str_eq (list->disks[0].path, b);
  cr_assert_eq (list->disks[0].index, 0);
  cr_assert_str_eq (list->disks[1].path, a);
  cr_assert_eq (list->disks[1].index, 1);
  blockdev_list_free (list);
}

Test (discover, device_dir_from_environment)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };

  make_disk ("block0", 4096);
  opts.device_dir = NULL;
  setenv ("V2V_DEVICE_DIR", blockdev_test_dir, 1);

  cr_assert_eq (blockdev_discover (&opts, &list, &err), 0, "%s", err.msg);
  cr_assert_eq (list->nr_disks, 1);
  cr_assert (strstr (list->disks[0].path, blockdev_test_dir));
  blockdev_list_free (list);
}

Test (discover, nbd_uris_are_recognised)
{
  cr_assert (blockdev_internal_is_nbd_uri ("nbd://localhost/x"));
  cr_assert (blockdev_internal_is_nbd_uri ("nbd+unix:///?socket=/s"));
  cr_assert (blockdev_internal_is_nbd_uri ("nbds+unix:///e?socket=/s"));
  cr_assert_not (blockdev_internal_is_nbd_uri ("/dev/block0"));
  cr_assert_not (blockdev_internal_is_nbd_uri ("nbd.img"));
}

/* Readiness and backoff */

Test (discover, waits_with_backoff_for_a_late_disk)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *late = blockdev_test_path ("block1");

  make_disk ("block0", 4096);
  opts.expected_disks = 2;
  f.appear_path = late;
  f.appear_at = 3000;

  cr_assert_eq (blockdev_discover (&opts, &list, &err), 0, "%s", err.msg);
  cr_assert_eq (list->nr_disks, 2);
  /* 0.5 + 1 + 2 s: the disk is there at 3.5 s. */
  cr_assert_eq (f.nslept, 3);
  cr_assert_eq (f.slept[0], 500);
  cr_assert_eq (f.slept[1], 1000);
  cr_assert_eq (f.slept[2], 2000);
  cr_assert_eq (f.retries, 3);
  cr_assert (strstr (f.last_retry, "stat: No such file or directory "
                     "(retrying)"), "%s", f.last_retry);
  blockdev_list_free (list);
}

Test (discover, backoff_caps_at_30s_and_stops_at_deadline)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  int64_t sum = 0;

  opts.expected_disks = 1;
  cr_assert_eq (blockdev_discover (&opts, &list, &err), -ETIMEDOUT);
  cr_assert_null (list);
  for (size_t i = 0; i < f.nslept; i++) {
    cr_assert_leq (f.slept[i], BLOCKDEV_BACKOFF_MAX_MS);
    sum += f.slept[i];
  }
  cr_assert_eq (f.slept[6], 30000);
  cr_assert_eq (sum, BLOCKDEV_DEFAULT_DEADLINE_MS);
}

Test (discover, the_deadline_is_shared_by_all_disks)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *late = blockdev_test_path ("block0");

  /* block0 takes 7.5 s to appear; block1 never does.  Together they may
   * not wait longer than the 10 s deadline.
   */
  opts.expected_disks = 2;
  opts.deadline_ms = 10000;
  f.appear_path = late;
  f.appear_at = 7000;
  cr_assert_eq (blockdev_discover (&opts, &list, &err), -ETIMEDOUT);
  cr_assert_eq (f.now, 10000);
  cr_assert (strstr (err.msg, "/block1: did not appear within 10 s"),
             "%s", err.msg);
}

/* Error paths: each checks the code and the message. */

Test (discover, error_device_never_appears)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *want = NULL;

  make_disk ("block0", 4096);
  make_disk ("block2", 4096);           /* so block1 is expected */

  cr_assert_eq (blockdev_discover (&opts, &list, &err), -ETIMEDOUT);
  cr_assert_eq (err.code, -ETIMEDOUT);
  cr_assert_neq (asprintf (&want, "blockdev_discover: %s/block1: did not "
                           "appear within 300 s (stat: No such file or "
                           "directory)", blockdev_test_dir), -1);
  cr_assert_str_eq (err.msg, want);
  cr_assert_null (list);
}

Test (discover, error_dangling_symlink_never_resolves)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *link = blockdev_test_path ("block0");

  cr_assert_eq (symlink ("/nonexistent/loop99", link), 0);
  cr_assert_eq (blockdev_discover (&opts, &list, &err), -ETIMEDOUT);
  cr_assert (strstr (err.msg, "/block0: did not appear within 300 s"),
             "%s", err.msg);
}

Test (discover, error_zero_size)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *want = NULL;

  make_disk ("block0", 0);
  cr_assert_eq (blockdev_discover (&opts, &list, &err), -EINVAL);
  cr_assert_eq (err.code, -EINVAL);
  cr_assert_neq (asprintf (&want, "blockdev_discover: %s/block0: disk has "
                           "zero size", blockdev_test_dir), -1);
  cr_assert_str_eq (err.msg, want);
  cr_assert_eq (f.nslept, 0, "zero size is not retried");
}

Test (discover, error_not_block_or_regular_directory)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *dir = blockdev_test_path ("block0");
  CLEANUP_FREE char *want = NULL;

  cr_assert_eq (mkdir (dir, 0755), 0);
  cr_assert_eq (blockdev_discover (&opts, &list, &err), -ENOTBLK);
  cr_assert_neq (asprintf (&want, "blockdev_discover: %s: not a block "
                           "device or regular file (directory)", dir), -1);
  cr_assert_str_eq (err.msg, want);
}

Test (discover, error_not_block_or_regular_chardev)
{
  char *const disks[] = { (char *) "/dev/null", NULL };
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };

  opts.explicit_disks = disks;
  cr_assert_eq (blockdev_discover (&opts, &list, &err), -ENOTBLK);
  cr_assert_str_eq (err.msg, "blockdev_discover: /dev/null: not a block "
                    "device or regular file (character device)");
}

Test (discover, error_not_block_or_regular_fifo)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *fifo = blockdev_test_path ("block0");

  cr_assert_eq (mkfifo (fifo, 0600), 0);
  cr_assert_eq (blockdev_discover (&opts, &list, &err), -ENOTBLK);
  cr_assert (strstr (err.msg, ": not a block device or regular file "
                     "(FIFO)"), "%s", err.msg);
}

/* A read-only bind mount of the scratch directory, in a mount namespace
 * of this test process only (Criterion runs each test in its own).  Root
 * ignores file modes, so nothing less would make a file read-only.  The
 * kernel ignores the filesystem type of these mounts: "none" rather than
 * NULL, which valgrind 3.19 reads as a string all the same.
 */
static bool
make_scratch_readonly (void)
{
  if (unshare (CLONE_NEWNS) == -1)
    return false;
  cr_assert_eq (mount (NULL, "/", "none", MS_REC | MS_PRIVATE, NULL), 0,
                "%m");
  cr_assert_eq (mount (blockdev_test_dir, blockdev_test_dir, "none", MS_BIND,
                       NULL), 0, "%m");
  cr_assert_eq (mount (NULL, blockdev_test_dir, "none",
                       MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0, "%m");
  return true;
}

Test (discover, error_readonly_when_write_needed)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *want = NULL;

  make_disk ("block0", 4096);
  if (!make_scratch_readonly ())
    cr_skip_test ("cannot make a mount namespace: %m");
  opts.need_write = true;
  cr_assert_eq (blockdev_discover (&opts, &list, &err), -EROFS);
  umount (blockdev_test_dir);
  cr_assert_neq (asprintf (&want, "blockdev_discover: %s/block0: the disk "
                           "is read-only, but the conversion needs to write "
                           "to it", blockdev_test_dir), -1);
  cr_assert_str_eq (err.msg, want);
}

Test (discover, readonly_is_fine_when_only_reading)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  int r;

  make_disk ("block0", 4096);
  if (!make_scratch_readonly ())
    cr_skip_test ("cannot make a mount namespace: %m");
  r = blockdev_discover (&opts, &list, &err);
  umount (blockdev_test_dir);
  cr_assert_eq (r, 0, "%s", err.msg);
  cr_assert (list->disks[0].readonly);
  blockdev_list_free (list);
}

Test (discover, error_no_disks_in_directory)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *want = NULL;

  cr_assert_eq (blockdev_discover (&opts, &list, &err), -ENOENT);
  cr_assert_neq (asprintf (&want, "blockdev_discover: no disks in %s (no "
                           "block[0-9]* and no disk[0-9]*/disk.img)",
                           blockdev_test_dir), -1);
  cr_assert_str_eq (err.msg, want);
}

Test (discover, error_device_dir_missing)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };

  opts.device_dir = "/nonexistent/devices";
  cr_assert_eq (blockdev_discover (&opts, &list, &err), -ENOENT);
  cr_assert_str_eq (err.msg, "blockdev_discover: /nonexistent/devices: "
                    "No such file or directory");
}

Test (discover, error_duplicate_index)
{
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *d0 = blockdev_test_path ("disk0");

  make_disk ("block0", 4096);
  cr_assert_eq (mkdir (d0, 0755), 0);
  make_disk ("disk0/disk.img", 4096);
  cr_assert_eq (blockdev_discover (&opts, &list, &err), -EEXIST);
  cr_assert (strstr (err.msg, "blockdev_discover: disk 0 is both "),
             "%s", err.msg);
}

Test (discover, error_nbd_server_never_listens)
{
  CLEANUP_FREE char *uri = NULL;
  struct blockdev_options opts = dir_options ();
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };
  char *disks[2] = { NULL, NULL };

  cr_assert_neq (asprintf (&uri, "nbd+unix:///?socket=%s/nbd.sock",
                           blockdev_test_dir), -1);
  disks[0] = uri;
  opts.explicit_disks = disks;
  opts.deadline_ms = 2000;
  cr_assert_eq (blockdev_discover (&opts, &list, &err), -ETIMEDOUT);
  cr_assert (strstr (err.msg, "did not appear within 2 s (nbd_connect_uri: "),
             "%s", err.msg);
  cr_assert_eq (f.now, 2000);
}
