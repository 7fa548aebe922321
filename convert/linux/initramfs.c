/* initramfs: the default kernel's initramfs must carry virtio_blk and
 * virtio_pci (and virtio_scsi, virtio_net), or the root disk is never
 * found.  If they are already there the rebuild is skipped -- virt-v2v
 * always rebuilds, which is the slowest part of a conversion under
 * emulation.  Otherwise the modules are added persistently, in the
 * guest's own configuration, and the guest's own tool rebuilds it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"

static const char *const virtio_modules[] = {
  "virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net", NULL
};

static struct guest_kernel *
default_kernel (struct convert_ctx *ctx)
{
  struct guest *guest = ctx->guest;

  if (guest->default_kernel < 0)
    return NULL;
  return &guest->kernels[guest->default_kernel];
}

static bool
listing_has (const char *listing, const char *module)
{
  char needle[64];

  snprintf (needle, sizeof needle, "/%s.ko", module);
  return strstr (listing, needle) != NULL;
}

/* List the initrd with the guest's own tool and look for the drivers
 * that boot needs (built-in drivers count as present).
 */
static void
check_initrd (struct convert_ctx *ctx, struct guest_kernel *k)
{
  const char *tool = ctx->guest->initramfs_tool == INITRAMFS_TOOLS
    ? "lsinitramfs" : "lsinitrd";
  const char *argv[] = { tool, k->initrd, NULL };
  CLEANUP_FREE char *out = NULL;

  k->initrd_checked = true;
  k->initrd_has_virtio = false;
  if (k->initrd == NULL)
    return;
  guestfs_push_error_handler (ctx->guest->g, NULL, NULL);
  out = guestfs_command (ctx->guest->g, (char **) argv);
  guestfs_pop_error_handler (ctx->guest->g);
  if (out == NULL)
    return;                     /* cannot tell: rebuild to be safe */
  /* A built-in driver is never in the listing, and need not be: AL2023
   * builds virtio_blk and virtio_pci into its kernel. */
  k->initrd_has_virtio =
    (listing_has (out, "virtio_blk") ||
     convert_internal_kernel_builtin (ctx, k->version, "CONFIG_VIRTIO_BLK",
                                      "virtio_blk")) &&
    (listing_has (out, "virtio_pci") ||
     convert_internal_kernel_builtin (ctx, k->version, "CONFIG_VIRTIO_PCI",
                                      "virtio_pci"));
}

static bool
initramfs_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  struct guest_kernel *k = default_kernel (ctx);

  if (k == NULL) {
    snprintf (why, whylen, "no kernel with virtio support");
    return false;
  }
  if (!k->initrd_checked)
    check_initrd (ctx, k);
  if (k->initrd_has_virtio) {
    snprintf (why, whylen, "%s already has virtio_blk and virtio_pci: "
              "rebuild skipped", k->initrd);
    return false;
  }
  snprintf (why, whylen, "%s lacks virtio_blk/virtio_pci",
            k->initrd ? k->initrd : "the initramfs");
  return true;
}

/* initramfs-tools: one module a line in /etc/initramfs-tools/modules. */
static int
add_modules_initramfs_tools (struct convert_ctx *ctx, struct v2v_error *err)
{
  static const char path[] = "/etc/initramfs-tools/modules";
  CLEANUP_FREE char *data = NULL;
  CLEANUP_FREE char *out = NULL;
  size_t len = 0;
  char add[256] = "";

  if (convert_internal_exists (ctx, path) &&
      convert_internal_read (ctx, path, &data, &len, err) < 0)
    return err->code;
  CLEANUP_STRV char **lines = convert_internal_split_lines (data ? data : "",
                                                           len);
  for (size_t m = 0; virtio_modules[m]; m++) {
    bool found = false;
    for (size_t i = 0; lines && lines[i]; i++)
      if (strcmp (lines[i], virtio_modules[m]) == 0)
        found = true;
    if (!found) {
      strcat (add, virtio_modules[m]);
      strcat (add, "\n");
    }
  }
  if (*add == '\0')
    return 0;
  if (asprintf (&out, "%s%s# Added by v2v-kubevirt for KubeVirt (virtio)\n%s",
                data ? data : "",
                len && data[len - 1] != '\n' ? "\n" : "", add) < 0)
    return v2v_error_set (err, -ENOMEM, "%s", path);
  return convert_internal_write (ctx, path, out, strlen (out),
                                 "keep virtio drivers in every future "
                                 "initramfs", err);
}

static int
add_modules_dracut (struct convert_ctx *ctx, struct v2v_error *err)
{
  static const char conf[] =
    "# Written by v2v-kubevirt: the disks and NIC are virtio on KubeVirt.\n"
    "add_drivers+=\" virtio_pci virtio_blk virtio_scsi virtio_net \"\n";

  return convert_internal_write (ctx, "/etc/dracut.conf.d/90-v2v-kubevirt.conf",
                                 conf, sizeof conf - 1,
                                 "keep virtio drivers in every future "
                                 "initramfs", err);
}

/* SUSE mkinitrd: INITRD_MODULES="..." in /etc/sysconfig/kernel. */
static char *
suse_line (const char *line, void *opaque)
{
  char *out = NULL;

  (void) opaque;
  if (strncmp (line, "INITRD_MODULES=\"", 16) != 0)
    return NULL;
  const char *end = strrchr (line + 16, '"');
  if (end == NULL)
    return NULL;
  if (strstr (line, "virtio_blk"))
    return NULL;
  return asprintf (&out, "%.*s virtio_pci virtio_blk virtio_scsi virtio_net%s",
                   (int) (end - line), line, end) < 0 ? NULL : out;
}

static int
initramfs_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  struct guest *guest = ctx->guest;
  struct guest_kernel *k = default_kernel (ctx);
  static const char reason[] = "add virtio drivers to the initramfs of the "
    "default kernel";
  int r;

  if (k->initrd == NULL)
    return v2v_error_set (err, -ENOENT, "kernel %s has no initramfs to "
                          "rebuild", k->version);
  switch (guest->initramfs_tool) {
  case INITRAMFS_TOOLS: {
    const char *argv[] = { "update-initramfs", "-u", "-k", k->version, NULL };
    if ((r = add_modules_initramfs_tools (ctx, err)) < 0)
      return r;
    r = convert_internal_run_rewrite (ctx, argv, k->initrd, reason, err);
    break;
  }
  case INITRAMFS_DRACUT: {
    const char *argv[] = { "dracut", "-f", k->initrd, k->version, NULL };
    if ((r = add_modules_dracut (ctx, err)) < 0)
      return r;
    r = convert_internal_run_rewrite (ctx, argv, k->initrd, reason, err);
    break;
  }
  case INITRAMFS_MKINITRD: {
    const char *argv[] = { "mkinitrd", "-k", k->vmlinuz, "-i", k->initrd,
                           NULL };
    if (convert_internal_is_regular (ctx, "/etc/sysconfig/kernel") &&
        (r = convert_internal_edit_lines (ctx, "/etc/sysconfig/kernel",
                                          suse_line, NULL, reason, NULL,
                                          err)) < 0)
      return r;
    r = convert_internal_run_rewrite (ctx, argv, k->initrd, reason, err);
    break;
  }
  default:
    return v2v_error_set (err, -ENOTSUP, "no initramfs tool");
  }
  if (r < 0)
    return r;

  for (size_t i = 0; i < guest->nr_kernels; i++)
    if ((ssize_t) i != guest->default_kernel && guest->kernels[i].initrd)
      convert_internal_warn (ctx, "kernel %s: initramfs not rebuilt (only "
                             "the default kernel's is); it gets virtio "
                             "drivers at its next rebuild in the guest",
                             guest->kernels[i].version);
  return 0;
}

const struct convert_step convert_step_initramfs = {
  .name = "initramfs",
  .applies = initramfs_applies,
  .apply = initramfs_apply,
};
