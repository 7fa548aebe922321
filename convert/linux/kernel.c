/* Everything this project knows about the guest's Linux kernels and
 * their initramfs: which kernels are installed and which is the default,
 * how a kernel provides a driver (built in, a module, not at all), what
 * an initrd holds (by the guest's own lister), how to add drivers to it
 * persistently and rebuild it with the guest's own tool, and whether the
 * default kernel boots from SATA (compatibility mode).  The steps that
 * need a kernel (initramfs, compat-ahci, bootloader) ask here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"
#include "string-table.h"

/* The report's name of each initramfs tool. */
static const char *const initramfs_tool_table[] = {
  [INITRAMFS_NONE] = "none", [INITRAMFS_TOOLS] = "initramfs-tools",
  [INITRAMFS_DRACUT] = "dracut", [INITRAMFS_MKINITRD] = "mkinitrd",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (initramfs_tool, enum guest_initramfs_tool,
                                    "none")

bool
convert_internal_valid_kernel_version (const char *v)
{
  if (v == NULL || *v == '\0' || strlen (v) > 128 || v[0] == '-' ||
      v[0] == '.')
    return false;
  for (const char *p = v; *p; p++)
    if (!strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "0123456789._+~-", *p))
      return false;
  return true;
}

/* Does the file at PATH (bounded) contain NEEDLE? */
static bool
file_has (struct convert_ctx *ctx, const char *path, const char *needle)
{
  CLEANUP_FREE char *data = NULL;
  struct v2v_error ignored;

  if (!convert_internal_is_regular (ctx, path))
    return false;
  if (convert_internal_read (ctx, path, &data, NULL, &ignored) < 0)
    return false;
  return strstr (data, needle) != NULL;
}

bool
linux_kernel_builtin (struct convert_ctx *ctx, const char *ver,
                                 const char *config, const char *module)
{
  char path[512], needle[256];

  /* =y in the kernel config, or the module in modules.builtin */
  snprintf (path, sizeof path, "/boot/config-%s", ver);
  snprintf (needle, sizeof needle, "\n%s=y", config);
  if (file_has (ctx, path, needle))
    return true;
  snprintf (needle, sizeof needle, "/%s.ko", module);
  snprintf (path, sizeof path, "/lib/modules/%s/modules.builtin", ver);
  return file_has (ctx, path, needle);
}

enum kernel_driver
linux_kernel_driver (struct convert_ctx *ctx, const char *ver,
                                const char *config, const char *module)
{
  char path[512], needle[256];

  if (linux_kernel_builtin (ctx, ver, config, module))
    return KDRV_BUILTIN;
  /* modules.dep lines start with the module's path: "kernel/.../X.ko". */
  snprintf (needle, sizeof needle, "/%s.ko", module);
  snprintf (path, sizeof path, "/lib/modules/%s/modules.dep", ver);
  return file_has (ctx, path, needle) ? KDRV_MODULE : KDRV_NONE;
}

static bool
kernel_has (struct convert_ctx *ctx, const char *ver, const char *config,
            const char *module)
{
  return linux_kernel_driver (ctx, ver, config, module)
    != KDRV_NONE;
}

static int
version_cmp (const void *a, const void *b)
{
  const struct guest_kernel *x = a, *y = b;

  return strverscmp (x->version, y->version);
}

/* Kernels come from the package database where we can read it directly
 * (dpkg's status file), else from /boot: one read instead of one package
 * query per kernel.
 */
static int
collect_kernels (struct convert_ctx *ctx, struct guest_linux *l,
                 struct v2v_error *err)
{
  struct guest *guest = ctx->guest;
  guestfs_h *g = guest->g;
  CLEANUP_STRV char **files = guestfs_ls (g, "/boot");
  CLEANUP_FREE char *dpkg = NULL;

  if (files == NULL)
    return convert_internal_gerror (g, err, "ls", "/boot");
  if (guest->family == FAMILY_DEBIAN || guest->family == FAMILY_UBUNTU) {
    struct v2v_error ignored;
    convert_internal_read (ctx, "/var/lib/dpkg/status", &dpkg, NULL,
                           &ignored);
  }

  size_t n = 0;
  for (size_t i = 0; files[i]; i++)
    n++;
  l->kernels = calloc (n ? n : 1, sizeof *l->kernels);
  if (l->kernels == NULL)
    return v2v_error_set (err, -ENOMEM, "kernels");

  for (size_t i = 0; files[i]; i++) {
    const char *ver;
    char path[512], modules[512];

    if (strncmp (files[i], "vmlinuz-", 8) != 0)
      continue;
    ver = files[i] + 8;
    if (!convert_internal_valid_kernel_version (ver))
      continue;                 /* never pass odd names to guest tools */
    if (dpkg) {
      char pkg[256];
      snprintf (pkg, sizeof pkg, "Package: linux-image-%s\n", ver);
      if (strstr (dpkg, pkg) == NULL)
        continue;
    }
    snprintf (modules, sizeof modules, "/lib/modules/%s", ver);
    if (guestfs_is_dir (g, modules) <= 0)
      continue;

    struct guest_kernel *k = &l->kernels[l->nr_kernels++];
    k->version = strdup (ver);
    snprintf (path, sizeof path, "/boot/%s", files[i]);
    k->vmlinuz = strdup (path);
    static const char *const initrd_fmt[][2] = {
      { "/boot/initrd.img-", "" }, { "/boot/initramfs-", ".img" },
      { "/boot/initrd-", "" }, { NULL, NULL }
    };
    for (size_t f = 0; initrd_fmt[f][0]; f++) {
      snprintf (path, sizeof path, "%s%s%s", initrd_fmt[f][0], ver,
                initrd_fmt[f][1]);
      if (guestfs_is_file (g, path) > 0) {
        k->initrd = strdup (path);
        break;
      }
    }
    k->virtio_capable =
      kernel_has (ctx, ver, "CONFIG_VIRTIO_BLK", "virtio_blk") &&
      kernel_has (ctx, ver, "CONFIG_VIRTIO_PCI", "virtio_pci");
    k->xen_pv_only = !k->virtio_capable && strstr (ver, "xen") != NULL;
  }
  qsort (l->kernels, l->nr_kernels, sizeof *l->kernels,
         version_cmp);

  /* The default: the newest kernel that can boot on virtio. */
  l->default_kernel = -1;
  for (size_t i = l->nr_kernels; i-- > 0;)
    if (l->kernels[i].virtio_capable) {
      l->default_kernel = (ssize_t) i;
      break;
    }
  return 0;
}

bool
linux_listing_has (const char *listing, const char *module)
{
  char needle[64];

  snprintf (needle, sizeof needle, "/%s.ko", module);
  return strstr (listing, needle) != NULL;
}

const char *
linux_initrd_listing (struct convert_ctx *ctx,
                                 struct guest_kernel *k)
{
  const char *tool = linux_guest (ctx->guest)->initramfs_tool == INITRAMFS_TOOLS
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
bool
linux_initrd_has_virtio (struct convert_ctx *ctx, struct guest_kernel *k)
{
  const char *out;

  if (k->initrd_checked)
    return k->initrd_has_virtio;
  k->initrd_checked = true;
  k->initrd_has_virtio = false;
  out = linux_initrd_listing (ctx, k);
  if (out == NULL)
    return false;               /* cannot tell: rebuild to be safe */
  /* A built-in driver is never in the listing, and need not be: AL2023
   * builds virtio_blk and virtio_pci into its kernel. */
  k->initrd_has_virtio =
    (linux_listing_has (out, "virtio_blk") ||
     linux_kernel_builtin (ctx, k->version, "CONFIG_VIRTIO_BLK",
                                      "virtio_blk")) &&
    (linux_listing_has (out, "virtio_pci") ||
     linux_kernel_builtin (ctx, k->version, "CONFIG_VIRTIO_PCI",
                                      "virtio_pci"));
  return k->initrd_has_virtio;
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
                len && data && data[len - 1] != '\n' ? "\n" : "", why,
                add) < 0)
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

int
linux_initramfs_add (struct convert_ctx *ctx, const char *const *modules,
                     const char *conf_name, const char *why,
                     struct v2v_error *err)
{
  struct guest_kernel *k = linux_default_kernel (ctx->guest);
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
  switch (linux_guest (ctx->guest)->initramfs_tool) {
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

static const char *
driver_word (enum kernel_driver d)
{
  return d == KDRV_BUILTIN ? "built in" : "a module";
}

/* The SATA disk needs ahci and sd_mod before root is mounted, so in the
 * initramfs unless built in; e1000e is loaded by udev from the root
 * filesystem later, so being a module is enough.
 */
void
linux_kernel_preflight (struct convert_ctx *ctx, struct guest_kernel *k,
                        struct preflight *pf)
{
  static const struct { const char *config, *module, *what; } disk[] = {
    { "CONFIG_SATA_AHCI", "ahci", "AHCI (SATA) driver" },
    { "CONFIG_BLK_DEV_SD", "sd_mod", "SCSI/SATA disk driver" },
  };
  const struct guest_linux *l = linux_guest (ctx->guest);

  for (size_t i = 0; i < sizeof disk / sizeof disk[0]; i++) {
    enum kernel_driver d =
      linux_kernel_driver (ctx, k->version, disk[i].config,
                                      disk[i].module);
    if (d == KDRV_NONE) {
      pf->wont_boot = true;
      convert_internal_json_addf (pf->reasons, "kernel %s has no %s (%s is not set): the root disk "
           "is not found on SATA", k->version, disk[i].what, disk[i].config);
      /* Is there another installed kernel that would do? */
      for (size_t j = 0; j < l->nr_kernels; j++) {
        const char *v = l->kernels[j].version;
        if (&l->kernels[j] != k &&
            linux_kernel_driver (ctx, v, disk[i].config,
                                            disk[i].module) != KDRV_NONE)
          convert_internal_json_addf (pf->reasons, "kernel %s has %s: make it the default, or "
               "convert the guest to virtio instead", v, disk[i].module);
      }
      continue;
    }
    if (d == KDRV_BUILTIN) {
      convert_internal_json_addf (pf->reasons, "kernel %s: %s is built in", k->version,
           disk[i].module);
      continue;
    }
    const char *listing = linux_initrd_listing (ctx, k);
    if (listing && linux_listing_has (listing, disk[i].module))
      convert_internal_json_addf (pf->reasons, "kernel %s: %s is a module, in %s", k->version,
           disk[i].module, k->initrd);
    else {
      convert_internal_json_addf (pf->reasons, "kernel %s: %s is a module, but not in %s",
           k->version, disk[i].module, k->initrd ? k->initrd : "an initramfs");
    }
  }

  enum kernel_driver nic =
    linux_kernel_driver (ctx, k->version, "CONFIG_E1000E",
                                    "e1000e");
  if (nic == KDRV_NONE) {
    pf->wont_boot = true;
    convert_internal_json_addf (pf->reasons, "kernel %s has no e1000e driver (CONFIG_E1000E is not "
         "set): the VM would have no network", k->version);
  }
  else
    convert_internal_json_addf (pf->reasons, "kernel %s: e1000e is %s", k->version,
         driver_word (nic));
}


/* The initramfs tool decides how drivers are added and how the image is
 * listed and rebuilt. */
static enum guest_initramfs_tool
initramfs_tool (struct convert_ctx *ctx)
{
  if (convert_internal_exists (ctx, "/usr/sbin/update-initramfs"))
    return INITRAMFS_TOOLS;
  if (convert_internal_exists (ctx, "/usr/bin/dracut") ||
      convert_internal_exists (ctx, "/sbin/dracut") ||
      convert_internal_exists (ctx, "/usr/sbin/dracut"))
    return INITRAMFS_DRACUT;
  if (convert_internal_exists (ctx, "/sbin/mkinitrd") ||
      convert_internal_exists (ctx, "/usr/sbin/mkinitrd"))
    return INITRAMFS_MKINITRD;
  return INITRAMFS_NONE;
}

int
linux_kernels_inspect (struct convert_ctx *ctx, struct v2v_error *err)
{
  struct guest_linux *l = linux_guest (ctx->guest);

  l->default_kernel = -1;
  if (collect_kernels (ctx, l, err) < 0)
    return err->code;
  l->initramfs_tool = initramfs_tool (ctx);
  return 0;
}

void
linux_kernels_free (struct guest_linux *l)
{
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->nr_kernels; i++) {
    free (l->kernels[i].version);
    free (l->kernels[i].vmlinuz);
    free (l->kernels[i].initrd);
    free (l->kernels[i].initrd_listing);
  }
  free (l->kernels);
  l->kernels = NULL;
  l->nr_kernels = 0;
}

void
linux_kernels_json (const struct guest_linux *l, struct json_object *o)
{
  struct json_object *ks = json_object_new_array ();

  for (size_t i = 0; i < l->nr_kernels; i++) {
    const struct guest_kernel *k = &l->kernels[i];
    struct json_object *kj = json_object_new_object ();
    json_object_object_add (kj, "version", json_object_new_string (k->version));
    json_object_object_add (kj, "initrd", k->initrd
                            ? json_object_new_string (k->initrd) : NULL);
    json_object_object_add (kj, "virtio",
                            json_object_new_boolean (k->virtio_capable));
    if (k->initrd_checked)
      json_object_object_add (kj, "initrd_has_virtio",
                              json_object_new_boolean (k->initrd_has_virtio));
    json_object_object_add (kj, "default", json_object_new_boolean
                            ((ssize_t) i == l->default_kernel));
    json_object_array_add (ks, kj);
  }
  json_object_object_add (o, "kernels", ks);
  json_object_object_add (o, "initramfs_tool",
                          json_object_new_string
                          (initramfs_tool_to_string (l->initramfs_tool)));
}
