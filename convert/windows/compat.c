/* Compatibility mode on Windows (see ../preflight.c): will it boot on
 * SATA (AHCI) + e1000e as it is?
 *
 * - The AHCI driver is storahci from Windows 8/2012 (6.2) on, msahci
 *   before.  On EC2 the boot disk was never AHCI, so Windows left it
 *   demand-start (Start=3), and a demand-start driver is not loaded for
 *   the boot disk: INACCESSIBLE_BOOT_DEVICE.  Start=0 is the fix
 *   (compat-storahci).  No driver at all: will not boot.
 * - e1000e: Windows 8/2012 and later carry Intel's e1iexpress driver for
 *   the 82574L that KubeVirt emulates; Windows 7/2008 R2 have none, so
 *   the VM would have no network.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "windows.h"

static const char *
ahci_driver (const struct guest_windows *w)
{
  return w->major > 6 || (w->major == 6 && w->minor >= 2) ? "storahci"
                                                           : "msahci";
}

/* Does %SystemRoot%\System32\drivers\NAME.sys exist? */
static bool
driver_file (guestfs_h *g, const struct guest_windows *w, const char *name)
{
  char path[512];
  CLEANUP_FREE char *real = NULL;

  snprintf (path, sizeof path, "%s/System32/drivers/%s.sys", w->systemroot,
            name);
  guestfs_push_error_handler (g, NULL, NULL);
  real = guestfs_case_sensitive_path (g, path);
  bool ok = real && guestfs_is_file (g, real) > 0;
  guestfs_pop_error_handler (g);
  return ok;
}

/* Start of SYSTEM\<current>\Services\NAME: 0-4, -1 if there is no such
 * service, -2 if the hive cannot be read.
 */
static int
service_start (struct convert_ctx *ctx, const char *name)
{
  guestfs_h *g = ctx->guest->g;
  const struct guest_windows *w = win_guest (ctx->guest);
  struct v2v_error ignored = { 0 };
  char cs[32], key[256];
  uint32_t start = 0;
  int r = -1;

  if (win_reg_open_ro (g, w->system_hive, &ignored) < 0)
    return -2;
  win_control_set (w, cs, sizeof cs);
  snprintf (key, sizeof key, "%s\\Services\\%s", cs, name);
  int64_t node = win_reg_lookup (g, key);
  if (node > 0)
    r = win_reg_get_dword (g, node, "Start", &start) == 0 ? (int) start : 3;
  guestfs_hivex_close (g);
  return r;
}

void
win_preflight (struct convert_ctx *ctx, struct preflight *pf)
{
  struct json_object *reasons = pf->reasons, *warnings = pf->warnings;
  bool *wont_boot = &pf->wont_boot;
  const struct guest_windows *w = win_guest (ctx->guest);
  const char *ahci = ahci_driver (w);
  char buf[512];
  int start = service_start (ctx, ahci);

  if (start == -2) {
    *wont_boot = true;
    snprintf (buf, sizeof buf, "the SYSTEM hive %s cannot be read",
              w->system_hive);
  }
  else if (start == -1 || !driver_file (ctx->guest->g, w, ahci)) {
    *wont_boot = true;
    snprintf (buf, sizeof buf, "no %s driver (service and %s.sys): Windows "
              "%d.%d cannot read a SATA (AHCI) boot disk", ahci, ahci,
              w->major, w->minor);
  }
  else
    snprintf (buf, sizeof buf, "%s is installed, Start=%d%s", ahci, start,
              start == 0 ? " (boot start)" : "");
  json_object_array_add (reasons, json_object_new_string (buf));

  /* e1000e: the inbox e1iexpress driver, Windows 8/2012 and later. */
  if (service_start (ctx, "e1iexpress") >= 0 ||
      driver_file (ctx->guest->g, w, "e1i68x64") ||
      driver_file (ctx->guest->g, w, "e1i63x64")) {
    json_object_array_add (reasons, json_object_new_string
                           ("e1iexpress (Intel 82574L, KubeVirt's e1000e) "
                            "is installed"));
  }
  else {
    *wont_boot = true;
    snprintf (buf, sizeof buf, "no e1000e-class driver (e1iexpress): "
              "Windows %d.%d has no driver for KubeVirt's e1000e NIC, so "
              "the VM would have no network", w->major, w->minor);
    json_object_array_add (reasons, json_object_new_string (buf));
  }

  for (size_t i = 0; w->agent_services && w->agent_services[i]; i++) {
    snprintf (buf, sizeof buf, "%s is left as it is: compatibility mode "
              "does not disable it", w->agent_services[i]);
    json_object_array_add (warnings, json_object_new_string (buf));
  }
  for (size_t i = 0; w->pv_services && w->pv_services[i]; i++) {
    snprintf (buf, sizeof buf, "AWS PV driver %s stays enabled; it finds no "
              "Xen platform on KubeVirt", w->pv_services[i]);
    json_object_array_add (warnings, json_object_new_string (buf));
  }
}

/* --compat=fix: the AHCI driver boot-start. */
static bool
storahci_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  const char *ahci = ahci_driver (win_guest (ctx->guest));
  int start = service_start (ctx, ahci);

  if (start < 0) {
    snprintf (why, whylen, "no %s service to start", ahci);
    return false;
  }
  if (start == 0) {
    snprintf (why, whylen, "%s already starts at boot", ahci);
    return false;
  }
  snprintf (why, whylen, "%s is Start=%d: a SATA boot disk needs it "
            "boot-start (0)", ahci, start);
  return true;
}

static int
set_boot_start (struct win_reg *reg, void *opaque, struct v2v_error *err)
{
  const struct guest_windows *w = win_guest (reg->ctx->guest);
  char cs[32], key[256];

  (void) opaque;
  win_control_set (w, cs, sizeof cs);
  snprintf (key, sizeof key, "%s\\Services\\%s", cs, ahci_driver (w));
  return win_reg_set_dword (reg, key, "Start", 0, err);
}

static int
storahci_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  return win_reg_edit (ctx, win_guest (ctx->guest)->system_hive, "SYSTEM",
                       "the boot disk is SATA (AHCI) in KubeVirt "
                       "compatibility mode", set_boot_start, NULL, err);
}

const struct convert_step convert_step_win_compat_storahci = {
  .name = "compat-storahci",
  .compat_fix = true,
  .applies = storahci_applies,
  .apply = storahci_apply,
};
