/* Overlays, the journal and running qemu-img: writes go to the overlay,
 * the base is untouched until commit and then changed only where the
 * overlay was written; an interrupted commit is reported and finished.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "blockdev-testlib.h"
#include "cleanup.h"
#include "internal.h"
#include "spawn.h"

#define MiB (1024 * 1024)

static bool
starts_with (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

TestSuite (overlay, .init = blockdev_test_setup,
           .fini = blockdev_test_teardown);

/* running programs */

Test (overlay, run_succeeds)
{
  const char *argv[] = { "true", NULL };
  struct v2v_error err = { 0 };

  cr_assert_eq (spawn_run (argv, &err), 0);
}

Test (overlay, error_run_program_missing)
{
  const char *argv[] = { "v2v-no-such-program", NULL };
  struct v2v_error err = { 0 };

  cr_assert_eq (spawn_run (argv, &err), -ENOENT);
  cr_assert_str_eq (err.msg, "v2v-no-such-program: cannot run: No such "
                    "file or directory");
}

Test (overlay, error_run_exit_status_and_stderr)
{
  const char *argv[] = {
    "sh", "-c", "echo first >&2; echo second >&2; exit 3", NULL
  };
  struct v2v_error err = { 0 };

  cr_assert_eq (spawn_run (argv, &err), -EIO);
  cr_assert_str_eq (err.msg, "sh: exit status 3: first; second");
}

Test (overlay, error_run_keeps_the_end_of_long_stderr)
{
  const char *argv[] = {
    "sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line $i >&2; "
    "i=$((i+1)); done; exit 1", NULL
  };
  struct v2v_error err = { 0 };

  cr_assert_eq (spawn_run (argv, &err), -EIO);
  cr_assert (strstr (err.msg, "line 1999"), "%s", err.msg);
  cr_assert_null (strstr (err.msg, "line 0;"));
}

/* journal */

Test (overlay, journal_round_trip)
{
  struct blockdev_journal_disk disks[] = {
    { .index = 0, .path = (char *) "/dev/block0",
      .overlay = (char *) "/x/o0", .committed = true },
    { .index = 3, .path = (char *) "nbd+unix:///?socket=/s",
      .overlay = (char *) "/x/o3", .committed = false },
  };
  struct blockdev_journal j = {
    .state = BLOCKDEV_JOURNAL_COMMITTING, .nr_disks = 2, .disks = disks,
  };
  struct blockdev_journal *back = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (blockdev_internal_journal_write (blockdev_test_dir, &j,
                                                 &err), 0, "%s", err.msg);
  cr_assert_eq (blockdev_internal_journal_read (blockdev_test_dir, &back,
                                                &err), 0, "%s", err.msg);
  cr_assert_eq (back->state, BLOCKDEV_JOURNAL_COMMITTING);
  cr_assert_eq (back->nr_disks, 2);
  cr_assert_eq (back->disks[1].index, 3);
  cr_assert_str_eq (back->disks[1].path, "nbd+unix:///?socket=/s");
  cr_assert_str_eq (back->disks[0].overlay, "/x/o0");
  cr_assert (back->disks[0].committed);
  cr_assert_not (back->disks[1].committed);
  blockdev_internal_journal_free (back);

  cr_assert_eq (blockdev_internal_journal_remove (blockdev_test_dir, &err),
                0);
  cr_assert_eq (blockdev_internal_journal_read (blockdev_test_dir, &back,
                                                &err), -ENOENT);
}

Test (overlay, error_journal_damaged)
{
  CLEANUP_FREE char *path = blockdev_test_path (BLOCKDEV_JOURNAL_NAME);
  struct blockdev_journal *j = NULL;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *want = NULL;

  blockdev_test_file (path, 0);
  blockdev_test_pwrite (path, 0, "{\"version\": 1, \"state\": \"prepared\"}",
                        35);
  cr_assert_eq (blockdev_internal_journal_read (blockdev_test_dir, &j, &err),
                -EINVAL);
  cr_assert_neq (asprintf (&want, "%s: disks: ", path), -1);
  cr_assert (starts_with (err.msg, want), "%s", err.msg);
}

Test (overlay, error_journal_unknown_state)
{
  CLEANUP_FREE char *path = blockdev_test_path (BLOCKDEV_JOURNAL_NAME);
  const char *text =
    "{\"version\": 1, \"state\": \"exploded\", \"disks\": []}";
  struct blockdev_journal *j = NULL;
  struct v2v_error err = { 0 };

  blockdev_test_file (path, 0);
  blockdev_test_pwrite (path, 0, text, strlen (text));
  cr_assert_eq (blockdev_internal_journal_read (blockdev_test_dir, &j, &err),
                -EINVAL);
  cr_assert (strstr (err.msg, "state: unknown \"exploded\""), "%s", err.msg);
}

/* overlays */

/* A disk image with a recognisable pattern, so that any write shows. */
static char *
patterned_disk (const char *name, uint64_t size)
{
  char *path = blockdev_test_path (name);

  blockdev_test_file (path, size);
  for (uint64_t off = 0; off < size; off += MiB)
    blockdev_test_fill (path, off, 0x11 + (int) (off / MiB), 4096);
  return path;
}

static struct blockdev_list *
discover (char *const *disks)
{
  struct blockdev_options opts = {
    .explicit_disks = disks, .need_write = true,
  };
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (blockdev_discover (&opts, &list, &err), 0, "%s", err.msg);
  return list;
}

static char *
make_workdir (void)
{
  char *dir = blockdev_test_path ("work");

  cr_assert_eq (mkdir (dir, 0700), 0);
  return dir;
}

/* Write 64 KiB of BYTE at OFFSET through the overlay, as the conversion
 * would.
 */
static void
write_overlay (const char *overlay, int byte, const char *offset)
{
  CLEANUP_FREE char *cmd = NULL;

  cr_assert_neq (asprintf (&cmd, "write -P 0x%02x %s 64k", byte, offset), -1);
  blockdev_test_run ("qemu-io", "-f", "qcow2", "-c", cmd, overlay, NULL);
}

/* What the base should hold after the commit: a copy with the same
 * writes made directly.
 */
static char *
expected_copy (const char *base, const char *name, int byte, uint64_t off)
{
  char *copy = blockdev_test_path (name);

  blockdev_test_run ("cp", "--sparse=always", base, copy, NULL);
  blockdev_test_fill (copy, off, byte, 64 * 1024);
  return copy;
}

static bool
exists (const char *path)
{
  return access (path, F_OK) == 0;
}

Test (overlay, create_write_commit)
{
  CLEANUP_FREE char *disk = patterned_disk ("disk.img", 8 * MiB);
  CLEANUP_FREE char *work = make_workdir ();
  CLEANUP_FREE char *want = expected_copy (disk, "expected.img", 0xab,
                                           1 * MiB);
  CLEANUP_FREE char *journal = NULL, *overlay = NULL;
  char *const disks[] = { disk, NULL };
  struct blockdev_list *list = discover (disks);
  struct v2v_error err = { 0 };
  char before[65], after_write[65], after_commit[65], expected[65];

  blockdev_test_sha256 (disk, before);
  cr_assert_eq (blockdev_overlay_create (list, work, &err), 0, "%s",
                err.msg);
  cr_assert_not_null (list->disks[0].overlay);
  overlay = strdup (list->disks[0].overlay);
  cr_assert (strstr (overlay, "/work/blockdev-overlay-0.qcow2"), "%s",
             overlay);
  cr_assert_neq (asprintf (&journal, "%s/" BLOCKDEV_JOURNAL_NAME, work), -1);
  cr_assert (exists (journal));

  write_overlay (overlay, 0xab, "1M");
  blockdev_test_sha256 (disk, after_write);
  cr_assert_str_eq (after_write, before, "the base changed before commit");

  cr_assert_eq (blockdev_overlay_commit (list, &err), 0, "%s", err.msg);
  blockdev_test_sha256 (disk, after_commit);
  cr_assert_str_neq (after_commit, before);
  blockdev_test_sha256 (want, expected);
  cr_assert_str_eq (after_commit, expected);

  cr_assert_null (list->disks[0].overlay);
  cr_assert_null (list->overlay_dir);
  cr_assert_not (exists (overlay), "the overlay is removed");
  cr_assert_not (exists (journal), "the journal is removed");
  blockdev_list_free (list);
}

Test (overlay, commit_changes_only_what_was_written)
{
  CLEANUP_FREE char *disk = patterned_disk ("disk.img", 8 * MiB);
  CLEANUP_FREE char *work = make_workdir ();
  CLEANUP_FREE char *want = expected_copy (disk, "expected.img", 0xcd,
                                           3 * MiB + 4096);
  char *const disks[] = { disk, NULL };
  struct blockdev_list *list = discover (disks);
  struct v2v_error err = { 0 };
  char got[65], expected[65];

  cr_assert_eq (blockdev_overlay_create (list, work, &err), 0, "%s",
                err.msg);
  write_overlay (list->disks[0].overlay, 0xcd, "3149824");
  cr_assert_eq (blockdev_overlay_commit (list, &err), 0, "%s", err.msg);
  blockdev_test_sha256 (disk, got);
  blockdev_test_sha256 (want, expected);
  cr_assert_str_eq (got, expected);
  blockdev_list_free (list);
}

Test (overlay, discard_leaves_the_base_untouched)
{
  CLEANUP_FREE char *disk = patterned_disk ("disk.img", 8 * MiB);
  CLEANUP_FREE char *work = make_workdir ();
  CLEANUP_FREE char *overlay = NULL, *journal = NULL;
  char *const disks[] = { disk, NULL };
  struct blockdev_list *list = discover (disks);
  struct v2v_error err = { 0 };
  char before[65], after[65];

  blockdev_test_sha256 (disk, before);
  cr_assert_eq (blockdev_overlay_create (list, work, &err), 0, "%s",
                err.msg);
  overlay = strdup (list->disks[0].overlay);
  write_overlay (overlay, 0xee, "0");
  blockdev_overlay_discard (list);
  blockdev_test_sha256 (disk, after);
  cr_assert_str_eq (after, before);
  cr_assert_null (list->disks[0].overlay);
  cr_assert_not (exists (overlay));
  cr_assert_neq (asprintf (&journal, "%s/" BLOCKDEV_JOURNAL_NAME, work), -1);
  cr_assert_not (exists (journal));
  blockdev_overlay_discard (list);      /* twice is harmless */
  blockdev_list_free (list);
}

Test (overlay, error_create_twice)
{
  CLEANUP_FREE char *disk = patterned_disk ("disk.img", 1 * MiB);
  CLEANUP_FREE char *work = make_workdir ();
  char *const disks[] = { disk, NULL };
  struct blockdev_list *list = discover (disks);
  struct v2v_error err = { 0 };

  cr_assert_eq (blockdev_overlay_create (list, work, &err), 0, "%s",
                err.msg);
  cr_assert_eq (blockdev_overlay_create (list, work, &err), -EEXIST);
  cr_assert (starts_with (err.msg, "blockdev_overlay_create: the overlays "
                          "exist already, in "), "%s", err.msg);
  blockdev_overlay_discard (list);
  blockdev_list_free (list);
}

Test (overlay, error_commit_without_overlays)
{
  CLEANUP_FREE char *disk = patterned_disk ("disk.img", 1 * MiB);
  char *const disks[] = { disk, NULL };
  struct blockdev_list *list = discover (disks);
  struct v2v_error err = { 0 };

  cr_assert_eq (blockdev_overlay_commit (list, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "blockdev_overlay_commit: no overlays "
                    "(blockdev_overlay_create was not called)");
  blockdev_list_free (list);
}

Test (overlay, error_create_in_missing_directory)
{
  CLEANUP_FREE char *disk = patterned_disk ("disk.img", 1 * MiB);
  char *const disks[] = { disk, NULL };
  struct blockdev_list *list = discover (disks);
  struct v2v_error err = { 0 };

  /* The directory itself is created, but not its missing parents. */
  cr_assert_eq (blockdev_overlay_create (list, "/nonexistent/work", &err),
                -ENOENT);
  cr_assert_str_eq (err.msg, "blockdev_overlay_create: mkdir "
                    "/nonexistent/work: No such file or directory");
  cr_assert_null (list->disks[0].overlay);
  blockdev_list_free (list);
}

Test (overlay, create_makes_missing_directory)
{
  CLEANUP_FREE char *disk = patterned_disk ("disk.img", 1 * MiB);
  CLEANUP_FREE char *work = make_workdir ();
  CLEANUP_FREE char *sub = NULL;
  char *const disks[] = { disk, NULL };
  struct blockdev_list *list = discover (disks);
  struct v2v_error err = { 0 };
  struct stat st;

  cr_assert_geq (asprintf (&sub, "%s/new", work), 0);
  /* No directory yet means no earlier run to recover. */
  cr_assert_eq (blockdev_overlay_recover (list, sub, false, NULL, &err), 0);
  cr_assert_eq (blockdev_overlay_create (list, sub, &err), 0, "%s", err.msg);
  cr_assert_eq (stat (sub, &st), 0);
  cr_assert_eq (st.st_mode & 0777, 0700);
  cr_assert_not_null (list->disks[0].overlay);
  blockdev_overlay_discard (list);
  blockdev_list_free (list);
}

Test (overlay, error_create_qemu_img_fails)
{
  CLEANUP_FREE char *disk = patterned_disk ("disk.img", 1 * MiB);
  CLEANUP_FREE char *work = make_workdir ();
  CLEANUP_FREE char *journal = NULL;
  char *const disks[] = { disk, NULL };
  struct blockdev_list *list = discover (disks);
  struct v2v_error err = { 0 };

  /* The disk goes away between discovery and the overlay. */
  cr_assert_eq (unlink (disk), 0);
  cr_assert_eq (blockdev_overlay_create (list, work, &err), -EIO);
  cr_assert (strstr (err.msg, "blockdev_overlay_create: disk 0 ("),
             "%s", err.msg);
  cr_assert (strstr (err.msg, "qemu-img: exit status 1: "), "%s", err.msg);
  cr_assert_null (list->disks[0].overlay);
  cr_assert_null (list->overlay_dir);
  cr_assert_neq (asprintf (&journal, "%s/" BLOCKDEV_JOURNAL_NAME, work), -1);
  cr_assert_not (exists (journal), "nothing is left behind");
  blockdev_list_free (list);
}

Test (overlay, leftovers_of_a_run_that_never_committed_are_removed)
{
  CLEANUP_FREE char *disk = patterned_disk ("disk.img", 1 * MiB);
  CLEANUP_FREE char *work = make_workdir ();
  char *const disks[] = { disk, NULL };
  struct blockdev_list *first = discover (disks), *second = discover (disks);
  struct v2v_error err = { 0 };
  char before[65], after[65];

  blockdev_test_sha256 (disk, before);
  cr_assert_eq (blockdev_overlay_create (first, work, &err), 0, "%s",
                err.msg);
  write_overlay (first->disks[0].overlay, 0x77, "0");
  /* The first run dies here; the second starts afresh. */
  cr_assert_eq (blockdev_overlay_recover (second, work, false, NULL, &err),
                0, "%s", err.msg);
  cr_assert_not (exists (first->disks[0].overlay));
  cr_assert_eq (blockdev_overlay_create (second, work, &err), 0, "%s",
                err.msg);
  blockdev_overlay_discard (second);
  blockdev_test_sha256 (disk, after);
  cr_assert_str_eq (after, before);
  blockdev_list_free (first);
  blockdev_list_free (second);
}

/* An interrupted commit of two disks: disk 0 is committed, disk 1 is not
 * because its overlay cannot be read at that moment.
 */
struct interrupted {
  char *disk[2], *want[2], *work, *hidden, *overlay1;
  struct blockdev_list *list;
};

static void
interrupted_free (struct interrupted *t)
{
  for (int i = 0; i < 2; i++) {
    free (t->disk[i]);
    free (t->want[i]);
  }
  free (t->work);
  free (t->hidden);
  free (t->overlay1);
  blockdev_list_free (t->list);
}

static void
interrupt_commit (struct interrupted *t)
{
  struct v2v_error err = { 0 };
  char got[65], want[65];

  t->disk[0] = patterned_disk ("disk0.img", 4 * MiB);
  t->disk[1] = patterned_disk ("disk1.img", 4 * MiB);
  t->want[0] = expected_copy (t->disk[0], "want0.img", 0xa0, 1 * MiB);
  t->want[1] = expected_copy (t->disk[1], "want1.img", 0xa1, 2 * MiB);
  t->work = make_workdir ();
  t->list = discover ((char *const []) { t->disk[0], t->disk[1], NULL });
  cr_assert_eq (blockdev_overlay_create (t->list, t->work, &err), 0, "%s",
                err.msg);
  write_overlay (t->list->disks[0].overlay, 0xa0, "1M");
  write_overlay (t->list->disks[1].overlay, 0xa1, "2M");
  t->overlay1 = strdup (t->list->disks[1].overlay);
  t->hidden = blockdev_test_path ("hidden.qcow2");
  cr_assert_eq (rename (t->overlay1, t->hidden), 0);

  cr_assert_lt (blockdev_overlay_commit (t->list, &err), 0);
  cr_assert (strstr (err.msg, "blockdev_overlay_commit: disk 1 ("),
             "%s", err.msg);
  cr_assert (strstr (err.msg, "the commit is incomplete: committed: disk 0 ("),
             "%s", err.msg);
  cr_assert (strstr (err.msg, "; not committed: disk 1 ("), "%s", err.msg);

  /* Disk 0 holds its new data; disk 1 is untouched. */
  blockdev_test_sha256 (t->disk[0], got);
  blockdev_test_sha256 (t->want[0], want);
  cr_assert_str_eq (got, want);
  blockdev_test_sha256 (t->disk[1], got);
  blockdev_test_sha256 (t->want[1], want);
  cr_assert_str_neq (got, want);
}

Test (overlay, interrupted_commit_is_reported)
{
  struct interrupted t = { 0 };
  struct blockdev_list *rerun;
  struct v2v_error err = { 0 };

  interrupt_commit (&t);
  /* Discarding after a commit began keeps what the next run needs. */
  blockdev_overlay_discard (t.list);
  cr_assert (exists (t.list->disks[0].overlay));

  rerun = discover ((char *const []) { t.disk[0], t.disk[1], NULL });
  cr_assert_eq (blockdev_overlay_recover (rerun, t.work, false, NULL, &err),
                -EBUSY);
  cr_assert (strstr (err.msg, "blockdev_overlay_recover: an earlier commit "
                     "was interrupted (journal in "), "%s", err.msg);
  cr_assert (strstr (err.msg, "committed: disk 0 ("), "%s", err.msg);
  cr_assert (strstr (err.msg, "not committed: disk 1 ("), "%s", err.msg);

  cr_assert_eq (blockdev_overlay_create (rerun, t.work, &err), -EBUSY);
  cr_assert (starts_with (err.msg, "blockdev_overlay_create: "
                          "blockdev_overlay_recover: an earlier commit was "
                          "interrupted (journal in "), "%s", err.msg);
  blockdev_list_free (rerun);
  interrupted_free (&t);
}

Test (overlay, interrupted_commit_is_finished_by_the_next_run)
{
  struct interrupted t = { 0 };
  struct blockdev_list *rerun;
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *summary = NULL, *journal = NULL;
  char got[65], want[65];

  interrupt_commit (&t);
  cr_assert_eq (rename (t.hidden, t.overlay1), 0);

  rerun = discover ((char *const []) { t.disk[0], t.disk[1], NULL });
  cr_assert_eq (blockdev_overlay_recover (rerun, t.work, true, &summary,
                                          &err), 1, "%s", err.msg);
  cr_assert (strstr (summary, "finished the commit interrupted earlier"),
             "%s", summary);
  for (int i = 0; i < 2; i++) {
    blockdev_test_sha256 (t.disk[i], got);
    blockdev_test_sha256 (t.want[i], want);
    cr_assert_str_eq (got, want, "disk %d", i);
  }
  cr_assert_not (exists (t.overlay1));
  cr_assert_neq (asprintf (&journal, "%s/" BLOCKDEV_JOURNAL_NAME, t.work),
                 -1);
  cr_assert_not (exists (journal));
  /* Nothing more to do the next time. */
  cr_assert_eq (blockdev_overlay_recover (rerun, t.work, true, NULL, &err),
                0);
  blockdev_list_free (rerun);
  interrupted_free (&t);
}

Test (overlay, error_interrupted_commit_of_other_disks)
{
  struct interrupted t = { 0 };
  struct blockdev_list *rerun;
  struct v2v_error err = { 0 };

  interrupt_commit (&t);
  /* The next run was given the disks the other way round. */
  rerun = discover ((char *const []) { t.disk[1], t.disk[0], NULL });
  cr_assert_eq (blockdev_overlay_recover (rerun, t.work, true, NULL, &err),
                -ESTALE);
  cr_assert (strstr (err.msg, "blockdev_overlay_recover: the interrupted "
                     "commit in "), "%s", err.msg);
  cr_assert (strstr (err.msg, "was of disk 0 at "), "%s", err.msg);
  blockdev_list_free (rerun);
  interrupted_free (&t);
}
