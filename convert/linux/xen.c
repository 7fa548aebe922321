/* Xen leftovers: a getty on the Xen console (hvc0/xvc0) fails on KVM and
 * shows up as a failed unit; SUSE lists Xen drivers in INITRD_MODULES.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

static const char *const xen_gettys[] = {
  "/etc/systemd/system/getty.target.wants/serial-getty@hvc0.service",
  "/etc/systemd/system/getty.target.wants/serial-getty@xvc0.service",
  "/etc/systemd/system/getty.target.wants/getty@hvc0.service",
  NULL
};

static bool
suse_has_xen_modules (struct convert_ctx *ctx)
{
  CLEANUP_FREE char *data = NULL;
  struct v2v_error ignored;

  if (!convert_internal_is_regular (ctx, "/etc/sysconfig/kernel") ||
      convert_internal_read (ctx, "/etc/sysconfig/kernel", &data, NULL,
                             &ignored) < 0)
    return false;
  const char *l = strstr (data, "INITRD_MODULES=");
  return l && strstr (l, "xen") && strchr (l, '\n') &&
    strstr (l, "xen") < strchr (l, '\n');
}

static bool
xen_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  for (size_t i = 0; xen_gettys[i]; i++)
    if (guestfs_is_symlink (ctx->guest->g, xen_gettys[i]) > 0) {
      snprintf (why, whylen, "a getty is enabled on the Xen console");
      return true;
    }
  if (suse_has_xen_modules (ctx)) {
    snprintf (why, whylen, "INITRD_MODULES lists Xen drivers");
    return true;
  }
  snprintf (why, whylen, "no Xen leftovers");
  return false;
}

/* INITRD_MODULES="xen-blkfront xen-netfront xen-kbdfront": drop every
 * Xen driver (their names all start with "xen": xen-*, xen_*, xenblk,
 * xennet) and keep the others in order, one blank apart.
 */
static char *
suse_line (const char *line, void *opaque)
{
  static const char key[] = "INITRD_MODULES=";
  const char *v, *end;
  char quote[2] = "", *out, *w, *save = NULL;
  CLEANUP_FREE char *val = NULL;
  bool first = true;
  size_t n;

  (void) opaque;
  if (strncmp (line, key, sizeof key - 1) != 0)
    return NULL;
  v = line + sizeof key - 1;
  if (*v == '"' || *v == '\'')
    quote[0] = *v++;
  end = quote[0] ? strchr (v, quote[0]) : v + strcspn (v, " \t#");
  if (end == NULL)
    return NULL;                /* an unterminated quote: leave it */
  val = strndup (v, (size_t) (end - v));
  /* Never longer than LINE: words are only dropped, blanks collapsed. */
  out = malloc (strlen (line) + 1);
  if (val == NULL || out == NULL) {
    free (out);
    return NULL;
  }
  n = (size_t) sprintf (out, "%s%s", key, quote);
  for (w = strtok_r (val, " \t", &save); w; w = strtok_r (NULL, " \t", &save)) {
    if (strncmp (w, "xen", 3) == 0)
      continue;
    n += (size_t) sprintf (out + n, "%s%s", first ? "" : " ", w);
    first = false;
  }
  strcpy (out + n, end);        /* the closing quote and the rest */
  return out;
}

static int
xen_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  int r;

  for (size_t i = 0; xen_gettys[i]; i++)
    if (guestfs_is_symlink (ctx->guest->g, xen_gettys[i]) > 0 &&
        (r = convert_internal_remove (ctx, xen_gettys[i],
                                      "no Xen console on KVM", err)) < 0)
      return r;
  if (suse_has_xen_modules (ctx) &&
      (r = convert_internal_edit_lines (ctx, "/etc/sysconfig/kernel",
                                        suse_line, NULL,
                                        "Xen drivers have no devices on KVM",
                                        NULL, err)) < 0)
    return r;
  return 0;
}

const struct convert_step convert_step_xen = {
  .name = "xen",
  .applies = xen_applies,
  .apply = xen_apply,
};
