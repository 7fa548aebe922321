/* Compatibility mode: no rework.  KubeVirt then gives the VM SATA (AHCI)
 * disks and an e1000e NIC, and the question is whether the guest boots
 * on those as it is.  The preflight answers bootable, bootable-with-fixes
 * (listing them) or will-not-boot, with the reasons.
 *
 * The fixes are the rework steps that own them (fstab and bootloader for
 * EC2 device names, compat-ahci for the initramfs), asked through their
 * own applies(), so the preflight and --compat=fix cannot disagree.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

extern const struct convert_step convert_step_fstab;
extern const struct convert_step convert_step_bootloader;
extern const struct convert_step convert_step_compat_ahci;
extern const struct convert_step convert_step_selinux;

extern const struct convert_step convert_step_win_compat_storahci;
extern const struct convert_step convert_step_win_uefi;

/* What --compat=fix may run, in order. */
const struct convert_step *const convert_internal_compat_steps[] = {
  &convert_step_fstab,
  &convert_step_bootloader,
  &convert_step_compat_ahci,
  &convert_step_selinux,
  NULL
};
const struct convert_step *const convert_internal_windows_compat_steps[] = {
  &convert_step_win_compat_storahci,
  &convert_step_win_uefi,
  NULL
};

const char *
convert_internal_verdict_name (enum preflight_verdict v)
{
  switch (v) {
  case PREFLIGHT_BOOTABLE: return "bootable";
  case PREFLIGHT_WITH_FIXES: return "bootable-with-fixes";
  case PREFLIGHT_WONT_BOOT: return "will-not-boot";
  }
  return "unknown";
}

static void
add (struct json_object *arr, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

static void
add (struct json_object *arr, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  json_object_array_add (arr, json_object_new_string (buf));
}

static const char *
driver_word (enum kernel_driver d)
{
  return d == KDRV_BUILTIN ? "built in" : "a module";
}

/* The SATA disk needs ahci and sd_mod before root is mounted, so in the
 * initramfs unless built in; e1000e is loaded by udev from the root
 * filesystem later, so being a module is enough.
 */
static void
check_kernel (struct convert_ctx *ctx, struct guest_kernel *k,
              struct preflight *pf)
{
  static const struct { const char *config, *module, *what; } disk[] = {
    { "CONFIG_SATA_AHCI", "ahci", "AHCI (SATA) driver" },
    { "CONFIG_BLK_DEV_SD", "sd_mod", "SCSI/SATA disk driver" },
  };

  for (size_t i = 0; i < sizeof disk / sizeof disk[0]; i++) {
    enum kernel_driver d =
      convert_internal_kernel_driver (ctx, k->version, disk[i].config,
                                      disk[i].module);
    if (d == KDRV_NONE) {
      pf->wont_boot = true;
      add (pf->reasons, "kernel %s has no %s (%s is not set): the root disk "
           "is not found on SATA", k->version, disk[i].what, disk[i].config);
      /* Is there another installed kernel that would do? */
      for (size_t j = 0; j < ctx->guest->nr_kernels; j++) {
        const char *v = ctx->guest->kernels[j].version;
        if (&ctx->guest->kernels[j] != k &&
            convert_internal_kernel_driver (ctx, v, disk[i].config,
                                            disk[i].module) != KDRV_NONE)
          add (pf->reasons, "kernel %s has %s: make it the default, or "
               "convert the guest to virtio instead", v, disk[i].module);
      }
      continue;
    }
    if (d == KDRV_BUILTIN) {
      add (pf->reasons, "kernel %s: %s is built in", k->version,
           disk[i].module);
      continue;
    }
    const char *listing = convert_internal_initrd_listing (ctx, k);
    if (listing && convert_internal_listing_has (listing, disk[i].module))
      add (pf->reasons, "kernel %s: %s is a module, in %s", k->version,
           disk[i].module, k->initrd);
    else {
      add (pf->reasons, "kernel %s: %s is a module, but not in %s",
           k->version, disk[i].module, k->initrd ? k->initrd : "an initramfs");
    }
  }

  enum kernel_driver nic =
    convert_internal_kernel_driver (ctx, k->version, "CONFIG_E1000E",
                                    "e1000e");
  if (nic == KDRV_NONE) {
    pf->wont_boot = true;
    add (pf->reasons, "kernel %s has no e1000e driver (CONFIG_E1000E is not "
         "set): the VM would have no network", k->version);
  }
  else
    add (pf->reasons, "kernel %s: e1000e is %s", k->version,
         driver_word (nic));
}

int
convert_internal_preflight (struct convert_ctx *ctx, struct preflight *pf,
                            struct v2v_error *err)
{
  struct guest *guest = ctx->guest;

  (void) err;
  pf->reasons = json_object_new_array ();
  pf->fixes = json_object_new_array ();
  pf->warnings = json_object_new_array ();

  if (guest->win)
    convert_internal_windows_preflight (ctx, pf->reasons, pf->warnings,
                                        &pf->wont_boot);
  else if (guest->default_kernel < 0) {
    pf->wont_boot = true;
    add (pf->reasons, "no bootable kernel found in /boot");
  }
  else
    check_kernel (ctx, &guest->kernels[guest->default_kernel], pf);

  /* The fixes, from the steps that would make them. */
  for (const struct convert_step *const *sp = guest->win
         ? convert_internal_windows_compat_steps
         : convert_internal_compat_steps; *sp; sp++) {
    char why[512] = "";
    if (*sp == &convert_step_selinux)
      continue;                 /* follows the others; not a fix by itself */
    if ((*sp)->applies (ctx, why, sizeof why))
      add (pf->fixes, "%s: %s", (*sp)->name, why);
  }

  /* Not boot blockers, but an SRE wants to know before choosing this.
   * (Windows added its own above.) */
  for (size_t i = 0; guest->nic_names && guest->nic_names[i]; i++)
    add (pf->warnings, "the network configuration names %s; the e1000e NIC "
         "gets another name (enp1s0 on q35), so it may come up without an "
         "address (compatibility mode does not rework the network)",
         guest->nic_names[i]);
  if (guest->cloud_init && guest->cloud_init_datasources &&
      strstr (guest->cloud_init_datasources, "Ec2") != NULL &&
      strstr (guest->cloud_init_datasources, "NoCloud") == NULL)
    add (pf->warnings, "cloud-init is limited to the Ec2 datasource: it will "
         "wait for EC2 metadata and fail on KubeVirt");
  for (size_t i = 0; guest->agents && guest->agents[i]; i++)
    add (pf->warnings, "AWS agent %s is left as it is: compatibility mode "
         "does not disable it", guest->agents[i]);

  if (pf->wont_boot)
    pf->verdict = PREFLIGHT_WONT_BOOT;
  else if (json_object_array_length (pf->fixes) > 0)
    pf->verdict = PREFLIGHT_WITH_FIXES;
  else
    pf->verdict = PREFLIGHT_BOOTABLE;
  return 0;
}

struct json_object *
convert_internal_preflight_json (const struct preflight *pf, bool fix)
{
  struct json_object *o = json_object_new_object ();

  json_object_object_add (o, "mode", json_object_new_string (fix ? "fix"
                                                             : "check"));
  json_object_object_add (o, "verdict", json_object_new_string
                          (convert_internal_verdict_name (pf->verdict)));
  json_object_object_add (o, "reasons", json_object_get (pf->reasons));
  json_object_object_add (o, "fixes", json_object_get (pf->fixes));
  json_object_object_add (o, "warnings", json_object_get (pf->warnings));
  return o;
}

void
convert_internal_preflight_free (struct preflight *pf)
{
  json_object_put (pf->reasons);
  json_object_put (pf->fixes);
  json_object_put (pf->warnings);
}

/* --compat=fix: ahci and sd_mod into the initramfs. */
static const char *const ahci_modules[] = { "ahci", "sd_mod", NULL };

static bool
ahci_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  struct guest *guest = ctx->guest;
  struct guest_kernel *k;
  const char *listing = NULL;
  bool missing = false;

  if (guest->default_kernel < 0) {
    snprintf (why, whylen, "no default kernel");
    return false;
  }
  k = &guest->kernels[guest->default_kernel];
  for (size_t i = 0; ahci_modules[i]; i++) {
    const char *config = i == 0 ? "CONFIG_SATA_AHCI" : "CONFIG_BLK_DEV_SD";
    if (convert_internal_kernel_driver (ctx, k->version, config,
                                        ahci_modules[i]) != KDRV_MODULE)
      continue;                 /* built in, or nothing to add */
    if (listing == NULL && (listing = convert_internal_initrd_listing (ctx, k))
        == NULL) {
      missing = true;           /* cannot tell: add them to be safe */
      break;
    }
    if (!convert_internal_listing_has (listing, ahci_modules[i]))
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
  return convert_internal_initramfs_add (ctx, ahci_modules,
                                         "90-v2v-kubevirt-compat",
                                         "the disks are SATA (AHCI) in "
                                         "KubeVirt compatibility mode", err);
}

const struct convert_step convert_step_compat_ahci = {
  .name = "compat-ahci",
  .applies = ahci_applies,
  .apply = ahci_apply,
};
