/* Registry editing through libguestfs's hivex calls: the hive is never
 * parsed by us.  Each edit is one transaction on one hive, logged as a
 * change of the hive file (checksums and a backup), and each value set
 * is listed in the report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "string-table.h"
#include "windows.h"

/* The report's name of each registry value type. */
static const char *const reg_type_table[] = {
  [REG_SZ_T] = "sz", [REG_EXPAND_SZ_T] = "expand_sz",
  [REG_BINARY_T] = "binary", [REG_DWORD_T] = "dword",
  [REG_MULTI_SZ_T] = "multi_sz",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (reg_type, int, "other")

bool
win_name_eq (const char *a, const char *b)
{
  return strcasecmp (a, b) == 0;
}

void
win_control_set (const struct guest_windows *w, char *buf, size_t len)
{
  snprintf (buf, len, "ControlSet%03u", w->control_set);
}

int
win_reg_open_ro (guestfs_h *g, const char *hive_path, struct v2v_error *err)
{
  if (guestfs_hivex_open (g, hive_path, GUESTFS_HIVEX_OPEN_WRITE, 0, -1) == -1)
    return convert_internal_gerror (g, err, "hivex_open", hive_path);
  return 0;
}

/* The child of NODE called NAME: 0 if absent, -1 on error.  hivex
 * compares key names case-insensitively, as Windows does. */
static int64_t
child (guestfs_h *g, int64_t node, const char *name)
{
  return guestfs_hivex_node_get_child (g, node, name);
}

int64_t
win_reg_lookup (guestfs_h *g, const char *path)
{
  int64_t node = guestfs_hivex_root (g);
  CLEANUP_FREE char *copy = strdup (path);
  char *save = NULL;

  if (node <= 0 || copy == NULL)
    return -1;
  for (char *tok = strtok_r (copy, "\\", &save); tok;
       tok = strtok_r (NULL, "\\", &save)) {
    node = child (g, node, tok);
    if (node <= 0)
      return node;
  }
  return node;
}

int64_t
win_reg_ensure (struct win_reg *reg, const char *path, struct v2v_error *err)
{
  guestfs_h *g = reg->ctx->guest->g;
  int64_t node = guestfs_hivex_root (g);
  CLEANUP_FREE char *copy = strdup (path);
  char *save = NULL;

  if (copy == NULL)
    return v2v_error_set (err, -ENOMEM, "registry %s", path);
  if (node <= 0)
    return convert_internal_gerror (g, err, "hivex_root", reg->hive_name);
  for (char *tok = strtok_r (copy, "\\", &save); tok;
       tok = strtok_r (NULL, "\\", &save)) {
    int64_t c = child (g, node, tok);
    if (c == -1)
      return convert_internal_gerror (g, err, "hivex_node_get_child", tok);
    if (c == 0) {
      c = guestfs_hivex_node_add_child (g, node, tok);
      if (c <= 0)
        return convert_internal_gerror (g, err, "hivex_node_add_child", path);
    }
    node = c;
  }
  return node;
}

static void
record (struct win_reg *reg, const char *keypath, const char *name,
        const char *type, const char *shown)
{
  struct guest_windows *w = win_guest (reg->ctx->guest);
  struct json_object *o = json_object_new_object ();
  char key[1024];

  snprintf (key, sizeof key, "%s\\%s", reg->hive_name, keypath);
  json_object_object_add (o, "key", json_object_new_string (key));
  json_object_object_add (o, "name", json_object_new_string
                          (*name ? name : "(default)"));
  json_object_object_add (o, "type", json_object_new_string (type));
  json_object_object_add (o, "data", json_object_new_string (shown));
  if (w->registry == NULL)
    w->registry = json_object_new_array ();
  json_object_array_add (w->registry, o);
}

int
win_reg_set_raw (struct win_reg *reg, const char *keypath, const char *name,
                 int type, const char *data, size_t len, const char *shown,
                 struct v2v_error *err)
{
  guestfs_h *g = reg->ctx->guest->g;
  int64_t node = win_reg_ensure (reg, keypath, err);

  if (node < 0)
    return (int) node;
  if (guestfs_hivex_node_set_value (g, node, name, type, data, len) == -1)
    return convert_internal_gerror (g, err, "hivex_node_set_value", name);
  record (reg, keypath, name, reg_type_to_string (type), shown);
  return 0;
}

int
win_reg_set_dword (struct win_reg *reg, const char *keypath, const char *name,
                   uint32_t v, struct v2v_error *err)
{
  char le[4] = { (char) (v & 0xff), (char) ((v >> 8) & 0xff),
                 (char) ((v >> 16) & 0xff), (char) ((v >> 24) & 0xff) };
  char shown[16];

  snprintf (shown, sizeof shown, "%u", v);
  return win_reg_set_raw (reg, keypath, name, REG_DWORD_T, le, 4, shown, err);
}

/* ASCII to UTF-16LE with the terminating NUL(s): one NUL for a string,
 * two for the end of a multi-string. */
static char *
utf16le (const char *const *strs, size_t *ret_len)
{
  size_t n = 0, k = 0;
  char *out;

  for (size_t i = 0; strs[i]; i++)
    n += strlen (strs[i]) + 1;
  n++;
  out = calloc (n, 2);
  if (out == NULL)
    return NULL;
  for (size_t i = 0; strs[i]; i++) {
    for (const char *p = strs[i]; *p; p++) {
      out[k++] = *p;
      out[k++] = '\0';
    }
    k += 2;
  }
  *ret_len = k;
  return out;
}

int
win_reg_set_string (struct win_reg *reg, const char *keypath,
                    const char *name, int type, const char *ascii,
                    struct v2v_error *err)
{
  const char *one[] = { ascii, NULL };
  size_t len;
  CLEANUP_FREE char *data = utf16le (one, &len);

  if (data == NULL)
    return v2v_error_set (err, -ENOMEM, "registry %s", name);
  return win_reg_set_raw (reg, keypath, name, type, data, len, ascii, err);
}

int
win_reg_set_multi_sz (struct win_reg *reg, const char *keypath,
                      const char *name, const char *const *values,
                      struct v2v_error *err)
{
  size_t len;
  CLEANUP_FREE char *data = utf16le (values, &len);
  char shown[1024] = "";

  if (data == NULL)
    return v2v_error_set (err, -ENOMEM, "registry %s", name);
  /* A multi-string ends with an empty string: one more NUL. */
  len += 2;
  for (size_t i = 0; values[i]; i++) {
    size_t l = strlen (shown);
    snprintf (shown + l, sizeof shown - l, "%s%s", i ? "," : "", values[i]);
  }
  return win_reg_set_raw (reg, keypath, name, REG_MULTI_SZ_T, data,
                          len, shown, err);
}

int
win_reg_get_dword (guestfs_h *g, int64_t node, const char *name,
                   uint32_t *ret_v)
{
  size_t len = 0;
  int64_t v;

  guestfs_push_error_handler (g, NULL, NULL);
  v = guestfs_hivex_node_get_value (g, node, name);
  if (v <= 0 || guestfs_hivex_value_type (g, v) != REG_DWORD_T) {
    guestfs_pop_error_handler (g);
    return -ENOENT;
  }
  CLEANUP_FREE char *data = guestfs_hivex_value_value (g, v, &len);
  guestfs_pop_error_handler (g);
  if (data == NULL || len != 4)
    return -ENOENT;
  *ret_v = (uint32_t) (unsigned char) data[0] |
    (uint32_t) (unsigned char) data[1] << 8 |
    (uint32_t) (unsigned char) data[2] << 16 |
    (uint32_t) (unsigned char) data[3] << 24;
  return 0;
}

char *
win_reg_get_string (guestfs_h *g, int64_t node, const char *name)
{
  int64_t v, t;
  char *s = NULL;

  guestfs_push_error_handler (g, NULL, NULL);
  v = guestfs_hivex_node_get_value (g, node, name);
  if (v > 0) {
    t = guestfs_hivex_value_type (g, v);
    if (t == REG_SZ_T || t == REG_EXPAND_SZ_T)
      s = guestfs_hivex_value_string (g, v);
  }
  guestfs_pop_error_handler (g);
  /* Guest data: keep what we carry around small. */
  if (s && strlen (s) > 4096) {
    free (s);
    s = NULL;
  }
  return s;
}

int
win_reg_edit (struct convert_ctx *ctx, const char *hive_path,
              const char *hive_name, const char *reason,
              int (*f) (struct win_reg *reg, void *opaque,
                        struct v2v_error *err),
              void *opaque, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  struct win_reg reg = { .ctx = ctx, .hive_name = hive_name };
  struct convert_change c;
  int r;

  r = convert_internal_change_begin (ctx, &c, hive_path, false, err);
  if (r < 0)
    return r;
  if (guestfs_hivex_open (g, hive_path, GUESTFS_HIVEX_OPEN_WRITE, 1,
                          -1) == -1) {
    convert_internal_change_abandon (&c);
    return convert_internal_gerror (g, err, "hivex_open", hive_path);
  }
  r = f (&reg, opaque, err);
  if (r == 0 && guestfs_hivex_commit (g, NULL) == -1)
    r = convert_internal_gerror (g, err, "hivex_commit", hive_path);
  /* Without a commit, nothing is written: the hive stays as it was. */
  guestfs_hivex_close (g);
  if (r < 0) {
    convert_internal_change_abandon (&c);
    return r;
  }
  return convert_internal_change_end (ctx, &c, NULL, NULL, 0, reason, err);
}
