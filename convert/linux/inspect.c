/* The Linux half of inspection: from the root inspect.c found, the
 * distribution (os-release), architecture, fstab and mounts, free space,
 * kernels (kernel.c) and each step's facts (linux->facts); and the
 * refusals only a Linux guest can earn.  Reads only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

static const char *
distro_of (const char *id)
{
  static const struct { const char *id, *distro; } map[] = {
    { "debian", "debian" }, { "ubuntu", "ubuntu" }, { "rhel", "rhel" },
    { "centos", "centos" }, { "rocky", "rocky" }, { "almalinux", "almalinux" },
    { "fedora", "fedora" }, { "ol", "oraclelinux" }, { "amzn", "amazonlinux" },
    { "sles", "sles" }, { "sled", "sles" }, { "opensuse-leap", "opensuse" },
    { "opensuse", "opensuse" }, { "opensuse-tumbleweed", "opensuse" },
    { "suse", "sles" },
  };

  for (size_t i = 0; id && i < sizeof map / sizeof map[0]; i++)
    if (strcmp (id, map[i].id) == 0)
      return map[i].distro;
  return NULL;
}

/* ELF e_machine of a guest binary: the guest's architecture. */
static char *
guest_arch (guestfs_h *g)
{
  static const char *const bins[] = { "/bin/ls", "/usr/bin/ls", "/bin/sh",
                                      "/usr/bin/sh", "/bin/busybox", NULL };

  for (size_t i = 0; bins[i]; i++) {
    size_t len = 0;
    guestfs_push_error_handler (g, NULL, NULL);
    CLEANUP_FREE char *hdr = guestfs_pread (g, bins[i], 20, 0, &len);
    guestfs_pop_error_handler (g);
    if (hdr == NULL || len < 20 || memcmp (hdr, "\177ELF", 4) != 0)
      continue;
    unsigned m = (unsigned char) hdr[18] | (unsigned) (unsigned char) hdr[19] << 8;
    return strdup (m == 0x3e ? "x86_64" : m == 0xb7 ? "aarch64"
                   : m == 0x03 ? "i386" : "unknown");
  }
  return NULL;
}

static enum guest_family
family_of (const char *distro)
{
  static const struct { const char *distro; enum guest_family f; } map[] = {
    { "debian", FAMILY_DEBIAN }, { "ubuntu", FAMILY_UBUNTU },
    { "rhel", FAMILY_RHEL }, { "centos", FAMILY_RHEL },
    { "rocky", FAMILY_RHEL }, { "almalinux", FAMILY_RHEL },
    { "fedora", FAMILY_RHEL }, { "oraclelinux", FAMILY_RHEL },
    { "redhat-based", FAMILY_RHEL }, { "amazonlinux", FAMILY_AMZN },
    { "sles", FAMILY_SUSE }, { "opensuse", FAMILY_SUSE },
    { "suse-based", FAMILY_SUSE },
  };

  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (distro && strcmp (distro, map[i].distro) == 0)
      return map[i].f;
  return FAMILY_UNKNOWN;
}

static int
check_free_space (struct guest *guest, struct v2v_error *err)
{
  static const char *const paths[] = { "/", "/boot", NULL };

  for (size_t i = 0; paths[i]; i++) {
    struct guestfs_statvfs *st = guestfs_statvfs (guest->g, paths[i]);
    if (st == NULL)
      continue;
    int64_t avail = st->bavail * st->bsize;
    guestfs_free_statvfs (st);
    if (avail < 50 * 1024 * 1024)
      return v2v_error_set (err, CONVERT_ERR_NO_SPACE,
                            "%s in the guest has %lld MB free; conversion "
                            "needs 50 MB: free some space (or grow the "
                            "volume) and migrate again", paths[i],
                            (long long) (avail / (1024 * 1024)));
  }
  return 0;
}

enum convert_status
linux_inspect (struct guest *guest, const char *os_release,
               struct v2v_error *err)
{
  guestfs_h *g = guest->g;
  struct changelog none = { 0 };
  struct convert_ctx ctx = { .guest = guest, .log = &none };
  CLEANUP_FREE char *fstab = NULL;
  struct guest_linux *l;

  l = guest->os_data = calloc (1, sizeof *l);
  if (l == NULL) {
    v2v_error_set (err, -ENOMEM, "linux");
    return CONVERT_ERR_INTERNAL;
  }
  l->default_kernel = -1;
  {
    const char *osr = os_release;
    CLEANUP_FREE char *id = convert_internal_os_release_get (osr, "ID");
    CLEANUP_FREE char *like = convert_internal_os_release_get (osr, "ID_LIKE");
    CLEANUP_FREE char *ver = convert_internal_os_release_get (osr, "VERSION_ID");
    const char *distro = distro_of (id);

    guest->type = strdup ("linux");
    guest->product = convert_internal_os_release_get (osr, "PRETTY_NAME");
    if (distro == NULL && like) {
      /* ID_LIKE="rhel fedora" etc.: the first one we know. */
      char *save = NULL;
      for (char *tok = strtok_r (like, " ", &save); tok && !distro;
           tok = strtok_r (NULL, " ", &save))
        distro = distro_of (tok);
    }
    guest->distro = strdup (distro ? distro : id ? id : "unknown");
    guest->family = family_of (distro);
    if (ver) {
      guest->major = atoi (ver);
      const char *dot = strchr (ver, '.');
      guest->minor = dot ? atoi (dot + 1) : 0;
    }
    guest->pkgfmt = strdup (guest->family == FAMILY_DEBIAN ||
                            guest->family == FAMILY_UBUNTU ? "deb" : "rpm");
  }
  if (guest->family == FAMILY_UNKNOWN) {
    v2v_error_set (err, CONVERT_ERR_UNSUPPORTED,
                   "%s: unsupported Linux distribution '%s' (supported: "
                   "Debian, Ubuntu, RHEL-like, Amazon Linux, SUSE)",
                   guest->root, guest->distro);
    return CONVERT_ERR_UNSUPPORTED;
  }

  /* Mount root alone first: /etc/fstab says where the rest goes. */
  if (guestfs_mount_options (g, guest->readonly ? "ro" : "", guest->root,
                             "/") == -1) {
    convert_internal_gerror (g, err, "mount", guest->root);
    /* A filesystem with a dirty journal on a read-only disk, or one that
     * says it is read-only, cannot be converted safely. */
    return CONVERT_ERR_FS_STATE;
  }
  guest->arch = guest_arch (g);
  if (guest->arch == NULL || strcmp (guest->arch, "x86_64") != 0) {
    v2v_error_set (err, CONVERT_ERR_UNSUPPORTED,
                   "%s: unsupported architecture '%s' (only x86_64)",
                   guest->root, guest->arch ? guest->arch : "unknown");
    return CONVERT_ERR_UNSUPPORTED;
  }
  if (convert_internal_read (&ctx, "/etc/fstab", &fstab, NULL, err) < 0 ||
      convert_internal_fstab_parse (guest, fstab, err) < 0) {
    v2v_error_prefix (err, "inspect");
    return CONVERT_ERR_UNSUPPORTED;
  }
  if (guestfs_umount_all (g) == -1 ||
      convert_internal_mount_all (guest, err) < 0)
    return CONVERT_ERR_INTERNAL;

  if (!guest->readonly && check_free_space (guest, err) != 0)
    return CONVERT_ERR_NO_SPACE;

  guest->converted = convert_internal_exists (&ctx, GUEST_MARKER);
  if (linux_kernels_inspect (&ctx, err) < 0)
    return CONVERT_ERR_INTERNAL;
  guest->firmware = guest->esp ? FIRMWARE_UEFI : FIRMWARE_BIOS;
  convert_internal_facts_gather (&ctx);

  if (l->default_kernel < 0) {
    bool xen = false;
    for (size_t i = 0; i < l->nr_kernels; i++)
      xen |= l->kernels[i].xen_pv_only;
    if (xen) {
      v2v_error_set (err, CONVERT_ERR_XEN_PV_ONLY,
                     "%s: the guest has only Xen PV kernels, which cannot "
                     "boot on KVM: install a standard kernel on EC2 first",
                     guest->root);
      return CONVERT_ERR_XEN_PV_ONLY;
    }
    v2v_error_set (err, CONVERT_ERR_UNSUPPORTED,
                   "%s: none of the %zu installed kernels has virtio "
                   "drivers (virtio_blk, virtio_pci)", guest->root,
                   l->nr_kernels);
    return CONVERT_ERR_UNSUPPORTED;
  }
  if (l->initramfs_tool == INITRAMFS_NONE) {
    v2v_error_set (err, CONVERT_ERR_UNSUPPORTED,
                   "%s: no initramfs tool (update-initramfs, dracut or "
                   "mkinitrd) in the guest", guest->root);
    return CONVERT_ERR_UNSUPPORTED;
  }
  return CONVERT_OK;
}

