/* UEFI: KubeVirt's OVMF starts with empty NVRAM, so there is no boot
 * entry for Windows Boot Manager; firmware then looks for the removable
 * media path, EFI/BOOT/BOOTX64.EFI, which EC2 images do not always have.
 * It is a copy of bootmgfw.efi.
 *
 * The ESP is mounted on / in place of C: for the copy (a mount point
 * on C: would be a change to the guest), then C: goes back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "windows.h"

static const char *
fallback_name (const struct guest *guest)
{
  return strcmp (guest->arch, "i386") == 0 ? "BOOTIA32.EFI" : "BOOTX64.EFI";
}

static bool
uefi_applies (struct convert_ctx *ctx, char *why, size_t len)
{
  const struct guest *guest = ctx->guest;

  if (guest->firmware != FIRMWARE_UEFI || guest->esp == NULL) {
    snprintf (why, len, "BIOS guest");
    return false;
  }
  snprintf (why, len, "EFI/BOOT/%s from EFI/Microsoft/Boot/bootmgfw.efi "
            "on %s, if missing", fallback_name (guest), guest->esp->device);
  return true;
}

static int
remount_root (struct convert_ctx *ctx, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;

  if (guestfs_umount_all (g) == -1 ||
      guestfs_mount_options (g, ctx->guest->readonly ? "ro" : "",
                             ctx->guest->root, "/") == -1)
    return convert_internal_gerror (g, err, "mount", ctx->guest->root);
  return 0;
}

static int
uefi_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  const char *esp = ctx->guest->esp->device;
  char dst[256];
  int r = 0;

  if (guestfs_umount_all (g) == -1 || guestfs_mount (g, esp, "/") == -1) {
    convert_internal_gerror (g, err, "mount", esp);
    remount_root (ctx, err);
    return -EIO;
  }
  CLEANUP_FREE char *src =
    guestfs_case_sensitive_path (g, "/EFI/Microsoft/Boot/bootmgfw.efi");
  CLEANUP_FREE char *bootdir = guestfs_case_sensitive_path (g, "/EFI/BOOT");
  if (src == NULL || bootdir == NULL || guestfs_is_file (g, src) <= 0) {
    v2v_error_set (err, -ENOENT, "%s: no EFI/Microsoft/Boot/bootmgfw.efi on "
                   "the EFI system partition", esp);
    r = -ENOENT;
  }
  else {
    snprintf (dst, sizeof dst, "%s/%s", bootdir, fallback_name (ctx->guest));
    CLEANUP_FREE char *existing = guestfs_case_sensitive_path (g, dst);
    if (existing == NULL || guestfs_exists (g, existing) <= 0)
      r = convert_internal_copy (ctx, src, dst, "UEFI removable-media "
                                 "fallback on the EFI system partition: "
                                 "KubeVirt's NVRAM has no Windows entry",
                                 err);
  }
  if (remount_root (ctx, r < 0 ? &(struct v2v_error) { 0 } : err) < 0 &&
      r == 0)
    r = -EIO;
  return r;
}

const struct convert_step convert_step_win_uefi = {
  .name = "uefi-fallback",
  .compat_fix = true,
  .applies = uefi_applies,
  .apply = uefi_apply,
};
