/* initramfs: the default kernel's initramfs must carry virtio_blk and
 * virtio_pci (and virtio_scsi, virtio_net), or the root disk is never
 * found.  If they are already there the rebuild is skipped -- virt-v2v
 * always rebuilds, which is the slowest part of a conversion under
 * emulation.  Otherwise the modules are added persistently, in the
 * guest's own configuration, and the guest's own tool rebuilds it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

static const char *const virtio_modules[] = {
  "virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net", NULL
};

static bool
initramfs_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  struct guest_kernel *k = linux_default_kernel (ctx->guest);

  if (k == NULL) {
    snprintf (why, whylen, "no kernel with virtio support");
    return false;
  }
  if (linux_initrd_has_virtio (ctx, k)) {
    snprintf (why, whylen, "%s already has virtio_blk and virtio_pci: "
              "rebuild skipped", k->initrd);
    return false;
  }
  snprintf (why, whylen, "%s lacks virtio_blk/virtio_pci",
            k->initrd ? k->initrd : "the initramfs");
  return true;
}

static int
initramfs_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  const struct guest_linux *l = linux_guest (ctx->guest);
  int r;

  r = linux_initramfs_add (ctx, virtio_modules, "90-v2v-kubevirt",
                           "the disks and NIC are virtio on KubeVirt", err);
  if (r < 0)
    return r;

  for (size_t i = 0; i < l->nr_kernels; i++)
    if ((ssize_t) i != l->default_kernel && l->kernels[i].initrd)
      convert_internal_warn (ctx, "kernel %s: initramfs not rebuilt (only "
                             "the default kernel's is); it gets virtio "
                             "drivers at its next rebuild in the guest",
                             l->kernels[i].version);
  return 0;
}

const struct convert_step convert_step_initramfs = {
  .name = "initramfs",
  .applies = initramfs_applies,
  .apply = initramfs_apply,
};
