/* Everything convert/ does to guest files goes through here, so that each
 * change is bounded, backed up and logged with its reason and checksums.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
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

int
convert_internal_write (struct convert_ctx *ctx, const char *path,
                        const char *content, size_t len, const char *reason,
                        struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  char before[65] = "";
  CLEANUP_FREE char *bak = NULL;
  struct change *c;

  /* guestfs_exists follows symlinks, so a dangling one (say to
   * /etc/cron.d/x) would look absent and guestfs_write would create its
   * target: a symlink is refused whether or not it dangles. */
  if (guestfs_exists (g, path) > 0 || guestfs_is_symlink (g, path) > 0) {
    if (!convert_internal_is_regular (ctx, path))
      return v2v_error_set (err, -EINVAL, "%s: not a regular file; "
                            "refusing to overwrite it", path);
    checksum (ctx, path, before);
    bak = backup (ctx, path, err);
    if (bak == NULL)
      return err ? err->code : -EIO;
  }
  else {
    CLEANUP_FREE char *dir = strdup (path);
    if (dir == NULL)
      return v2v_error_set (err, -ENOMEM, "write %s", path);
    *strrchr (dir, '/') = '\0';
    if (*dir && guestfs_mkdir_p (g, dir) == -1)
      return convert_internal_gerror (g, err, "mkdir", dir);
  }

  if (guestfs_write (g, path, content, len) == -1)
    return convert_internal_gerror (g, err, "write", path);

  c = changelog_add (ctx->log, path, *before ? "edit" : "create", reason);
  if (c == NULL)
    return v2v_error_set (err, -ENOMEM, "changelog");
  memcpy (c->sha_before, before, sizeof before);
  sha256_hex_buffer (content, len, c->sha_after);
  c->backup = TAKE_PTR (bak);
  remember_changed (ctx->log, path);
  return 0;
}

int
convert_internal_remove (struct convert_ctx *ctx, const char *path,
                         const char *reason, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  char before[65] = "";
  CLEANUP_FREE char *bak = NULL;
  struct change *c;

  if (guestfs_is_symlink (g, path) > 0) {
    CLEANUP_FREE char *target = guestfs_readlink (g, path);
    if (guestfs_rm (g, path) == -1)
      return convert_internal_gerror (g, err, "rm", path);
    c = changelog_add (ctx->log, path, "remove-symlink", reason);
    if (c && target)
      c->backup = TAKE_PTR (target);  /* the old target, to recreate it */
    return c ? 0 : v2v_error_set (err, -ENOMEM, "changelog");
  }
  if (convert_internal_is_regular (ctx, path)) {
    checksum (ctx, path, before);
    bak = backup (ctx, path, err);
    if (bak == NULL)
      return err ? err->code : -EIO;
  }
  if (guestfs_rm_f (g, path) == -1)
    return convert_internal_gerror (g, err, "rm", path);
  c = changelog_add (ctx->log, path, "remove", reason);
  if (c == NULL)
    return v2v_error_set (err, -ENOMEM, "changelog");
  memcpy (c->sha_before, before, sizeof before);
  c->backup = TAKE_PTR (bak);
  return 0;
}

int
convert_internal_symlink (struct convert_ctx *ctx, const char *target,
                          const char *path, const char *reason,
                          struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  CLEANUP_FREE char *dir = strdup (path);
  struct change *c;

  if (dir == NULL)
    return v2v_error_set (err, -ENOMEM, "symlink %s", path);
  *strrchr (dir, '/') = '\0';
  if (*dir && guestfs_mkdir_p (g, dir) == -1)
    return convert_internal_gerror (g, err, "mkdir", dir);
  if (guestfs_exists (g, path) > 0 || guestfs_is_symlink (g, path) > 0) {
    int r = convert_internal_remove (ctx, path, reason, err);
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

    json_object_object_add (o, "path", json_object_new_string (c->path));
    json_object_object_add (o, "action", json_object_new_string (c->action));
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

int
convert_internal_copy (struct convert_ctx *ctx, const char *src,
                       const char *dst, const char *reason,
                       struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  CLEANUP_FREE char *dir = strdup (dst);
  struct change *c;

  if (dir == NULL)
    return v2v_error_set (err, -ENOMEM, "copy %s", dst);
  *strrchr (dir, '/') = '\0';
  if (*dir && guestfs_mkdir_p (g, dir) == -1)
    return convert_internal_gerror (g, err, "mkdir", dir);
  if (guestfs_cp (g, src, dst) == -1)
    return convert_internal_gerror (g, err, "cp", src);
  c = changelog_add (ctx->log, dst, "create", reason);
  if (c == NULL)
    return v2v_error_set (err, -ENOMEM, "changelog");
  checksum (ctx, dst, c->sha_after);
  c->backup = NULL;
  remember_changed (ctx->log, dst);
  return 0;
}

int
convert_internal_run_rewrite (struct convert_ctx *ctx,
                              const char *const *argv, const char *path,
                              const char *reason, struct v2v_error *err)
{
  char before[65] = "";
  CLEANUP_FREE char *bak = NULL;
  struct change *c;
  int r;

  if (convert_internal_is_regular (ctx, path)) {
    checksum (ctx, path, before);
    bak = backup (ctx, path, err);
    if (bak == NULL)
      return err ? err->code : -EIO;
  }
  r = convert_internal_run (ctx, argv, reason, NULL, err);
  if (r < 0)
    return r;
  c = changelog_add (ctx->log, path, *before ? "regenerate" : "create",
                     reason);
  if (c == NULL)
    return v2v_error_set (err, -ENOMEM, "changelog");
  memcpy (c->sha_before, before, sizeof before);
  checksum (ctx, path, c->sha_after);
  c->backup = TAKE_PTR (bak);
  remember_changed (ctx->log, path);
  return 0;
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
convert_internal_backup_begin (struct convert_ctx *ctx, const char *path,
                               char before[65], char **ret_backup,
                               struct v2v_error *err)
{
  char *bak;

  before[0] = '\0';
  if (!convert_internal_is_regular (ctx, path))
    return v2v_error_set (err, -EINVAL, "%s: not a regular file; refusing "
                          "to rewrite it", path);
  if (checksum (ctx, path, before) < 0)
    return convert_internal_gerror (ctx->guest->g, err, "checksum", path);
  bak = backup (ctx, path, err);
  if (bak == NULL)
    return err ? err->code : -EIO;
  *ret_backup = bak;
  return 0;
}

int
convert_internal_log_rewrite (struct convert_ctx *ctx, const char *path,
                              const char before[65], char *backup_path,
                              const char *reason, struct v2v_error *err)
{
  struct change *c = changelog_add (ctx->log, path, "edit", reason);

  if (c == NULL) {
    free (backup_path);
    return v2v_error_set (err, -ENOMEM, "changelog");
  }
  snprintf (c->sha_before, sizeof c->sha_before, "%s", before);
  c->backup = backup_path;
  if (checksum (ctx, path, c->sha_after) < 0)
    return convert_internal_gerror (ctx->guest->g, err, "checksum", path);
  remember_changed (ctx->log, path);
  return 0;
}

int
convert_internal_upload (struct convert_ctx *ctx, const char *src,
                         const char *dst, const char *reason,
                         struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  CLEANUP_FREE char *dir = strdup (dst);
  CLEANUP_FREE char *bak = NULL;
  char before[65] = "";
  struct change *c;

  if (dir == NULL)
    return v2v_error_set (err, -ENOMEM, "upload %s", dst);
  *strrchr (dir, '/') = '\0';
  if (*dir && guestfs_mkdir_p (g, dir) == -1)
    return convert_internal_gerror (g, err, "mkdir", dir);
  if (guestfs_exists (g, dst) > 0) {
    int r = convert_internal_backup_begin (ctx, dst, before, &bak, err);
    if (r < 0)
      return r;
  }
  if (guestfs_upload (g, src, dst) == -1)
    return convert_internal_gerror (g, err, "upload", src);
  c = changelog_add (ctx->log, dst, *before ? "edit" : "create", reason);
  if (c == NULL)
    return v2v_error_set (err, -ENOMEM, "changelog");
  memcpy (c->sha_before, before, sizeof before);
  c->backup = TAKE_PTR (bak);
  if (checksum (ctx, dst, c->sha_after) < 0)
    return convert_internal_gerror (g, err, "checksum", dst);
  remember_changed (ctx->log, dst);
  return 0;
}
