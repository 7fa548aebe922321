/* Protective overlays: the conversion writes to a qcow2 overlay in front
 * of each disk, and the devices are written only when every disk has
 * been converted, by "qemu-img commit", which copies the clusters the
 * overlay holds and nothing else (Forklift does the same).
 *
 * The journal (journal.c) makes an interrupted commit visible:
 *
 *   create:  journal "prepared", then the overlays
 *   commit:  journal "committing", then for each disk: qemu-img commit,
 *            fsync the device, mark the disk committed in the journal;
 *            at the end remove the overlays, then the journal
 *   discard: remove the overlays, then the journal, unless committing
 *
 * "qemu-img commit -d" leaves the overlay as it was, so committing a
 * disk a second time after an interruption writes the same data again:
 * a re-run finishes a partial commit by repeating it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "internal.h"
#include "spawn.h"

/* A summary of the disks in a journal for error messages:
 * "committed: disk 0 (/dev/block0); not committed: disk 1 (/dev/block1)".
 */
static char *
journal_summary (const struct blockdev_journal *j)
{
  struct buf b;
  bool first;

  buf_init (&b, 64 * 1024);
  for (int pass = 0; pass < 2; pass++) {
    bool want = pass == 0;

    buf_printf (&b, "%s%s:", pass ? "; " : "",
                want ? "committed" : "not committed");
    first = true;
    for (size_t i = 0; i < j->nr_disks; i++) {
      if (j->disks[i].committed != want)
        continue;
      buf_printf (&b, "%s disk %u (%s)", first ? "" : ",",
                  j->disks[i].index, j->disks[i].path);
      first = false;
    }
    if (first)
      buf_printf (&b, " none");
  }
  return buf_steal (&b);
}

static char *
overlay_path (const char *dir, unsigned index)
{
  return blockdev_internal_asprintf ("%s/" BLOCKDEV_OVERLAY_FMT, dir, index);
}

/* The backing file name written into an overlay: qemu resolves a
 * relative one against the overlay's directory, not ours.
 */
static char *
backing_name (const struct blockdev_disk *d)
{
  char cwd[PATH_MAX];

  if (d->is_nbd || d->path[0] == '/')
    return strdup (d->path);
  if (getcwd (cwd, sizeof cwd) == NULL)
    return NULL;
  return blockdev_internal_asprintf ("%s/%s", cwd, d->path);
}

/* Remove the overlays a journal names.  They must be ours: the names
 * blockdev_overlay_create gives, in DIR, so a damaged journal cannot make
 * us remove anything else.
 */
static int
remove_overlays (const char *dir, const struct blockdev_journal *j,
                 struct v2v_error *err)
{
  for (size_t i = 0; i < j->nr_disks; i++) {
    CLEANUP_FREE char *expected = overlay_path (dir, j->disks[i].index);

    if (expected == NULL)
      return v2v_error_errno (err, -ENOMEM, "asprintf");
    if (strcmp (expected, j->disks[i].overlay) != 0)
      return v2v_error_set (err, -EINVAL,
                            "journal in %s names overlay %s, expected %s",
                            dir, j->disks[i].overlay, expected);
    if (unlink (expected) == -1 && errno != ENOENT)
      return v2v_error_errno (err, -errno, "unlink %s", expected);
  }
  return 0;
}

/* Commit one overlay into its device and make the writes durable. */
static int
commit_one (const char *path, bool is_nbd, const char *overlay,
            struct v2v_error *err)
{
  const char *argv[] = {
    "qemu-img", "commit", "-q", "-d", "-f", "qcow2", overlay, NULL
  };
  int r;

  if (access (overlay, R_OK) == -1)
    return v2v_error_errno (err, -errno, "overlay %s", overlay);
  r = spawn_run (argv, err);
  if (r < 0)
    return r;
  /* qemu-img flushes before it exits; this makes sure for devices whose
   * cache qemu did not go through.  NBD servers were flushed by qemu.
   */
  if (!is_nbd) {
    CLEANUP_CLOSE int fd = open (path, O_RDWR | O_CLOEXEC);

    if (fd == -1)
      return v2v_error_errno (err, -errno, "open %s", path);
    if (fsync (fd) == -1)
      return v2v_error_errno (err, -errno, "fsync %s", path);
  }
  return 0;
}

/* Commit every disk of J not yet committed, recording each in the
 * journal, then remove the overlays and the journal.  FN names the
 * public function for messages.
 */
static int
commit_journal (const char *dir, struct blockdev_journal *j,
                const struct blockdev_list *list, const char *fn,
                struct v2v_error *err)
{
  int r;

  if (j->state != BLOCKDEV_JOURNAL_COMMITTING) {
    j->state = BLOCKDEV_JOURNAL_COMMITTING;
    r = blockdev_internal_journal_write (dir, j, err);
    if (r < 0) {
      v2v_error_prefix (err, "%s", fn);
      return r;
    }
  }

  for (size_t i = 0; i < j->nr_disks; i++) {
    struct blockdev_journal_disk *jd = &j->disks[i];
    bool is_nbd = false;

    if (jd->committed)
      continue;
    for (size_t k = 0; k < list->nr_disks; k++)
      if (list->disks[k].index == jd->index)
        is_nbd = list->disks[k].is_nbd;

    r = commit_one (jd->path, is_nbd, jd->overlay, err);
    if (r == 0) {
      jd->committed = true;
      r = blockdev_internal_journal_write (dir, j, err);
    }
    if (r < 0) {
      CLEANUP_FREE char *summary = journal_summary (j);

      v2v_error_prefix (err, "%s: disk %u (%s)", fn, jd->index, jd->path);
      /* Append, rather than prefix, the state of the other disks: the
       * cause belongs next to the disk that failed.
       */
      if (summary) {
        size_t len = strlen (err ? err->msg : "");

        if (err)
          snprintf (err->msg + len, sizeof err->msg - len,
                    "; the commit is incomplete: %s; the journal in %s "
                    "lets the next run finish it", summary, dir);
      }
      return r;
    }
  }

  r = remove_overlays (dir, j, err);
  if (r == 0)
    r = blockdev_internal_journal_remove (dir, err);
  if (r < 0)
    v2v_error_prefix (err, "%s: all disks committed, but cleaning up failed",
                      fn);
  return r;
}

/* Drop the overlays from LIST (the files are gone or kept by the caller). */
static void
forget_overlays (struct blockdev_list *list)
{
  for (size_t i = 0; i < list->nr_disks; i++) {
    free (list->disks[i].overlay);
    list->disks[i].overlay = NULL;
  }
  free (list->overlay_dir);
  list->overlay_dir = NULL;
}

int
blockdev_overlay_recover (struct blockdev_list *list, const char *tmpdir,
                          bool finish, char **ret_summary,
                          struct v2v_error *err)
{
  CLEANUP_FREE char *dir = NULL, *summary = NULL;
  struct blockdev_journal *j = NULL;
  int r;

  dir = realpath (tmpdir, NULL);
  if (dir == NULL && errno == ENOENT)
    return 0;                   /* no directory: no earlier run */
  if (dir == NULL)
    return v2v_error_errno (err, -errno, "blockdev_overlay_recover: %s",
                            tmpdir);
  r = blockdev_internal_journal_read (dir, &j, err);
  if (r == -ENOENT)
    return 0;
  if (r < 0) {
    v2v_error_prefix (err, "blockdev_overlay_recover");
    return r;
  }

  if (j->state == BLOCKDEV_JOURNAL_PREPARED) {
    /* The earlier run died before it wrote to any device. */
    r = remove_overlays (dir, j, err);
    if (r == 0)
      r = blockdev_internal_journal_remove (dir, err);
    if (r < 0)
      v2v_error_prefix (err, "blockdev_overlay_recover");
    goto out;
  }

  summary = journal_summary (j);
  if (!finish) {
    r = v2v_error_set (err, -EBUSY,
                       "blockdev_overlay_recover: an earlier commit was "
                       "interrupted (journal in %s): %s",
                       dir, summary ? summary : "");
    goto out;
  }

  for (size_t i = 0; i < j->nr_disks; i++) {
    const struct blockdev_journal_disk *jd = &j->disks[i];
    const struct blockdev_disk *d = NULL;

    for (size_t k = 0; k < list->nr_disks; k++)
      if (list->disks[k].index == jd->index)
        d = &list->disks[k];
    if (d == NULL || strcmp (d->path, jd->path) != 0) {
      r = v2v_error_set (err, -ESTALE,
                         "blockdev_overlay_recover: the interrupted commit "
                         "in %s was of disk %u at %s, but disk %u is now %s",
                         dir, jd->index, jd->path, jd->index,
                         d ? d->path : "missing");
      goto out;
    }
  }
  r = commit_journal (dir, j, list, "blockdev_overlay_recover", err);
  if (r == 0) {
    r = 1;
    if (ret_summary) {
      *ret_summary =
        blockdev_internal_asprintf ("finished the commit interrupted "
                                    "earlier in %s (before this run, %s)",
                                    dir, summary ? summary : "");
      if (*ret_summary == NULL)
        r = v2v_error_errno (err, -ENOMEM, "blockdev_overlay_recover");
    }
  }
 out:
  blockdev_internal_journal_free (j);
  return r;
}

/* Undo a half-done blockdev_overlay_create. */
static void
create_cleanup (struct blockdev_list *list, const char *dir)
{
  for (size_t i = 0; i < list->nr_disks; i++)
    if (list->disks[i].overlay)
      unlink (list->disks[i].overlay);
  blockdev_internal_journal_remove (dir, NULL);
  forget_overlays (list);
}

int
blockdev_overlay_create (struct blockdev_list *list, const char *tmpdir,
                         struct v2v_error *err)
{
  CLEANUP_FREE char *dir = NULL;
  struct blockdev_journal j = { .state = BLOCKDEV_JOURNAL_PREPARED };
  int r;

  if (list->overlay_dir)
    return v2v_error_set (err, -EEXIST,
                          "blockdev_overlay_create: the overlays exist "
                          "already, in %s", list->overlay_dir);
  r = blockdev_overlay_recover (list, tmpdir, false, NULL, err);
  if (r < 0) {
    if (r == -EBUSY)
      v2v_error_prefix (err, "blockdev_overlay_create");
    return r;
  }
  /* The overlays may hold guest data: only we can read them. */
  if (mkdir (tmpdir, 0700) == -1 && errno != EEXIST)
    return v2v_error_errno (err, -errno, "blockdev_overlay_create: mkdir %s",
                            tmpdir);
  dir = realpath (tmpdir, NULL);
  if (dir == NULL)
    return v2v_error_errno (err, -errno, "blockdev_overlay_create: %s",
                            tmpdir);

  /* The journal comes first, so that overlays left by a crash in the
   * middle of this are known and removed by the next run.
   */
  j.disks = calloc (list->nr_disks ? list->nr_disks : 1, sizeof j.disks[0]);
  if (j.disks == NULL)
    return v2v_error_errno (err, -errno, "blockdev_overlay_create: calloc");
  for (size_t i = 0; i < list->nr_disks; i++) {
    j.disks[i].index = list->disks[i].index;
    j.disks[i].path = list->disks[i].path;
    j.disks[i].overlay = overlay_path (dir, list->disks[i].index);
    if (j.disks[i].overlay == NULL) {
      r = v2v_error_errno (err, -ENOMEM, "blockdev_overlay_create");
      goto out;
    }
    j.nr_disks++;
  }
  r = blockdev_internal_journal_write (dir, &j, err);
  if (r < 0) {
    v2v_error_prefix (err, "blockdev_overlay_create");
    goto out;
  }
  list->overlay_dir = TAKE_PTR (dir);

  for (size_t i = 0; i < list->nr_disks; i++) {
    struct blockdev_disk *d = &list->disks[i];
    CLEANUP_FREE char *backing = backing_name (d);
    const char *overlay = j.disks[i].overlay;
    const char *argv[] = {
      "qemu-img", "create", "-q", "-f", "qcow2",
      "-b", backing, "-F", "raw", overlay, NULL
    };

    if (backing == NULL) {
      r = v2v_error_errno (err, -errno ? -errno : -ENOMEM,
                           "blockdev_overlay_create: %s", d->path);
      break;
    }
    if (unlink (overlay) == -1 && errno != ENOENT) {
      r = v2v_error_errno (err, -errno, "blockdev_overlay_create: %s",
                           overlay);
      break;
    }
    r = spawn_run (argv, err);
    if (r < 0) {
      v2v_error_prefix (err, "blockdev_overlay_create: disk %u (%s)",
                        d->index, d->path);
      break;
    }
    d->overlay = strdup (overlay);
    if (d->overlay == NULL) {
      unlink (overlay);
      r = v2v_error_errno (err, -ENOMEM, "blockdev_overlay_create");
      break;
    }
  }
  if (r < 0)
    create_cleanup (list, list->overlay_dir);

 out:
  for (size_t i = 0; i < j.nr_disks; i++)
    free (j.disks[i].overlay);
  free (j.disks);
  return r;
}

int
blockdev_overlay_commit (struct blockdev_list *list, struct v2v_error *err)
{
  struct blockdev_journal *j = NULL;
  int r;

  if (list->overlay_dir == NULL)
    return v2v_error_set (err, -EINVAL,
                          "blockdev_overlay_commit: no overlays "
                          "(blockdev_overlay_create was not called)");
  r = blockdev_internal_journal_read (list->overlay_dir, &j, err);
  if (r < 0) {
    v2v_error_prefix (err, "blockdev_overlay_commit");
    return r;
  }
  /* The journal must describe this list, or a second agent shares the
   * directory.
   */
  if (j->nr_disks != list->nr_disks) {
    r = v2v_error_set (err, -ESTALE,
                       "blockdev_overlay_commit: the journal in %s lists "
                       "%zu disks, not %zu", list->overlay_dir,
                       j->nr_disks, list->nr_disks);
    goto out;
  }
  for (size_t i = 0; i < j->nr_disks; i++)
    if (j->disks[i].index != list->disks[i].index ||
        strcmp (j->disks[i].path, list->disks[i].path) != 0 ||
        list->disks[i].overlay == NULL ||
        strcmp (j->disks[i].overlay, list->disks[i].overlay) != 0) {
      r = v2v_error_set (err, -ESTALE,
                         "blockdev_overlay_commit: the journal in %s does "
                         "not match disk %u (%s)", list->overlay_dir,
                         list->disks[i].index, list->disks[i].path);
      goto out;
    }

  r = commit_journal (list->overlay_dir, j, list, "blockdev_overlay_commit",
                      err);
  for (size_t i = 0; i < j->nr_disks; i++)
    list->disks[i].committed = j->disks[i].committed;
  if (r == 0)
    forget_overlays (list);
 out:
  blockdev_internal_journal_free (j);
  return r;
}

void
blockdev_overlay_discard (struct blockdev_list *list)
{
  struct blockdev_journal *j = NULL;
  int r;

  if (list == NULL || list->overlay_dir == NULL)
    return;
  r = blockdev_internal_journal_read (list->overlay_dir, &j, NULL);
  /* Once a commit has begun the overlays are the only way to finish it,
   * and an unreadable journal may have been that of a commit.
   */
  if ((r == 0 && j->state == BLOCKDEV_JOURNAL_COMMITTING) ||
      (r < 0 && r != -ENOENT)) {
    blockdev_internal_journal_free (j);
    return;
  }
  blockdev_internal_journal_free (j);
  for (size_t i = 0; i < list->nr_disks; i++)
    if (list->disks[i].overlay)
      unlink (list->disks[i].overlay);
  blockdev_internal_journal_remove (list->overlay_dir, NULL);
  forget_overlays (list);
}
