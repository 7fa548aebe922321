/* The overlay journal: DIR/blockdev-journal.json.
 *
 *   {"version": 1, "state": "prepared" | "committing",
 *    "disks": [{"index": 0, "path": "/dev/block0",
 *               "overlay": "DIR/blockdev-overlay-0.qcow2",
 *               "committed": false}, ...]}
 *
 * Every change replaces the whole file with rename(2) after fsync, so a
 * reader sees either the old journal or the new one, never a mix.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "internal.h"
#include "json.h"
#include "string-table.h"

#define JOURNAL_VERSION 1
/* A journal lists at most a few hundred disks; anything bigger is not
 * ours.
 */
#define JOURNAL_MAX_SIZE (1024 * 1024)

void
blockdev_internal_journal_free (struct blockdev_journal *j)
{
  if (j == NULL)
    return;
  for (size_t i = 0; i < j->nr_disks; i++) {
    free (j->disks[i].path);
    free (j->disks[i].overlay);
  }
  free (j->disks);
  free (j);
}

static const char *const journal_state_table[] = {
  [BLOCKDEV_JOURNAL_PREPARED] = "prepared",
  [BLOCKDEV_JOURNAL_COMMITTING] = "committing",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (journal_state,
                                    enum blockdev_journal_state, "unknown")

static int
parse_disk (struct json_object *obj, struct blockdev_journal_disk *d,
            struct v2v_error *err)
{
  const char *path, *overlay;
  int64_t index;
  bool committed;
  int r;

  if ((r = json_get_int64 (obj, "index", &index, err)) < 0 ||
      (r = json_get_string (obj, "path", &path, err)) < 0 ||
      (r = json_get_string (obj, "overlay", &overlay, err)) < 0 ||
      (r = json_get_bool (obj, "committed", &committed, err)) < 0)
    return r;
  if (index < 0 || index > UINT32_MAX)
    return v2v_error_set (err, -EINVAL, "index: %" PRId64 " out of range",
                          index);
  d->index = (unsigned) index;
  d->committed = committed;
  d->path = strdup (path);
  d->overlay = strdup (overlay);
  if (d->path == NULL || d->overlay == NULL)
    return v2v_error_errno (err, -ENOMEM, "strdup");
  return 0;
}

static int
parse_journal (struct json_object *root, struct blockdev_journal *j,
               struct v2v_error *err)
{
  struct json_object *disks;
  const char *state;
  int64_t version;
  size_t n;
  int r;

  if ((r = json_get_int64 (root, "version", &version, err)) < 0 ||
      (r = json_get_string (root, "state", &state, err)) < 0 ||
      (r = json_get_array (root, "disks", &disks, err)) < 0)
    return r;
  if (version != JOURNAL_VERSION)
    return v2v_error_set (err, -EINVAL, "version %" PRId64 " (expected %d)",
                          version, JOURNAL_VERSION);
  if ((r = journal_state_from_string (state)) < 0)
    return v2v_error_set (err, -EINVAL, "state: unknown \"%s\"", state);
  j->state = r;

  n = json_object_array_length (disks);
  j->disks = calloc (n ? n : 1, sizeof j->disks[0]);
  if (j->disks == NULL)
    return v2v_error_errno (err, -ENOMEM, "calloc");
  for (size_t i = 0; i < n; i++) {
    r = parse_disk (json_object_array_get_idx (disks, i), &j->disks[i], err);
    j->nr_disks++;
    if (r < 0) {
      v2v_error_prefix (err, "disks[%zu]", i);
      return r;
    }
  }
  return 0;
}

int
blockdev_internal_journal_read (const char *dir,
                                struct blockdev_journal **ret_journal,
                                struct v2v_error *err)
{
  CLEANUP_FREE char *path = NULL, *data = NULL;
  CLEANUP_JSON struct json_object *root = NULL;
  struct blockdev_journal *j;
  size_t len = 0;
  int r;

  path = blockdev_internal_asprintf ("%s/" BLOCKDEV_JOURNAL_NAME, dir);
  if (path == NULL)
    return v2v_error_errno (err, -ENOMEM, "asprintf");
  r = read_file_bounded (path, JOURNAL_MAX_SIZE, &data, &len, err);
  if (r < 0)
    return r;
  r = json_parse (data, len, 0, &root, err);
  if (r < 0) {
    v2v_error_prefix (err, "%s", path);
    return r;
  }
  j = calloc (1, sizeof *j);
  if (j == NULL)
    return v2v_error_errno (err, -errno, "calloc");
  r = parse_journal (root, j, err);
  if (r < 0) {
    v2v_error_prefix (err, "%s", path);
    blockdev_internal_journal_free (j);
    return r == -ENOENT ? -EINVAL : r;
  }
  *ret_journal = j;
  return 0;
}

static struct json_object *
journal_to_json (const struct blockdev_journal *j)
{
  CLEANUP_JSON struct json_object *root = json_object_new_object ();
  CLEANUP_JSON struct json_object *disks = json_object_new_array ();

  if (root == NULL || disks == NULL)
    return NULL;
  for (size_t i = 0; i < j->nr_disks; i++) {
    struct json_object *d = json_object_new_object ();

    if (d == NULL || json_object_array_add (disks, d) == -1) {
      json_object_put (d);
      return NULL;
    }
    if (json_object_object_add (d, "index",
                                json_object_new_int64 (j->disks[i].index))
        || json_object_object_add (d, "path",
                                   json_object_new_string (j->disks[i].path))
        || json_object_object_add (d, "overlay",
                                   json_object_new_string (j->disks[i].overlay))
        || json_object_object_add (d, "committed",
                                   json_object_new_boolean (j->disks[i].committed)))
      return NULL;
  }
  if (json_object_object_add (root, "version",
                              json_object_new_int (JOURNAL_VERSION)) ||
      json_object_object_add (root, "state", json_object_new_string (
                                journal_state_to_string (j->state))) ||
      json_object_object_add (root, "disks", TAKE_PTR (disks)))
    return NULL;
  return TAKE_PTR (root);
}

static int
fsync_dir (const char *dir, struct v2v_error *err)
{
  CLEANUP_CLOSE int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd == -1)
    return v2v_error_errno (err, -errno, "%s", dir);
  if (fsync (fd) == -1)
    return v2v_error_errno (err, -errno, "%s: fsync", dir);
  return 0;
}

int
blockdev_internal_journal_write (const char *dir,
                                 const struct blockdev_journal *j,
                                 struct v2v_error *err)
{
  CLEANUP_FREE char *path = NULL, *tmp = NULL;
  CLEANUP_JSON struct json_object *root = journal_to_json (j);
  CLEANUP_CLOSE int fd = -1;
  const char *text;
  size_t len, done = 0;

  if (root == NULL)
    return v2v_error_set (err, -ENOMEM, "journal: out of memory");
  path = blockdev_internal_asprintf ("%s/" BLOCKDEV_JOURNAL_NAME, dir);
  tmp = blockdev_internal_asprintf ("%s/" BLOCKDEV_JOURNAL_NAME ".tmp", dir);
  if (path == NULL || tmp == NULL)
    return v2v_error_errno (err, -ENOMEM, "asprintf");
  text = json_object_to_json_string_ext (root, JSON_C_TO_STRING_PRETTY);
  len = strlen (text);

  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd == -1)
    return v2v_error_errno (err, -errno, "%s", tmp);
  while (done < len) {
    ssize_t n = write (fd, text + done, len - done);

    if (n == -1 && errno == EINTR)
      continue;
    if (n == -1)
      return v2v_error_errno (err, -errno, "%s: write", tmp);
    done += (size_t) n;
  }
  if (fsync (fd) == -1)
    return v2v_error_errno (err, -errno, "%s: fsync", tmp);
  if (rename (tmp, path) == -1)
    return v2v_error_errno (err, -errno, "rename %s", tmp);
  return fsync_dir (dir, err);
}

int
blockdev_internal_journal_remove (const char *dir, struct v2v_error *err)
{
  CLEANUP_FREE char *path = NULL;

  path = blockdev_internal_asprintf ("%s/" BLOCKDEV_JOURNAL_NAME, dir);
  if (path == NULL)
    return v2v_error_errno (err, -ENOMEM, "asprintf");
  if (unlink (path) == -1 && errno != ENOENT)
    return v2v_error_errno (err, -errno, "%s", path);
  return fsync_dir (dir, err);
}
