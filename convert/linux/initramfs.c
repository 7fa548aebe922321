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

bool
convert_internal_listing_has (const char *listing, const char *module)
{
  char needle[64];

  snprintf (needle, sizeof needle, "/%s.ko", module);
  return strstr (listing, needle) != NULL;
}

const char *
convert_internal_initrd_listing (struct convert_ctx *ctx,
                                 struct guest_kernel *k)
{
  const char *tool = ctx->guest->initramfs_tool == INITRAMFS_TOOLS
    ? "lsinitramfs" : "lsinitrd";
  const char *argv[] = { tool, k->initrd, NULL };

  /* Listing unpacks the image: seconds under TCG, so only once. */
  if (k->initrd_listing || k->initrd == NULL)
    return k->initrd_listing;
  guestfs_push_error_handler (ctx->guest->g, NULL, NULL);
  k->initrd_listing = guestfs_command (ctx->guest->g, (char **) argv);
  guestfs_pop_error_handler (ctx->guest->g);
  return k->initrd_listing;
}

/* List the initrd with the guest's own tool and look for the drivers
 * that boot needs (built-in drivers count as present).
 */
static void
check_initrd (struct convert_ctx *ctx, struct guest_kernel *k)
{
  const char *out;

  k->initrd_checked = true;
  k->initrd_has_virtio = false;
  out = convert_internal_initrd_listing (ctx, k);
  if (out == NULL)
    return;                     /* cannot tell: rebuild to be safe */
  /* A built-in driver is never in the listing, and need not be: AL2023
   * builds virtio_blk and virtio_pci into its kernel. */
  k->initrd_has_virtio =
    (convert_internal_listing_has (out, "virtio_blk") ||
     convert_internal_kernel_builtin (ctx, k->version, "CONFIG_VIRTIO_BLK",
                                      "virtio_blk")) &&
    (convert_internal_listing_has (out, "virtio_pci") ||
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
add_modules_initramfs_tools (struct convert_ctx *ctx,
                             const char *const *modules, const char *why,
                             struct v2v_error *err)
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
  for (size_t m = 0; modules[m]; m++) {
    bool found = false;
    for (size_t i = 0; lines && lines[i]; i++)
      if (strcmp (lines[i], modules[m]) == 0)
        found = true;
    if (!found && strlen (add) + strlen (modules[m]) + 2 < sizeof add) {
      strcat (add, modules[m]);
      strcat (add, "\n");
    }
  }
  if (*add == '\0')
    return 0;
  if (asprintf (&out, "%s%s# Added by v2v-kubevirt: %s\n%s",
                data ? data : "",
                len && data[len - 1] != '\n' ? "\n" : "", why, add) < 0)
    return v2v_error_set (err, -ENOMEM, "%s", path);
  return convert_internal_write (ctx, path, out, strlen (out),
                                 "keep these drivers in every future "
                                 "initramfs", err);
}

static char *
join_modules (const char *const *modules)
{
  char buf[256] = "";

  for (size_t m = 0; modules[m]; m++)
    if (strlen (buf) + strlen (modules[m]) + 2 < sizeof buf) {
      strcat (buf, " ");
      strcat (buf, modules[m]);
    }
  return strdup (buf);
}

/* One drop-in per purpose: CONF is "90-v2v-kubevirt" or similar. */
static int
add_modules_dracut (struct convert_ctx *ctx, const char *const *modules,
                    const char *conf_name, const char *why,
                    struct v2v_error *err)
{
  CLEANUP_FREE char *list = join_modules (modules);
  CLEANUP_FREE char *conf = NULL;
  char path[128];

  if (list == NULL ||
      asprintf (&conf, "# Written by v2v-kubevirt: %s.\n"
                "add_drivers+=\"%s \"\n", why, list) < 0)
    return v2v_error_set (err, -ENOMEM, "dracut drop-in");
  snprintf (path, sizeof path, "/etc/dracut.conf.d/%s.conf", conf_name);
  return convert_internal_write (ctx, path, conf, strlen (conf),
                                 "keep these drivers in every future "
                                 "initramfs", err);
}

/* SUSE mkinitrd: INITRD_MODULES="..." in /etc/sysconfig/kernel; the
 * modules not yet listed are appended.
 */
static char *
suse_line (const char *line, void *opaque)
{
  const char *const *modules = opaque;
  const char *const *missing;
  char add[256] = "";
  char *out = NULL;

  if (strncmp (line, "INITRD_MODULES=\"", 16) != 0)
    return NULL;
  const char *end = strrchr (line + 16, '"');
  if (end == NULL)
    return NULL;
  for (missing = modules; *missing; missing++) {
    size_t n = strlen (*missing);
    bool found = false;
    for (const char *p = line + 16; p < end && (p = strstr (p, *missing));
         p += n)
      if ((p[-1] == ' ' || p[-1] == '"') && (p[n] == ' ' || p[n] == '"'))
        found = true;
    if (!found && strlen (add) + n + 2 < sizeof add) {
      strcat (add, " ");
      strcat (add, *missing);
    }
  }
  if (*add == '\0')
    return NULL;
  return asprintf (&out, "%.*s%s%s", (int) (end - line),
                   line, end[-1] == '"' ? add + 1 : add, end) < 0 ? NULL : out;
}

/* Add MODULES to the initramfs configuration of the guest, persistently,
 * and rebuild the default kernel's initramfs with the guest's own tool.
 * WHY ends up in the comments written to the guest, CONF_NAME names the
 * dracut drop-in.
 */
int
convert_internal_initramfs_add (struct convert_ctx *ctx,
                                const char *const *modules,
                                const char *conf_name, const char *why,
                                struct v2v_error *err)
{
  struct guest *guest = ctx->guest;
  struct guest_kernel *k = default_kernel (ctx);
  CLEANUP_FREE char *reason = NULL;
  int r;

  if (k == NULL || k->initrd == NULL)
    return v2v_error_set (err, -ENOENT, "no initramfs to rebuild for the "
                          "default kernel");
  if (asprintf (&reason, "%s: add drivers to the initramfs of the default "
                "kernel", why) < 0)
    return v2v_error_set (err, -ENOMEM, "initramfs");
  const char *tools[] = { "update-initramfs", "-u", "-k", k->version, NULL };
  const char *dracut[] = { "dracut", "-f", k->initrd, k->version, NULL };
  const char *mkinitrd[] = { "mkinitrd", "-k", k->vmlinuz, "-i", k->initrd,
                             NULL };
  const char *const *argv;
  switch (guest->initramfs_tool) {
  case INITRAMFS_TOOLS:
    r = add_modules_initramfs_tools (ctx, modules, why, err);
    argv = tools;
    break;
  case INITRAMFS_DRACUT:
    r = add_modules_dracut (ctx, modules, conf_name, why, err);
    argv = dracut;
    break;
  case INITRAMFS_MKINITRD:
    r = convert_internal_is_regular (ctx, "/etc/sysconfig/kernel")
      ? convert_internal_edit_lines (ctx, "/etc/sysconfig/kernel", suse_line,
                                     (void *) modules, reason, NULL, err)
      : 0;
    argv = mkinitrd;
    break;
  default:
    return v2v_error_set (err, -ENOTSUP, "no initramfs tool");
  }
  if (r < 0)
    return r;
  /* The cached listing describes the old image. */
  free (k->initrd_listing);
  k->initrd_listing = NULL;
  return convert_internal_run_rewrite (ctx, argv, k->initrd, reason, err);
}

static int
initramfs_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  struct guest *guest = ctx->guest;
  int r;

  r = convert_internal_initramfs_add (ctx, virtio_modules, "90-v2v-kubevirt",
                                      "the disks and NIC are virtio on "
                                      "KubeVirt", err);
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
