/* Build the guest model: what is on the disks, and everything the rework
 * steps decide on.  Reads only; nothing here writes to the guest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev.h"
#include "internal.h"

static const char *const agent_units[] = {
  "amazon-ssm-agent.service",
  "snap.amazon-ssm-agent.amazon-ssm-agent.service",
  "amazon-cloudwatch-agent.service",
  "ec2-instance-connect.service",
  "ec2-instance-connect-harvest-hostkeys.service",
  "hibinit-agent.service",
  "ec2-hibinit-agent.service",
  "aws-kinesis-agent.service",
  "xe-linux-distribution.service",
  NULL
};

static const char *const unit_dirs[] = {
  "/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
  NULL
};

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

static struct guest_fs *
fs_push (struct guest *guest, size_t *cap)
{
  if (guest->nr_fs == *cap) {
    size_t ncap = *cap ? *cap * 2 : 16;
    struct guest_fs *v = realloc (guest->fs, ncap * sizeof *v);
    if (v == NULL)
      return NULL;
    guest->fs = v;
    *cap = ncap;
  }
  struct guest_fs *fs = &guest->fs[guest->nr_fs++];
  memset (fs, 0, sizeof *fs);
  fs->disk_index = -1;
  return fs;
}

static char *
dup_or_null (const char *s)
{
  return s && *s ? strdup (s) : NULL;
}

/* The filesystems come from blockdev's host-side libblkid probe, which
 * has already read every partition: asking the appliance again
 * (list_filesystems, blkid) costs seconds under emulation.  Only what the
 * host cannot see -- LVM logical volumes and opened LUKS devices -- is
 * listed by the appliance.
 */
static int
collect_filesystems (struct guest *guest, const struct blockdev_list *disks,
                     struct v2v_error *err)
{
  guestfs_h *g = guest->g;
  CLEANUP_STRV char **devs = guestfs_list_devices (g);
  size_t nr_devs = 0, cap = 0;
  ssize_t esp = -1;
  bool need_appliance = false;

  if (devs == NULL)
    return convert_internal_gerror (g, err, "list devices", NULL);
  while (devs[nr_devs])
    nr_devs++;
  guest->nr_disks = nr_devs;

  /* Disk D is the appliance's devs[D]: both are in the order given. */
  for (size_t d = 0; d < disks->nr_disks && d < nr_devs; d++) {
    const struct blockdev_disk *disk = &disks->disks[d];

    if (disk->fstype) {
      struct guest_fs *fs = fs_push (guest, &cap);
      if (fs == NULL)
        return v2v_error_set (err, -ENOMEM, "filesystems");
      fs->device = strdup (devs[d]);
      fs->disk_index = (int) d;
      fs->fstype = strdup (disk->fstype);
      fs->uuid = dup_or_null (disk->uuid);
      fs->label = dup_or_null (disk->label);
    }
    for (size_t p = 0; p < disk->nr_partitions; p++) {
      const struct blockdev_partition *part = &disk->partitions[p];
      char dev[64];

      if (part->fstype == NULL)
        continue;
      if (strcmp (part->fstype, "LVM2_member") == 0 ||
          strcmp (part->fstype, "crypto_LUKS") == 0 ||
          strcmp (part->fstype, "BitLocker") == 0)
        need_appliance = true;
      if (strcmp (part->fstype, "swsuspend") == 0)
        return v2v_error_set (err, CONVERT_ERR_FS_STATE,
                              "%s partition %d: the guest is hibernated (a "
                              "suspend image is on its swap); boot it on EC2, "
                              "shut it down cleanly, and migrate again",
                              disk->path, part->number);
      snprintf (dev, sizeof dev, "%s%d", devs[d], part->number);
      struct guest_fs *fs = fs_push (guest, &cap);
      if (fs == NULL)
        return v2v_error_set (err, -ENOMEM, "filesystems");
      fs->device = strdup (dev);
      fs->disk_index = (int) d;
      fs->partnum = part->number;
      fs->fstype = strdup (part->fstype);
      fs->uuid = dup_or_null (part->uuid);
      fs->label = dup_or_null (part->label);
      fs->partuuid = dup_or_null (part->partuuid);
      if (part->esp)
        esp = (ssize_t) guest->nr_fs - 1;
    }
  }

  if (need_appliance) {
    CLEANUP_STRV char **fses = guestfs_list_filesystems (g);
    if (fses == NULL)
      return convert_internal_gerror (g, err, "list filesystems", NULL);
    for (size_t i = 0; fses[i]; i += 2) {
      bool known = false;
      for (size_t k = 0; k < guest->nr_fs; k++)
        known |= guest->fs[k].device &&
          strcmp (guest->fs[k].device, fses[i]) == 0;
      if (known || strncmp (fses[i], "/dev/sd", 7) == 0)
        continue;
      struct guest_fs *fs = fs_push (guest, &cap);
      if (fs == NULL)
        return v2v_error_set (err, -ENOMEM, "filesystems");
      fs->device = strdup (fses[i]);
      fs->fstype = strdup (fses[i + 1]);
      guestfs_push_error_handler (g, NULL, NULL);
      fs->uuid = guestfs_vfs_uuid (g, fs->device);
      fs->label = guestfs_vfs_label (g, fs->device);
      guestfs_pop_error_handler (g);
    }
  }
  /* Every filesystem is looked up by device and type from here on. */
  for (size_t i = 0; i < guest->nr_fs; i++)
    if (guest->fs[i].device == NULL || guest->fs[i].fstype == NULL)
      return v2v_error_set (err, -ENOMEM, "filesystems");
  /* Set last: guest->fs may have moved while it grew. */
  guest->esp = esp >= 0 ? &guest->fs[esp] : NULL;
  return 0;
}

static bool
linux_fstype (const char *t)
{
  return strcmp (t, "ext4") == 0 || strcmp (t, "ext3") == 0 ||
    strcmp (t, "ext2") == 0 || strcmp (t, "xfs") == 0 ||
    strcmp (t, "btrfs") == 0;
}

/* KEY=value or KEY="value" from os-release text.  Caller frees. */
static char *
os_release_get (const char *text, const char *key)
{
  size_t kl = strlen (key);

  for (const char *l = text; l && *l;) {
    const char *nl = strchr (l, '\n');
    if (strncmp (l, key, kl) == 0 && l[kl] == '=') {
      const char *v = l + kl + 1;
      size_t n = strcspn (v, "\n");
      if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v++;
        n -= 2;
      }
      return strndup (v, n);
    }
    l = nl ? nl + 1 : NULL;
  }
  return NULL;
}

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

struct os_candidate {
  const struct guest_fs *fs;
  char *os_release;
  bool windows;
};

/* Find the operating systems: a Linux root has /etc and an os-release
 * file; a Windows one has \Windows\System32\config.  Each candidate is
 * mounted read-only once.  (libguestfs's inspect_os does much more and
 * costs ten seconds under emulation.)  The first filesystem that would
 * not mount is described in UNMOUNTABLE (empty if none): when no OS is
 * found, it is the likely reason.
 */
static size_t
find_roots (struct guest *guest, struct os_candidate *out, size_t max,
            char *unmountable, size_t unmountable_len)
{
  guestfs_h *g = guest->g;
  size_t n = 0;

  *unmountable = '\0';

  for (size_t i = 0; i < guest->nr_fs && n < max; i++) {
    const struct guest_fs *fs = &guest->fs[i];
    bool ntfs = strcmp (fs->fstype, "ntfs") == 0;

    if (!linux_fstype (fs->fstype) && !ntfs)
      continue;
    guestfs_push_error_handler (g, NULL, NULL);
    if (guestfs_mount_ro (g, fs->device, "/") == 0) {
      if (ntfs) {
        CLEANUP_FREE char *p =
          guestfs_case_sensitive_path (g, "/windows/system32/config");
        if (p && guestfs_is_dir (g, p) > 0)
          out[n++] = (struct os_candidate) { .fs = fs, .windows = true };
      }
      else {
        char *text = NULL;
        size_t len;
        const char *osr = guestfs_is_file (g, "/etc/os-release") > 0
          ? "/etc/os-release" : "/usr/lib/os-release";
        if (guestfs_is_dir (g, "/etc") > 0 &&
            guestfs_is_file (g, osr) > 0 &&
            guestfs_filesize (g, osr) < 65536 &&
            (text = guestfs_read_file (g, osr, &len)) != NULL)
          out[n++] = (struct os_candidate) { .fs = fs, .os_release = text };
      }
      guestfs_umount_all (g);
    }
    else if (*unmountable == '\0') {
      const char *why = guestfs_last_error (g);
      snprintf (unmountable, unmountable_len,
                "%s (%s) cannot be mounted: %s",
                fs->device, fs->fstype, why ? why : "unknown error");
    }
    guestfs_pop_error_handler (g);
  }
  return n;
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
convert_internal_kernel_builtin (struct convert_ctx *ctx, const char *ver,
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
convert_internal_kernel_driver (struct convert_ctx *ctx, const char *ver,
                                const char *config, const char *module)
{
  char path[512], needle[256];

  if (convert_internal_kernel_builtin (ctx, ver, config, module))
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
  return convert_internal_kernel_driver (ctx, ver, config, module)
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
collect_kernels (struct convert_ctx *ctx, struct v2v_error *err)
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
  guest->kernels = calloc (n ? n : 1, sizeof *guest->kernels);
  if (guest->kernels == NULL)
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

    struct guest_kernel *k = &guest->kernels[guest->nr_kernels++];
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
  qsort (guest->kernels, guest->nr_kernels, sizeof *guest->kernels,
         version_cmp);

  /* The default: the newest kernel that can boot on virtio. */
  guest->default_kernel = -1;
  for (size_t i = guest->nr_kernels; i-- > 0;)
    if (guest->kernels[i].virtio_capable) {
      guest->default_kernel = (ssize_t) i;
      break;
    }
  return 0;
}

/* Pull NIC names out of one config file.  KIND picks the syntax. */
static void
nic_names_from (struct convert_ctx *ctx, const char *path, unsigned kind)
{
  CLEANUP_FREE char *data = NULL;
  CLEANUP_STRV char **lines = NULL;
  struct v2v_error ignored;
  size_t len;

  if (convert_internal_read (ctx, path, &data, &len, &ignored) < 0)
    return;
  lines = convert_internal_split_lines (data, len);
  if (lines)
    convert_internal_nic_names (lines, kind, &ctx->guest->nic_names);
}

static void
scan_dir (struct convert_ctx *ctx, const char *dir, const char *prefix,
          const char *suffix, unsigned kind)
{
  guestfs_h *g = ctx->guest->g;
  CLEANUP_STRV char **names = NULL;

  if (guestfs_is_dir (g, dir) <= 0)
    return;
  names = guestfs_ls (g, dir);
  if (names == NULL)
    return;
  for (size_t i = 0; names[i]; i++) {
    size_t nl = strlen (names[i]), sl = suffix ? strlen (suffix) : 0;
    char path[512];

    if (prefix && strncmp (names[i], prefix, strlen (prefix)) != 0)
      continue;
    if (suffix && (nl < sl || strcmp (names[i] + nl - sl, suffix) != 0))
      continue;
    /* The name, not the content, says which interface an ifcfg file is for. */
    if ((kind == NET_IFCFG || kind == NET_WICKED) && prefix &&
        convert_internal_ifname_ok (names[i] + strlen (prefix)))
      (void) strv_add_unique (&ctx->guest->nic_names, names[i] + strlen (prefix));
    snprintf (path, sizeof path, "%s/%s", dir, names[i]);
    ctx->guest->net_systems |= kind;
    nic_names_from (ctx, path, kind);
  }
}

static void
collect_network (struct convert_ctx *ctx)
{
  struct guest *guest = ctx->guest;

  if (convert_internal_is_regular (ctx, "/etc/network/interfaces")) {
    nic_names_from (ctx, "/etc/network/interfaces", NET_IFUPDOWN);
    if (guest->nic_names)
      guest->net_systems |= NET_IFUPDOWN;
    scan_dir (ctx, "/etc/network/interfaces.d", NULL, NULL, NET_IFUPDOWN);
  }
  scan_dir (ctx, "/etc/netplan", NULL, ".yaml", NET_NETPLAN);
  scan_dir (ctx, "/etc/systemd/network", NULL, ".network", NET_NETWORKD);
  scan_dir (ctx, "/etc/NetworkManager/system-connections", NULL, NULL,
            NET_NM_KEYFILE);
  scan_dir (ctx, "/etc/sysconfig/network-scripts", "ifcfg-", NULL, NET_IFCFG);
  scan_dir (ctx, "/etc/sysconfig/network", "ifcfg-", NULL, NET_WICKED);
}

static void
collect_cloud_init (struct convert_ctx *ctx)
{
  struct guest *guest = ctx->guest;
  CLEANUP_FREE char *id = NULL;
  struct v2v_error ignored;

  guest->cloud_init =
    convert_internal_exists (ctx, "/usr/bin/cloud-init") &&
    guestfs_is_dir (guest->g, "/etc/cloud") > 0;
  if (!guest->cloud_init)
    return;

  /* datasource_list: cloud.cfg, then each cloud.cfg.d .cfg in name order,
   * the last setting winning, as cloud-init merges them. */
  {
    CLEANUP_STRV char **names = NULL;
    CLEANUP_FREE char *text = NULL;
    char *ds;

    if (convert_internal_read (ctx, "/etc/cloud/cloud.cfg", &text, NULL,
                               &ignored) == 0 &&
        (ds = convert_internal_datasource_list (text)) != NULL) {
      free (guest->cloud_init_datasources);
      guest->cloud_init_datasources = ds;
    }
    guestfs_push_error_handler (guest->g, NULL, NULL);
    if (guestfs_is_dir (guest->g, "/etc/cloud/cloud.cfg.d") > 0)
      names = guestfs_ls (guest->g, "/etc/cloud/cloud.cfg.d");
    guestfs_pop_error_handler (guest->g);
    for (size_t i = 0; names && names[i]; i++) {
      char path[512];
      size_t l = strlen (names[i]);
      if (l < 4 || strcmp (names[i] + l - 4, ".cfg") != 0)
        continue;
      snprintf (path, sizeof path, "/etc/cloud/cloud.cfg.d/%s", names[i]);
      free (text);
      text = NULL;
      if (convert_internal_is_regular (ctx, path) &&
          convert_internal_read (ctx, path, &text, NULL, &ignored) == 0 &&
          (ds = convert_internal_datasource_list (text)) != NULL) {
        free (guest->cloud_init_datasources);
        guest->cloud_init_datasources = ds;
      }
    }
  }

  if (convert_internal_read (ctx, "/var/lib/cloud/data/instance-id", &id,
                             NULL, &ignored) == 0) {
    id[strcspn (id, "\r\n")] = '\0';
    /* Instance ids are written into a YAML file later: keep them plain. */
    if (*id && strspn (id, "abcdefghijklmnopqrstuvwxyz"
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == strlen (id)
        && strlen (id) < 128)
      guest->instance_id = TAKE_PTR (id);
  }
}

static void
collect_agents (struct convert_ctx *ctx)
{
  char path[512];

  for (size_t i = 0; agent_units[i]; i++)
    for (size_t d = 0; unit_dirs[d]; d++) {
      snprintf (path, sizeof path, "%s/%s", unit_dirs[d], agent_units[i]);
      if (convert_internal_is_regular (ctx, path)) {
        (void) strv_add_unique (&ctx->guest->agents, agent_units[i]);
        break;
      }
    }
}

static void
collect_boot (struct convert_ctx *ctx)
{
  struct guest *guest = ctx->guest;
  guestfs_h *g = guest->g;
  static const char *const cfgs[] = {
    "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", NULL
  };
  static const char *const mkconfigs[] = {
    "/usr/sbin/update-grub", "/usr/sbin/grub2-mkconfig",
    "/usr/sbin/grub-mkconfig", NULL
  };

  for (size_t i = 0; cfgs[i]; i++)
    if (convert_internal_is_regular (ctx, cfgs[i])) {
      guest->grub_cfg = cfgs[i];
      guest->grub2 = true;
      break;
    }
  for (size_t i = 0; mkconfigs[i]; i++)
    if (convert_internal_exists (ctx, mkconfigs[i])) {
      guest->grub_mkconfig = mkconfigs[i];
      break;
    }
  if (guestfs_is_dir (g, "/boot/loader/entries") > 0) {
    CLEANUP_STRV char **e = guestfs_ls (g, "/boot/loader/entries");
    guest->grub_bls = e && e[0];
  }
  guest->grub_legacy = !guest->grub2 &&
    (convert_internal_is_regular (ctx, "/boot/grub/menu.lst") ||
     convert_internal_is_regular (ctx, "/boot/grub/grub.conf"));

  if (convert_internal_exists (ctx, "/usr/sbin/update-initramfs"))
    guest->initramfs_tool = INITRAMFS_TOOLS;
  else if (convert_internal_exists (ctx, "/usr/bin/dracut") ||
           convert_internal_exists (ctx, "/sbin/dracut") ||
           convert_internal_exists (ctx, "/usr/sbin/dracut"))
    guest->initramfs_tool = INITRAMFS_DRACUT;
  else if (convert_internal_exists (ctx, "/sbin/mkinitrd") ||
           convert_internal_exists (ctx, "/usr/sbin/mkinitrd"))
    guest->initramfs_tool = INITRAMFS_MKINITRD;

  guest->firmware = guest->esp ? FIRMWARE_UEFI : FIRMWARE_BIOS;
  if (guest->esp) {
    for (size_t i = 0; i < guest->nr_fstab; i++)
      if (guest->fstab[i].fs == guest->esp)
        guest->esp_mountpoint = strdup (guest->fstab[i].file);
  }
  guest->selinux = file_has (ctx, "/etc/selinux/config", "SELINUX=enforcing")
    || file_has (ctx, "/etc/selinux/config", "SELINUX=permissive");
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

static int
open_luks (struct guest *guest, char *const *keys, struct v2v_error *err)
{
  guestfs_h *g = guest->g;
  /* Not list_filesystems: it leaves LUKS containers out, as it does LVM
   * PVs (libguestfs daemon/listfs.ml), so a LUKS root was never found.
   * Ask for the type of every disk and partition instead.
   */
  CLEANUP_STRV char **disks = guestfs_list_devices (g);
  CLEANUP_STRV char **parts = guestfs_list_partitions (g);
  CLEANUP_STRV char **devs = NULL;
  int opened = 0;

  if (disks == NULL || parts == NULL)
    return convert_internal_gerror (g, err, "list devices", NULL);
  for (size_t i = 0; disks[i]; i++)
    (void) strv_add_unique (&devs, disks[i]);
  for (size_t i = 0; parts[i]; i++)
    (void) strv_add_unique (&devs, parts[i]);
  for (size_t i = 0; devs && devs[i]; i++) {
    const char *dev = devs[i];
    const char *secret = NULL;
    char mapname[64];

    guestfs_push_error_handler (g, NULL, NULL);
    CLEANUP_FREE char *type = guestfs_vfs_type (g, dev);
    guestfs_pop_error_handler (g);
    if (type == NULL)
      continue;
    bool bitlk = strcmp (type, "BitLocker") == 0;
    if (!bitlk && strcmp (type, "crypto_LUKS") != 0)
      continue;
    for (size_t k = 0; keys && keys[k]; k++) {
      const char *sel = keys[k], *c = strchr (sel, ':');
      if (c == NULL || strncmp (c + 1, "key:", 4) != 0)
        continue;
      size_t n = (size_t) (c - sel);
      if ((n == 3 && strncmp (sel, "all", 3) == 0) ||
          (n == strlen (dev) && strncmp (sel, dev, n) == 0))
        secret = c + 5;
    }
    if (secret == NULL && bitlk)
      return v2v_error_set (err, CONVERT_ERR_BITLOCKER,
                            "%s is a locked BitLocker volume and no key was "
                            "given for it: pass --key %s:key:RECOVERY-KEY, or "
                            "suspend BitLocker on EC2 and migrate again",
                            dev, dev);
    if (secret == NULL)
      return v2v_error_set (err, CONVERT_ERR_LUKS_KEY,
                            "%s is LUKS-encrypted and no key was given for "
                            "it: pass --key %s:key:PASSPHRASE (or "
                            "--key all:key:PASSPHRASE)", dev, dev);
    snprintf (mapname, sizeof mapname, "luks%d", opened);
    /* The passphrase never goes into an error message. */
    guestfs_push_error_handler (g, NULL, NULL);
    int r = guestfs_cryptsetup_open (g, dev, secret, mapname,
                                     GUESTFS_CRYPTSETUP_OPEN_CRYPTTYPE,
                                     bitlk ? "bitlk" : "luks", -1);
    guestfs_pop_error_handler (g);
    if (r == -1)
      return v2v_error_set (err, bitlk ? CONVERT_ERR_BITLOCKER
                            : CONVERT_ERR_LUKS_KEY,
                            "%s: the key given for this %s device does "
                            "not open it", dev, bitlk ? "BitLocker" : "LUKS");
    opened++;
  }
  if (opened && (guestfs_lvm_scan (g, 1) == -1))
    return convert_internal_gerror (g, err, "activate LVM", NULL);
  return 0;
}

enum convert_status
convert_internal_inspect (struct guest *guest,
                          const struct blockdev_list *disks,
                          const char *root_opt, struct v2v_error *err)
{
  guestfs_h *g = guest->g;
  struct changelog none = { 0 };
  struct convert_ctx ctx = { .guest = guest, .log = &none };
  CLEANUP_FREE char *fstab = NULL;
  int r;

  r = collect_filesystems (guest, disks, err);
  if (r != 0)
    return r > 0 ? (enum convert_status) r : CONVERT_ERR_INTERNAL;

  struct os_candidate cands[16];
  char unmountable[512];
  size_t nroots = find_roots (guest, cands, 16, unmountable,
                              sizeof unmountable);
  size_t pick = 0;
  enum convert_status st = CONVERT_OK;

  /* A root on UFS (a BSD) or ZFS (a BSD, or Ubuntu's ZFS-on-root) is an
   * OS, just not one the appliance can read.
   */
  for (size_t i = 0; nroots == 0 && i < guest->nr_fs; i++) {
    const struct guest_fs *fs = &guest->fs[i];

    if (strcmp (fs->fstype, "ufs") == 0)
      return v2v_error_set (err, CONVERT_ERR_UNSUPPORTED,
                            "%s holds UFS, a BSD filesystem: FreeBSD and "
                            "other BSD guests are not supported (only "
                            "Linux and Windows)", fs->device);
    if (strcmp (fs->fstype, "zfs_member") == 0)
      return v2v_error_set (err, CONVERT_ERR_UNSUPPORTED,
                            "%s is part of a ZFS pool: guests whose root is "
                            "on ZFS (FreeBSD, or Ubuntu's ZFS-on-root) are "
                            "not supported", fs->device);
  }
  /* A root filesystem that is damaged is not "no OS": say which one,
   * and that it needs repair, not another disk.
   */
  if (nroots == 0 && *unmountable) {
    v2v_error_set (err, CONVERT_ERR_FS_STATE,
                   "no operating system found: %s; repair the filesystem "
                   "(fsck) on a copy of the volume, or migrate from an "
                   "earlier snapshot", unmountable);
    return CONVERT_ERR_FS_STATE;
  }
  if (nroots == 0) {
    v2v_error_set (err, CONVERT_ERR_NO_OS,
                   "no operating system found on %zu disk(s): no filesystem "
                   "holds /etc/os-release or \\Windows\\System32\\config",
                   guest->nr_disks);
    return CONVERT_ERR_NO_OS;
  }
  if (nroots > 1 && (root_opt == NULL || *root_opt == '\0')) {
    char list[512] = "";
    for (size_t i = 0; i < nroots; i++) {
      CLEANUP_FREE char *pn = cands[i].os_release
        ? os_release_get (cands[i].os_release, "PRETTY_NAME") : NULL;
      size_t l = strlen (list);
      snprintf (list + l, sizeof list - l, "%s%s (%s)", i ? ", " : "",
                cands[i].fs->device, cands[i].windows ? "Windows"
                : pn ? pn : "Linux");
    }
    v2v_error_set (err, CONVERT_ERR_MULTI_OS,
                   "several operating systems found: %s; choose one with "
                   "--root DEVICE (or --root first)", list);
    st = CONVERT_ERR_MULTI_OS;
    goto free_cands;
  }
  if (root_opt && *root_opt && strcmp (root_opt, "first") != 0) {
    pick = nroots;
    for (size_t i = 0; i < nroots; i++)
      if (strcmp (cands[i].fs->device, root_opt) == 0)
        pick = i;
    if (pick == nroots) {
      v2v_error_set (err, CONVERT_ERR_NO_OS,
                     "--root %s: no operating system on that device "
                     "(found: %s)", root_opt, cands[0].fs->device);
      st = CONVERT_ERR_NO_OS;
      goto free_cands;
    }
  }

  guest->root = strdup (cands[pick].fs->device);
  if (cands[pick].windows) {
    for (size_t i = 0; i < nroots; i++)
      free (cands[i].os_release);
    return convert_internal_windows_inspect (guest, err);
  }
  {
    const char *osr = cands[pick].os_release;
    CLEANUP_FREE char *id = os_release_get (osr, "ID");
    CLEANUP_FREE char *like = os_release_get (osr, "ID_LIKE");
    CLEANUP_FREE char *ver = os_release_get (osr, "VERSION_ID");
    const char *distro = distro_of (id);

    guest->type = strdup ("linux");
    guest->product = os_release_get (osr, "PRETTY_NAME");
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
free_cands:
  for (size_t i = 0; i < nroots; i++)
    free (cands[i].os_release);
  if (st != CONVERT_OK)
    return st;

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
  if (collect_kernels (&ctx, err) < 0)
    return CONVERT_ERR_INTERNAL;
  collect_boot (&ctx);
  collect_network (&ctx);
  collect_cloud_init (&ctx);
  collect_agents (&ctx);

  if (guest->default_kernel < 0) {
    bool xen = false;
    for (size_t i = 0; i < guest->nr_kernels; i++)
      xen |= guest->kernels[i].xen_pv_only;
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
                   guest->nr_kernels);
    return CONVERT_ERR_UNSUPPORTED;
  }
  if (guest->initramfs_tool == INITRAMFS_NONE) {
    v2v_error_set (err, CONVERT_ERR_UNSUPPORTED,
                   "%s: no initramfs tool (update-initramfs, dracut or "
                   "mkinitrd) in the guest", guest->root);
    return CONVERT_ERR_UNSUPPORTED;
  }
  return CONVERT_OK;
}

int
convert_internal_luks_open (struct guest *guest, char *const *keys,
                            struct v2v_error *err)
{
  return open_luks (guest, keys, err);
}

void
convert_internal_guest_free (struct guest *guest)
{
  if (guest == NULL)
    return;
  for (size_t i = 0; i < guest->nr_fs; i++) {
    free (guest->fs[i].device);
    free (guest->fs[i].fstype);
    free (guest->fs[i].uuid);
    free (guest->fs[i].label);
    free (guest->fs[i].partuuid);
  }
  free (guest->fs);
  convert_internal_fstab_free (guest);
  for (size_t i = 0; i < guest->nr_kernels; i++) {
    free (guest->kernels[i].version);
    free (guest->kernels[i].vmlinuz);
    free (guest->kernels[i].initrd);
    free (guest->kernels[i].initrd_listing);
  }
  free (guest->kernels);
  free (guest->root);
  free (guest->type);
  free (guest->distro);
  free (guest->product);
  free (guest->arch);
  free (guest->pkgfmt);
  free (guest->esp_mountpoint);
  free (guest->cloud_init_datasources);
  free (guest->instance_id);
  strv_free (guest->nic_names);
  strv_free (guest->agents);
  convert_internal_windows_free (guest->win);
  guest->win = NULL;
}

static struct json_object *
strv_json (char **v)
{
  struct json_object *a = json_object_new_array ();

  for (size_t i = 0; v && v[i]; i++)
    json_object_array_add (a, json_object_new_string (v[i]));
  return a;
}

#define ADD_STR(o, k, v) \
  json_object_object_add (o, k, (v) ? json_object_new_string (v) : NULL)

struct json_object *
convert_internal_guest_json (const struct guest *guest)
{
  static const char *const tools[] = {
    [INITRAMFS_NONE] = "none", [INITRAMFS_TOOLS] = "initramfs-tools",
    [INITRAMFS_DRACUT] = "dracut", [INITRAMFS_MKINITRD] = "mkinitrd",
  };
  static const struct { unsigned bit; const char *name; } nets[] = {
    { NET_IFUPDOWN, "ifupdown" }, { NET_NETPLAN, "netplan" },
    { NET_NETWORKD, "systemd-networkd" }, { NET_NM_KEYFILE, "networkmanager" },
    { NET_IFCFG, "ifcfg" }, { NET_WICKED, "wicked" },
  };
  struct json_object *o = json_object_new_object ();
  struct json_object *ks = json_object_new_array ();
  struct json_object *ns = json_object_new_array ();
  struct json_object *fst = json_object_new_array ();

  ADD_STR (o, "root", guest->root);
  ADD_STR (o, "type", guest->type);
  ADD_STR (o, "distro", guest->distro);
  ADD_STR (o, "product", guest->product);
  json_object_object_add (o, "major_version",
                          json_object_new_int (guest->major));
  json_object_object_add (o, "minor_version",
                          json_object_new_int (guest->minor));
  ADD_STR (o, "arch", guest->arch);
  ADD_STR (o, "package_format", guest->pkgfmt);
  ADD_STR (o, "firmware", guest->firmware == FIRMWARE_UEFI ? "uefi" : "bios");
  ADD_STR (o, "esp", guest->esp ? guest->esp->device : NULL);
  for (size_t i = 0; i < guest->nr_kernels; i++) {
    const struct guest_kernel *k = &guest->kernels[i];
    struct json_object *kj = json_object_new_object ();
    ADD_STR (kj, "version", k->version);
    ADD_STR (kj, "initrd", k->initrd);
    json_object_object_add (kj, "virtio",
                            json_object_new_boolean (k->virtio_capable));
    if (k->initrd_checked)
      json_object_object_add (kj, "initrd_has_virtio",
                              json_object_new_boolean (k->initrd_has_virtio));
    json_object_object_add (kj, "default", json_object_new_boolean
                            ((ssize_t) i == guest->default_kernel));
    json_object_array_add (ks, kj);
  }
  json_object_object_add (o, "kernels", ks);
  ADD_STR (o, "initramfs_tool", tools[guest->initramfs_tool]);
  ADD_STR (o, "bootloader", guest->grub2 ? (guest->grub_bls ? "grub2-bls"
                                                              : "grub2")
           : guest->grub_legacy ? "grub-legacy" : "unknown");
  for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
    if (guest->net_systems & nets[i].bit)
      json_object_array_add (ns, json_object_new_string (nets[i].name));
  json_object_object_add (o, "network_systems", ns);
  json_object_object_add (o, "nic_names", strv_json (guest->nic_names));
  json_object_object_add (o, "cloud_init",
                          json_object_new_boolean (guest->cloud_init));
  ADD_STR (o, "cloud_init_datasources", guest->cloud_init_datasources);
  ADD_STR (o, "instance_id", guest->instance_id);
  json_object_object_add (o, "aws_agents", strv_json (guest->agents));
  json_object_object_add (o, "selinux", json_object_new_boolean (guest->selinux));
  for (size_t i = 0; i < guest->nr_fstab; i++) {
    struct json_object *e = json_object_new_object ();
    ADD_STR (e, "spec", guest->fstab[i].spec);
    ADD_STR (e, "mountpoint", guest->fstab[i].file);
    ADD_STR (e, "resolved", guest->fstab[i].fs ? guest->fstab[i].fs->device
                                               : NULL);
    json_object_array_add (fst, e);
  }
  json_object_object_add (o, "fstab", fst);
  if (guest->win)
    convert_internal_windows_guest_json (guest, o);
  return o;
}
