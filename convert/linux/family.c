/* The Linux family: its steps, in the order they run, its compatibility
 * fixes, the facts its steps gather, its preflight and its part of the
 * report.  Adding a distro quirk means adding a file in linux/ and a line
 * here (docs/hacking.md).
 *
 * initramfs runs after network (the .link file then lands in the new
 * initramfs too) and selinux runs last, to label everything before it
 * (the health probe's files too).
 */
#include <stdlib.h>

#include "linux.h"

extern const struct convert_step convert_step_fstab;
extern const struct convert_step convert_step_bootloader;
extern const struct convert_step convert_step_network;
extern const struct convert_step convert_step_cloudinit;
extern const struct convert_step convert_step_agents;
extern const struct convert_step convert_step_timesync;
extern const struct convert_step convert_step_xen;
extern const struct convert_step convert_step_initramfs;
extern const struct convert_step convert_step_health_probe;
extern const struct convert_step convert_step_selinux;
extern const struct convert_step convert_step_compat_ahci;

static const struct convert_step *const linux_steps[] = {
  &convert_step_fstab,
  &convert_step_bootloader,
  &convert_step_network,
  &convert_step_cloudinit,
  &convert_step_agents,
  &convert_step_timesync,
  &convert_step_xen,
  &convert_step_initramfs,
  &convert_step_health_probe,
  &convert_step_selinux,
  NULL
};

/* v2v-agent verify on a disk without the probe: the probe alone, and its
 * files labelled. */
static const struct convert_step *const linux_probe_steps[] = {
  &convert_step_health_probe,
  &convert_step_selinux,
  NULL
};

/* What --compat=fix may run, in order. */
static const struct convert_step *const linux_compat_steps[] = {
  &convert_step_fstab,
  &convert_step_bootloader,
  &convert_step_compat_ahci,
  &convert_step_selinux,
  NULL
};

/* Gathered in this order; the preflight's warnings come in it too. */
static const struct convert_facts *const linux_facts[] = {
  &linux_boot_facts,
  &linux_net_facts,
  &linux_cloudinit_facts,
  &linux_agent_facts,
  &linux_selinux_facts,
  NULL
};

static void
linux_preflight (struct convert_ctx *ctx, struct preflight *pf)
{
  struct guest_kernel *k = linux_default_kernel (ctx->guest);

  if (k == NULL) {
    pf->wont_boot = true;
    convert_internal_json_addf (pf->reasons,
                                "no bootable kernel found in /boot");
  }
  else
    linux_kernel_preflight (ctx, k, pf);
}

static void
linux_guest_json (const struct guest *guest, struct json_object *o)
{
  if (guest->os_data)
    linux_kernels_json (linux_guest (guest), o);
}

static void
linux_free (struct guest *guest)
{
  linux_kernels_free (guest->os_data);
  free (guest->os_data);
}

const struct convert_os convert_internal_os_linux = {
  .name = "linux",
  .inspect = linux_inspect,
  .steps = linux_steps,
  .compat_steps = linux_compat_steps,
  .probe_steps = linux_probe_steps,
  .facts = linux_facts,
  .preflight = linux_preflight,
  .guest_json = linux_guest_json,
  .free = linux_free,
};
