/* The boot storage driver (viostor, or vioscsi with --block-driver
 * virtio-scsi): Plug and Play only installs drivers once Windows runs,
 * but Windows needs one to read its own disk.  So the driver becomes a
 * boot-start service, and its PCI IDs are bound to it ahead of time:
 * in the CriticalDeviceDatabase before Windows 8/2012 (6.2), in the
 * DriverDatabase from then on (where the CriticalDeviceDatabase is no
 * longer read).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sha256.h"
#include "windows.h"

/* The storage class: {4D36E97B-...} is "SCSIAdapter". */
#define SCSI_ADAPTER_CLASS "{4D36E97B-E325-11CE-BFC1-08002BE10318}"

struct block_ids {
  const char *drv;
  /* transitional and modern (virtio 1.0) PCI device IDs, with the
   * subsystem each one reports */
  const char *dev[2], *subsys[2];
};

static const struct block_ids ids[] = {
  { "viostor", { "1001", "1042" }, { "00021AF4", "11001AF4" } },
  { "vioscsi", { "1004", "1048" }, { "00081AF4", "11001AF4" } },
};

static const struct block_ids *
block_ids (const char *drv)
{
  return strcmp (drv, "vioscsi") == 0 ? &ids[1] : &ids[0];
}

struct storage {
  const struct guest_windows *w;
  char pkg[128];                /* DriverStore package name */
};

static int
add_service (struct win_reg *reg, const struct guest_windows *w,
             struct v2v_error *err)
{
  char cs[32], key[256], image[128];

  win_control_set (w, cs, sizeof cs);
  snprintf (key, sizeof key, "%s\\Services\\%s", cs, w->block_driver);
  snprintf (image, sizeof image, "system32\\drivers\\%s.sys", w->block_driver);
  if (win_reg_set_dword (reg, key, "Type", 1, err) < 0 ||
      win_reg_set_dword (reg, key, "Start", 0, err) < 0 ||
      win_reg_set_dword (reg, key, "ErrorControl", 1, err) < 0 ||
      win_reg_set_string (reg, key, "Group", REG_SZ_T, "SCSI miniport",
                          err) < 0 ||
      win_reg_set_string (reg, key, "ImagePath", REG_EXPAND_SZ_T, image,
                          err) < 0)
    return err->code;
  /* Storport miniports declare their PnP interface (5 = PCI). */
  strncat (key, "\\Parameters\\PnpInterface", sizeof key - strlen (key) - 1);
  return win_reg_set_dword (reg, key, "5", 1, err);
}

static int
add_cddb (struct win_reg *reg, const struct guest_windows *w,
          struct v2v_error *err)
{
  const struct block_ids *b = block_ids (w->block_driver);
  char cs[32], key[256];

  win_control_set (w, cs, sizeof cs);
  for (size_t i = 0; i < 2; i++)
    for (int sub = 0; sub < 2; sub++) {
      if (sub)
        snprintf (key, sizeof key, "%s\\Control\\CriticalDeviceDatabase\\"
                  "pci#ven_1af4&dev_%s&subsys_%s", cs, b->dev[i],
                  b->subsys[i]);
      else
        snprintf (key, sizeof key, "%s\\Control\\CriticalDeviceDatabase\\"
                  "pci#ven_1af4&dev_%s", cs, b->dev[i]);
      if (win_reg_set_string (reg, key, "Service", REG_SZ_T, w->block_driver,
                              err) < 0 ||
          win_reg_set_string (reg, key, "ClassGUID", REG_SZ_T,
                              SCSI_ADAPTER_CLASS, err) < 0)
        return err->code;
    }
  return 0;
}

static int
add_driver_database (struct win_reg *reg, const struct storage *s,
                     struct v2v_error *err)
{
  const struct guest_windows *w = s->w;
  const struct block_ids *b = block_ids (w->block_driver);
  char inf[32], key[512], cfg[64];
  const char *pkgs[] = { s->pkg, NULL };
  static const char rank[4] = { 0x01, (char) 0xff, 0x00, 0x00 };

  snprintf (inf, sizeof inf, "%s.inf", w->block_driver);
  snprintf (cfg, sizeof cfg, "%s_inst", w->block_driver);
  snprintf (key, sizeof key, "DriverDatabase\\DriverInfFiles\\%s", inf);
  if (win_reg_set_multi_sz (reg, key, "", pkgs, err) < 0 ||
      win_reg_set_string (reg, key, "Active", REG_SZ_T, s->pkg, err) < 0)
    return err->code;
  snprintf (key, sizeof key, "DriverDatabase\\DriverPackages\\%s", s->pkg);
  if (win_reg_set_string (reg, key, "", REG_SZ_T, inf, err) < 0 ||
      win_reg_set_string (reg, key, "Provider", REG_SZ_T, "Red Hat, Inc.",
                          err) < 0)
    return err->code;
  snprintf (key, sizeof key, "DriverDatabase\\DriverPackages\\%s\\"
            "Configurations\\%s", s->pkg, cfg);
  if (win_reg_set_string (reg, key, "Service", REG_SZ_T, w->block_driver,
                          err) < 0 ||
      win_reg_set_dword (reg, key, "ConfigFlags", 0, err) < 0)
    return err->code;
  for (size_t i = 0; i < 2; i++) {
    snprintf (key, sizeof key, "DriverDatabase\\DeviceIds\\PCI\\"
              "VEN_1AF4&DEV_%s", b->dev[i]);
    if (win_reg_set_raw (reg, key, inf, REG_BINARY_T, rank, 4,
                         "01ff0000", err) < 0)
      return err->code;
    snprintf (key, sizeof key, "DriverDatabase\\DriverPackages\\%s\\"
              "Descriptors\\PCI\\VEN_1AF4&DEV_%s", s->pkg, b->dev[i]);
    if (win_reg_set_string (reg, key, "Configuration", REG_SZ_T, cfg,
                            err) < 0)
      return err->code;
  }
  return 0;
}

static int
edit_system (struct win_reg *reg, void *opaque, struct v2v_error *err)
{
  const struct storage *s = opaque;
  int r = add_service (reg, s->w, err);

  if (r < 0)
    return r;
  if (s->w->major < 6 || (s->w->major == 6 && s->w->minor < 2))
    return add_cddb (reg, s->w, err);
  return add_driver_database (reg, s, err);
}

static bool
old_windows (const struct guest_windows *w)
{
  return w->major < 6 || (w->major == 6 && w->minor < 2);
}

static bool
storage_applies (struct convert_ctx *ctx, char *why, size_t len)
{
  const struct guest_windows *w = win_guest (ctx->guest);

  snprintf (why, len, "%s as a boot-start service, bound to its PCI IDs in "
            "the %s", w->block_driver, old_windows (w)
            ? "CriticalDeviceDatabase (Windows before 8/2012)"
            : "DriverDatabase (Windows 8/2012 and later)");
  return true;
}

static int
storage_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  struct storage s = { .w = win_guest (ctx->guest) };
  const struct guest_windows *w = s.w;
  char sum[SHA256_HEX_LEN];
  int r;

  if (!old_windows (w)) {
    /* The package name Windows would give it: INF name, arch, and a
     * hash of the package, here the INF's own checksum. */
    if (sha256_hex_file (w->block_inf, sum) < 0)
      return v2v_error_errno (err, -errno, "%s", w->block_inf);
    snprintf (s.pkg, sizeof s.pkg, "%s.inf_%s_%.16s", w->block_driver,
              w->varch, sum);

    /* The DriverDatabase points at the package in the DriverStore. */
    CLEANUP_FREE char *repo = NULL, *frp = NULL;
    if (asprintf (&repo, "%s/System32/DriverStore/FileRepository",
                  w->systemroot) < 0)
      return v2v_error_set (err, -ENOMEM, "storage");
    frp = guestfs_case_sensitive_path (g, repo);
    if (frp == NULL)
      return convert_internal_gerror (g, err, "case_sensitive_path", repo);
    for (size_t i = 0; w->driver_files[i]; i++) {
      const char *b = strrchr (w->driver_files[i], '/') + 1;
      char dst[4096];
      if (strncasecmp (b, w->block_driver, strlen (w->block_driver)) != 0 ||
          b[strlen (w->block_driver)] != '.')
        continue;
      snprintf (dst, sizeof dst, "%s/%s/%s", frp, s.pkg, b);
      r = convert_internal_upload (ctx, w->driver_files[i], dst,
                                   "the boot storage driver's package, "
                                   "which the DriverDatabase names", err);
      if (r < 0)
        return r;
    }
  }
  return win_reg_edit (ctx, w->system_hive, "SYSTEM",
                       "boot storage driver service and its PCI IDs",
                       edit_system, &s, err);
}

const struct convert_step convert_step_win_storage = {
  .name = "boot-storage",
  .applies = storage_applies,
  .apply = storage_apply,
};
