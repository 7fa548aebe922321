/* compat-ahci (--compat=fix only): a SATA root disk needs ahci and
 * sd_mod before root is mounted, so in the initramfs unless the kernel
 * builds them in.  The preflight lists this step as a fix when its
 * applies() says so (docs/compat.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

static const char *const ahci_modules[] = { "ahci", "sd_mod", NULL };

static bool
ahci_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  struct guest_kernel *k = linux_default_kernel (ctx->guest);
  const char *listing = NULL;
  bool missing = false;

  if (k == NULL) {
    snprintf (why, whylen, "no default kernel");
    return false;
  }
  for (size_t i = 0; ahci_modules[i]; i++) {
    const char *config = i == 0 ? "CONFIG_SATA_AHCI" : "CONFIG_BLK_DEV_SD";
    if (linux_kernel_driver (ctx, k->version, config,
                             ahci_modules[i]) != KDRV_MODULE)
      continue;                 /* built in, or nothing to add */
    if (listing == NULL && (listing = linux_initrd_listing (ctx, k)) == NULL) {
      missing = true;           /* cannot tell: add them to be safe */
      break;
    }
    if (!linux_listing_has (listing, ahci_modules[i]))
      missing = true;
  }
  snprintf (why, whylen, missing
            ? "%s lacks ahci/sd_mod, which a SATA root disk needs"
            : "%s already boots from SATA (ahci and sd_mod built in or "
            "present)", k->initrd ? k->initrd : "the initramfs");
  return missing;
}

static int
ahci_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  return linux_initramfs_add (ctx, ahci_modules, "90-v2v-kubevirt-compat",
                              "the disks are SATA (AHCI) in KubeVirt "
                              "compatibility mode", err);
}

const struct convert_step convert_step_compat_ahci = {
  .name = "compat-ahci",
  .compat_fix = true,
  .applies = ahci_applies,
  .apply = ahci_apply,
};
