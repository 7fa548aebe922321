/* DevicePath (SOFTWARE\Microsoft\Windows\CurrentVersion) lists where Plug
 * and Play looks for drivers of new devices: with the VirtIO directory
 * in it, Windows finds netkvm, balloon and the rest by itself, even
 * before the first boot script runs pnputil.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "windows.h"

#define CURRENT_VERSION "Microsoft\\Windows\\CurrentVersion"
#define VIRTIO_ENTRY "%SystemRoot%\\Drivers\\VirtIO"

/* The guest's value is UTF-16LE and may hold anything: we keep its
 * bytes and append ours, rather than decode and re-encode it. */
static int
edit_software (struct win_reg *reg, void *opaque, struct v2v_error *err)
{
  guestfs_h *g = reg->ctx->guest->g;
  int64_t node, v;
  CLEANUP_FREE char *old = NULL, *old_utf8 = NULL, *buf = NULL;
  size_t len = 0;
  char shown[4096];

  (void) opaque;
  node = win_reg_ensure (reg, CURRENT_VERSION, err);
  if (node < 0)
    return (int) node;
  guestfs_push_error_handler (g, NULL, NULL);
  v = guestfs_hivex_node_get_value (g, node, "DevicePath");
  if (v > 0) {
    int64_t t = guestfs_hivex_value_type (g, v);
    if (t == REG_SZ_T || t == REG_EXPAND_SZ_T) {
      old = guestfs_hivex_value_value (g, v, &len);
      old_utf8 = guestfs_hivex_value_string (g, v);
    }
  }
  guestfs_pop_error_handler (g);
  if (old == NULL || len > 32768 || (len & 1)) {
    free (old);
    old = NULL;
    len = 0;
    free (old_utf8);
    old_utf8 = strdup ("%SystemRoot%\\inf");
    static const char inf[] = "%SystemRoot%\\inf";
    old = calloc (sizeof inf, 2);
    if (old == NULL || old_utf8 == NULL)
      return v2v_error_set (err, -ENOMEM, "DevicePath");
    for (size_t i = 0; inf[i]; i++)
      old[len++ * 2] = inf[i];
    len *= 2;
  }
  /* Drop the terminating NULs. */
  while (len >= 2 && old[len - 1] == '\0' && old[len - 2] == '\0')
    len -= 2;

  static const char add[] = ";" VIRTIO_ENTRY;
  buf = calloc (len + 2 * sizeof add, 1);
  if (buf == NULL)
    return v2v_error_set (err, -ENOMEM, "DevicePath");
  memcpy (buf, old, len);
  for (size_t i = 0; add[i]; i++)
    buf[len + 2 * i] = add[i];
  len += 2 * (sizeof add - 1) + 2;      /* and one terminating NUL */
  snprintf (shown, sizeof shown, "%s%s", old_utf8 ? old_utf8 : "", add);
  return win_reg_set_raw (reg, CURRENT_VERSION, "DevicePath",
                          REG_EXPAND_SZ_T, buf, len, shown, err);
}

/* Is the VirtIO directory already in DevicePath? */
static bool
has_virtio (struct convert_ctx *ctx)
{
  guestfs_h *g = ctx->guest->g;
  struct v2v_error ignored;
  bool found = false;

  if (win_reg_open_ro (g, win_guest (ctx->guest)->software_hive, &ignored) < 0)
    return false;
  int64_t n = win_reg_lookup (g, CURRENT_VERSION);
  if (n > 0) {
    CLEANUP_FREE char *dp = win_reg_get_string (g, n, "DevicePath");
    found = dp && strcasestr (dp, "\\Drivers\\VirtIO") != NULL;
  }
  guestfs_hivex_close (g);
  return found;
}

static bool
devicepath_applies (struct convert_ctx *ctx, char *why, size_t len)
{
  if (has_virtio (ctx)) {
    snprintf (why, len, "DevicePath already lists the VirtIO directory");
    return false;
  }
  snprintf (why, len, "append %s to DevicePath, so Plug and Play finds "
            "the VirtIO drivers", VIRTIO_ENTRY);
  return true;
}

static int
devicepath_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  return win_reg_edit (ctx, win_guest (ctx->guest)->software_hive, "SOFTWARE",
                       "DevicePath: Plug and Play looks in the VirtIO "
                       "directory", edit_software, NULL, err);
}

const struct convert_step convert_step_win_devicepath = {
  .name = "devicepath",
  .applies = devicepath_applies,
  .apply = devicepath_apply,
};
