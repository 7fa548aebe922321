/* The Linux rework steps, in the order they run.  Adding a distro quirk
 * means adding a file in linux/ and a line here.
 *
 * initramfs runs after network (the .link file then lands in the new
 * initramfs too) and selinux runs last, to label everything before it
 * (the health probe's files too).
 */
#include "internal.h"

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

const struct convert_step *const convert_internal_linux_steps[] = {
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

/* v2v-agent verify on a disk without the probe: the probe alone (and
 * its files labelled). */
const struct convert_step *const convert_internal_probe_steps[] = {
  &convert_step_health_probe,
  &convert_step_selinux,
  NULL
};
