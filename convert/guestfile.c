/* Everything convert/ does to guest files goes through here, so that each
 * change is bounded, backed up and logged with its reason and checksums:
 * every writer is convert_internal_change_begin, the write, then
 * convert_internal_change_end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "report.h"
#include "sha256.h"

int
convert_internal_gerror (guestfs_h *g, struct v2v_error *err,
                         const char *op, const char *arg)
{
  const char *msg = guestfs_last_error (g);
  int code = -guestfs_last_errno (g);

  /* 0 when the appliance gave no errno. */
  return v2v_error_set (err, code < 0 ? code : -EIO, "%s %s: %s",
                        op, arg ? arg : "", msg ? msg : "unknown error");
}

bool
convert_internal_exists (struct convert_ctx *ctx, const char *path)
{
  return guestfs_exists (ctx->guest->g, path) > 0;
}

bool
convert_internal_is_regular (struct convert_ctx *ctx, const char *path)
{
  return guestfs_is_file_opts (ctx->guest->g, path,
                               GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 0,
                               -1) > 0;
}

int
convert_internal_read (struct convert_ctx *ctx, const char *path,
                       char **ret, size_t *ret_len, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  int64_t size;
  size_t len;
  char *data;

  /* Symlinks are not followed: a guest may point /etc/fstab anywhere,
   * /dev/zero included.  Config we must edit has to be a regular file.
   */
  if (!convert_internal_is_regular (ctx, path))
    return v2v_error_set (err, -EINVAL,
                          "%s: not a regular file (symlink or special file); "
                          "refusing to read it", path);
  size = guestfs_filesize (g, path);
  if (size < 0)
    return convert_internal_gerror (g, err, "filesize", path);
  if (size > GUEST_FILE_MAX)
    return v2v_error_set (err, -EFBIG, "%s: %lld bytes is over the %d byte "
                          "limit for guest config files", path,
                          (long long) size, GUEST_FILE_MAX);
  data = guestfs_read_file (g, path, &len);
  if (data == NULL)
    return convert_internal_gerror (g, err, "read", path);
  /* Re-check: the size could have changed under a concurrent writer, but
   * there is none in the appliance, so this only guards our own bugs.
   */
  if (len > GUEST_FILE_MAX) {
    free (data);
    return v2v_error_set (err, -EFBIG, "%s: too large", path);
  }
  *ret = data;
  if (ret_len)
    *ret_len = len;
  return 0;
}

static struct change *
changelog_add (struct changelog *log, const char *path, const char *action,
               const char *reason)
{
  struct change *c;

  if (log->nr == log->cap) {
    size_t ncap = log->cap ? log->cap * 2 : 16;
    struct change *v = realloc (log->v, ncap * sizeof *v);
    if (v == NULL)
      return NULL;
    log->v = v;
    log->cap = ncap;
  }
  c = &log->v[log->nr++];
  memset (c, 0, sizeof *c);
  c->path = strdup (path);
  c->action = strdup (action);
  c->reason = strdup (reason);
  return c;
}

static void
remember_changed (struct changelog *log, const char *path)
{
  for (size_t i = 0; i < log->nr_changed; i++)
    if (strcmp (log->changed_paths[i], path) == 0)
      return;
  char **v = realloc (log->changed_paths,
                      (log->nr_changed + 1) * sizeof *v);
  if (v == NULL)
    return;
  log->changed_paths = v;
  v[log->nr_changed] = strdup (path);
  if (v[log->nr_changed])
    log->nr_changed++;
}

static int
checksum (struct convert_ctx *ctx, const char *path, char out[65])
{
  char *sum = guestfs_checksum (ctx->guest->g, "sha256", path);

  if (sum == NULL)
    return -1;
  snprintf (out, 65, "%s", sum);
  free (sum);
  return 0;
}

/* Copy PATH to the backup tree, once: a second edit of the same file in
 * one run keeps the original.  Returns the backup path (caller frees).
 */
static char *
backup (struct convert_ctx *ctx, const char *path, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  CLEANUP_FREE char *dir = NULL;
  char *dst = NULL;

  if (asprintf (&dst, "%s/backup%s", convert_internal_state_dir (ctx->guest),
                path) < 0) {
    v2v_error_set (err, -ENOMEM, "backup %s", path);
    return NULL;
  }
  if (guestfs_exists (g, dst) > 0)
    return dst;
  dir = strdup (dst);
  if (dir == NULL) {
    free (dst);
    v2v_error_set (err, -ENOMEM, "backup %s", path);
    return NULL;
  }
  *strrchr (dir, '/') = '\0';
  if (guestfs_mkdir_p (g, dir) == -1 || guestfs_cp_a (g, path, dst) == -1) {
    convert_internal_gerror (g, err, "backup", path);
    free (dst);
    return NULL;
  }
  return dst;
}

/* Create the parent directory of PATH in the guest. */
static int
mkdir_parent (struct convert_ctx *ctx, const char *path,
              struct v2v_error *err)
{
  CLEANUP_FREE char *dir = strdup (path);

  if (dir == NULL)
    return v2v_error_set (err, -ENOMEM, "%s", path);
  *strrchr (dir, '/') = '\0';
  if (*dir && guestfs_mkdir_p (ctx->guest->g, dir) == -1)
    return convert_internal_gerror (ctx->guest->g, err, "mkdir", dir);
  return 0;
}

int
convert_internal_change_begin (struct convert_ctx *ctx,
                               struct convert_change *c, const char *path,
                               bool may_be_new, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;

  memset (c, 0, sizeof *c);
  c->path = path;
  /* guestfs_exists follows symlinks, so a dangling one (say to
   * /etc/cron.d/x) would look absent and a write would create its
   * target: a symlink is refused whether or not it dangles. */
  if (guestfs_exists (g, path) <= 0 && guestfs_is_symlink (g, path) <= 0) {
    if (may_be_new)
      return mkdir_parent (ctx, path, err);
    return v2v_error_set (err, -ENOENT, "%s: no such file", path);
  }
  if (!convert_internal_is_regular (ctx, path))
    return v2v_error_set (err, -EINVAL, "%s: not a regular file; "
                          "refusing to overwrite it", path);
  if (checksum (ctx, path, c->before) < 0)
    return convert_internal_gerror (g, err, "checksum", path);
  c->backup = backup (ctx, path, err);
  if (c->backup == NULL)
    return err ? err->code : -EIO;
  return 0;
}

int
convert_internal_change_end (struct convert_ctx *ctx,
                             struct convert_change *c, const char *action,
                             const char *content, size_t len,
                             const char *reason, struct v2v_error *err)
{
  struct change *ch;

  if (action == NULL)
    action = *c->before ? "edit" : "create";
  ch = changelog_add (ctx->log, c->path, action, reason);
  if (ch == NULL) {
    free (c->backup);
    c->backup = NULL;
    return v2v_error_set (err, -ENOMEM, "changelog");
  }
  memcpy (ch->sha_before, c->before, sizeof c->before);
  ch->backup = c->backup;
  c->backup = NULL;
  if (content)
    sha256_hex_buffer (content, len, ch->sha_after);
  else if (checksum (ctx, c->path, ch->sha_after) < 0)
    return convert_internal_gerror (ctx->guest->g, err, "checksum", c->path);
  remember_changed (ctx->log, c->path);
  return 0;
}

void
convert_internal_change_abandon (struct convert_change *c)
{
  free (c->backup);
  c->backup = NULL;
}

int
convert_internal_write (struct convert_ctx *ctx, const char *path,
                        const char *content, size_t len, const char *reason,
                        struct v2v_error *err)
{
  struct convert_change c;
  int r;

  if ((r = convert_internal_change_begin (ctx, &c, path, true, err)) < 0)
    return r;
  if (guestfs_write (ctx->guest->g, path, content, len) == -1) {
    convert_internal_change_abandon (&c);
    return convert_internal_gerror (ctx->guest->g, err, "write", path);
  }
  return convert_internal_change_end (ctx, &c, NULL, content, len, reason,
                                      err);
}

int
convert_internal_remove (struct convert_ctx *ctx, const char *path,
                         const char *reason, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  struct convert_change c;
  struct change *ch;
  int r;

  if (guestfs_is_symlink (g, path) > 0) {
    CLEANUP_FREE char *target = guestfs_readlink (g, path);
    if (guestfs_rm (g, path) == -1)
      return convert_internal_gerror (g, err, "rm", path);
    ch = changelog_add (ctx->log, path, "remove-symlink", reason);
    if (ch && target)
      ch->backup = TAKE_PTR (target);  /* the old target, to recreate it */
    return ch ? 0 : v2v_error_set (err, -ENOMEM, "changelog");
  }
  memset (&c, 0, sizeof c);
  if (convert_internal_is_regular (ctx, path) &&
      (r = convert_internal_change_begin (ctx, &c, path, false, err)) < 0)
    return r;
  if (guestfs_rm_f (g, path) == -1) {
    convert_internal_change_abandon (&c);
    return convert_internal_gerror (g, err, "rm", path);
  }
  /* Nothing is left to label or checksum. */
  ch = changelog_add (ctx->log, path, "remove", reason);
  if (ch == NULL) {
    convert_internal_change_abandon (&c);
    return v2v_error_set (err, -ENOMEM, "changelog");
  }
  memcpy (ch->sha_before, c.before, sizeof c.before);
  ch->backup = c.backup;
  return 0;
}

int
convert_internal_symlink (struct convert_ctx *ctx, const char *target,
                          const char *path, const char *reason,
                          struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  struct change *c;
  int r;

  if ((r = mkdir_parent (ctx, path, err)) < 0)
    return r;
  if (guestfs_exists (g, path) > 0 || guestfs_is_symlink (g, path) > 0) {
    r = convert_internal_remove (ctx, path, reason, err);
    if (r < 0)
      return r;
  }
  if (guestfs_ln_s (g, target, path) == -1)
    return convert_internal_gerror (g, err, "ln -s", path);
  c = changelog_add (ctx->log, path, "symlink", reason);
  if (c == NULL)
    return v2v_error_set (err, -ENOMEM, "changelog");
  c->backup = strdup (target);
  return 0;
}

int
convert_internal_run (struct convert_ctx *ctx, const char *const *argv,
                      const char *reason, char **ret_output,
                      struct v2v_error *err)
{
  char cmdline[512] = "";
  char *out;

  for (size_t i = 0; argv[i]; i++) {
    size_t n = strlen (cmdline);
    snprintf (cmdline + n, sizeof cmdline - n, "%s%s", i ? " " : "", argv[i]);
  }
  out = guestfs_command (ctx->guest->g, (char **) argv);
  if (out == NULL)
    return convert_internal_gerror (ctx->guest->g, err, "run", cmdline);
  if (changelog_add (ctx->log, cmdline, "run", reason) == NULL) {
    free (out);
    return v2v_error_set (err, -ENOMEM, "changelog");
  }
  if (ret_output)
    *ret_output = out;
  else
    free (out);
  return 0;
}

void
convert_internal_warn (struct convert_ctx *ctx, const char *fmt, ...)
{
  struct changelog *log = ctx->log;
  char *msg = NULL;
  va_list ap;
  char **v;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  if (msg == NULL)
    return;
  /* A warning about one entry can come from each file that holds it
   * (grub.cfg, /etc/default/grub): say it once. */
  for (size_t i = 0; i < log->nr_warnings; i++)
    if (strcmp (log->warnings[i], msg) == 0) {
      free (msg);
      return;
    }
  v = realloc (log->warnings, (log->nr_warnings + 1) * sizeof *v);
  if (v == NULL) {
    free (msg);
    return;
  }
  log->warnings = v;
  v[log->nr_warnings++] = msg;
}

void
convert_internal_changelog_free (struct changelog *log)
{
  if (log == NULL)
    return;
  for (size_t i = 0; i < log->nr; i++) {
    free (log->v[i].path);
    free (log->v[i].action);
    free (log->v[i].reason);
    free (log->v[i].backup);
  }
  free (log->v);
  for (size_t i = 0; i < log->nr_warnings; i++)
    free (log->warnings[i]);
  free (log->warnings);
  for (size_t i = 0; i < log->nr_changed; i++)
    free (log->changed_paths[i]);
  free (log->changed_paths);
  memset (log, 0, sizeof *log);
}

struct json_object *
convert_internal_changelog_json (const struct changelog *log)
{
  struct json_object *arr = json_object_new_array ();

  for (size_t i = 0; i < log->nr; i++) {
    const struct change *c = &log->v[i];
    struct json_object *o = json_object_new_object ();

    json_object_object_add (o, CONVERT_REPORT_CHANGE_PATH,
                            json_object_new_string (c->path));
    json_object_object_add (o, CONVERT_REPORT_CHANGE_ACTION,
                            json_object_new_string (c->action));
    json_object_object_add (o, "reason", json_object_new_string (c->reason));
    if (*c->sha_before)
      json_object_object_add (o, "sha256_before",
                              json_object_new_string (c->sha_before));
    if (*c->sha_after)
      json_object_object_add (o, "sha256_after",
                              json_object_new_string (c->sha_after));
    /* c->backup is a backup copy for the actions that replace a file's
     * content, and the link target for the symlink ones. */
    if (c->backup)
      json_object_object_add (o, strcmp (c->action, "edit") == 0 ||
                              strcmp (c->action, "remove") == 0 ||
                              strcmp (c->action, "regenerate") == 0
                              ? "backup" : "target",
                              json_object_new_string (c->backup));
    json_object_array_add (arr, o);
  }
  return arr;
}

/* DST becomes a copy of SRC: a guest file (FROM_HOST false, guestfs_cp)
 * or a host file (guestfs_upload); one change, logged.
 */
static int
place_file (struct convert_ctx *ctx, const char *src, const char *dst,
            bool from_host, const char *reason, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  struct convert_change c;
  int r;

  if ((r = convert_internal_change_begin (ctx, &c, dst, true, err)) < 0)
    return r;
  if ((from_host ? guestfs_upload (g, src, dst) : guestfs_cp (g, src, dst))
      == -1) {
    convert_internal_change_abandon (&c);
    return convert_internal_gerror (g, err, from_host ? "upload" : "cp", src);
  }
  return convert_internal_change_end (ctx, &c, NULL, NULL, 0, reason, err);
}

int
convert_internal_copy (struct convert_ctx *ctx, const char *src,
                       const char *dst, const char *reason,
                       struct v2v_error *err)
{
  return place_file (ctx, src, dst, false, reason, err);
}

int
convert_internal_run_rewrite (struct convert_ctx *ctx,
                              const char *const *argv, const char *path,
                              const char *reason, struct v2v_error *err)
{
  struct convert_change c;
  int r;

  if ((r = convert_internal_change_begin (ctx, &c, path, true, err)) < 0)
    return r;
  if ((r = convert_internal_run (ctx, argv, reason, NULL, err)) < 0) {
    convert_internal_change_abandon (&c);
    return r;
  }
  return convert_internal_change_end (ctx, &c, *c.before ? "regenerate"
                                      : "create", NULL, 0, reason, err);
}

int
convert_internal_edit_lines (struct convert_ctx *ctx, const char *path,
                             char *(*f) (const char *line, void *opaque),
                             void *opaque, const char *reason,
                             bool *ret_changed, struct v2v_error *err)
{
  CLEANUP_FREE char *data = NULL;
  CLEANUP_STRV char **lines = NULL;
  CLEANUP_FREE char *out = NULL;
  bool changed = false;
  size_t len;
  int r;

  r = convert_internal_read (ctx, path, &data, &len, err);
  if (r < 0)
    return r;
  lines = convert_internal_split_lines (data, len);
  if (lines == NULL)
    return v2v_error_set (err, -ENOMEM, "edit %s", path);
  for (size_t i = 0; lines[i]; i++) {
    char *nl = f (lines[i], opaque);
    if (nl) {
      if (strcmp (nl, lines[i]) != 0)
        changed = true;
      free (lines[i]);
      lines[i] = nl;
    }
  }
  if (ret_changed)
    *ret_changed = changed;
  if (!changed)
    return 0;
  out = convert_internal_join_lines (lines);
  if (out == NULL)
    return v2v_error_set (err, -ENOMEM, "edit %s", path);
  /* Keep a file that had no trailing newline that way. */
  size_t olen = strlen (out);
  if (len > 0 && data[len - 1] != '\n' && olen > 0)
    out[--olen] = '\0';
  return convert_internal_write (ctx, path, out, olen, reason, err);
}

int
convert_internal_upload (struct convert_ctx *ctx, const char *src,
                         const char *dst, const char *reason,
                         struct v2v_error *err)
{
  return place_file (ctx, src, dst, true, reason, err);
}

char **
convert_internal_list_dir (struct convert_ctx *ctx, const char *dir,
                           const char *pattern)
{
  guestfs_h *g = ctx->guest->g;
  CLEANUP_FREE char *glob = NULL;
  char **paths;

  if (asprintf (&glob, "%s/%s", dir, pattern) < 0)
    return NULL;
  guestfs_push_error_handler (g, NULL, NULL);
  paths = guestfs_is_dir (g, dir) > 0
    ? guestfs_glob_expand_opts (g, glob,
                                GUESTFS_GLOB_EXPAND_OPTS_DIRECTORYSLASH, 0,
                                -1)
    : NULL;
  guestfs_pop_error_handler (g);
  if (paths && paths[0] == NULL) {
    free (paths);
    return NULL;
  }
  return paths;
}
