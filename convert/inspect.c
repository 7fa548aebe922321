/* Build the guest model's common part: the filesystems, LUKS, the root
 * and with it the OS family, which inspects the rest (linux/inspect.c,
 * windows/inspect.c).  Reads only; nothing here writes to the guest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockdev.h"
#include "internal.h"
#include "report.h"

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
      fs->disk_index = (int) disk->index;
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
      fs->disk_index = (int) disk->index;
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
        ? convert_internal_os_release_get (cands[i].os_release, "PRETTY_NAME") : NULL;
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

  /* The one place the OS family is chosen: everything family-specific
   * is reached through guest->os from here on. */
  guest->root = strdup (cands[pick].fs->device);
  guest->os = cands[pick].windows ? &convert_internal_os_windows
                                  : &convert_internal_os_linux;
  if (guest->root == NULL) {
    v2v_error_set (err, -ENOMEM, "root");
    st = CONVERT_ERR_INTERNAL;
  }
  else
    st = guest->os->inspect (guest, cands[pick].os_release, err);
free_cands:
  for (size_t i = 0; i < nroots; i++)
    free (cands[i].os_release);
  return st;
}

int
convert_internal_luks_open (struct guest *guest, char *const *keys,
                            struct v2v_error *err)
{
  return open_luks (guest, keys, err);
}

void
convert_internal_facts_gather (struct convert_ctx *ctx)
{
  struct guest *guest = ctx->guest;
  const struct convert_facts *const *f = guest->os->facts;

  for (size_t i = 0; f && f[i] && i < CONVERT_FACTS_MAX; i++)
    guest->facts[i] = f[i]->gather (ctx);
}

const void *
convert_internal_facts (const struct guest *guest,
                        const struct convert_facts *f)
{
  const struct convert_facts *const *all = guest->os ? guest->os->facts
                                                     : NULL;

  for (size_t i = 0; all && all[i] && i < CONVERT_FACTS_MAX; i++)
    if (all[i] == f)
      return guest->facts[i];
  return NULL;
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
  free (guest->root);
  free (guest->type);
  free (guest->distro);
  free (guest->product);
  free (guest->arch);
  free (guest->pkgfmt);
  if (guest->os) {
    const struct convert_facts *const *f = guest->os->facts;
    for (size_t i = 0; f && f[i] && i < CONVERT_FACTS_MAX; i++) {
      f[i]->free (guest->facts[i]);
      guest->facts[i] = NULL;
    }
    guest->os->free (guest);
  }
  guest->os_data = NULL;
  guest->os = NULL;
}

#define ADD_STR(o, k, v) \
  json_object_object_add (o, k, (v) ? json_object_new_string (v) : NULL)

/* The report's guest section has the same keys for every guest (the
 * Linux ones empty on Windows), in this order; each family and each
 * step's facts then replace the values they know (json-c keeps a
 * replaced key in its place).
 */
static void
guest_json_skeleton (struct json_object *o)
{
  json_object_object_add (o, "kernels", json_object_new_array ());
  json_object_object_add (o, "initramfs_tool", json_object_new_string ("none"));
  json_object_object_add (o, "bootloader", json_object_new_string ("unknown"));
  json_object_object_add (o, "network_systems", json_object_new_array ());
  json_object_object_add (o, "nic_names", json_object_new_array ());
  json_object_object_add (o, "cloud_init", json_object_new_boolean (false));
  json_object_object_add (o, "cloud_init_datasources", NULL);
  json_object_object_add (o, "instance_id", NULL);
  json_object_object_add (o, "aws_agents", json_object_new_array ());
  json_object_object_add (o, "selinux", json_object_new_boolean (false));
}

struct json_object *
convert_internal_guest_json (const struct guest *guest)
{
  struct json_object *o = json_object_new_object ();
  struct json_object *fst = json_object_new_array ();

  ADD_STR (o, CONVERT_REPORT_GUEST_ROOT, guest->root);
  ADD_STR (o, CONVERT_REPORT_GUEST_TYPE, guest->type);
  ADD_STR (o, CONVERT_REPORT_GUEST_DISTRO, guest->distro);
  ADD_STR (o, CONVERT_REPORT_GUEST_PRODUCT, guest->product);
  json_object_object_add (o, CONVERT_REPORT_GUEST_MAJOR,
                          json_object_new_int (guest->major));
  json_object_object_add (o, CONVERT_REPORT_GUEST_MINOR,
                          json_object_new_int (guest->minor));
  ADD_STR (o, CONVERT_REPORT_GUEST_ARCH, guest->arch);
  ADD_STR (o, CONVERT_REPORT_GUEST_PACKAGE_FORMAT, guest->pkgfmt);
  ADD_STR (o, CONVERT_REPORT_GUEST_FIRMWARE,
           guest->firmware == FIRMWARE_UEFI ? "uefi" : "bios");
  ADD_STR (o, "esp", guest->esp ? guest->esp->device : NULL);
  guest_json_skeleton (o);
  for (size_t i = 0; i < guest->nr_fstab; i++) {
    struct json_object *e = json_object_new_object ();
    ADD_STR (e, "spec", guest->fstab[i].spec);
    ADD_STR (e, CONVERT_REPORT_FSTAB_MOUNTPOINT, guest->fstab[i].file);
    ADD_STR (e, CONVERT_REPORT_FSTAB_RESOLVED,
             guest->fstab[i].fs ? guest->fstab[i].fs->device
                                               : NULL);
    json_object_array_add (fst, e);
  }
  json_object_object_add (o, CONVERT_REPORT_GUEST_FSTAB, fst);
  if (guest->os) {
    const struct convert_facts *const *f = guest->os->facts;
    guest->os->guest_json (guest, o);
    for (size_t i = 0; f && f[i] && i < CONVERT_FACTS_MAX; i++)
      f[i]->json (guest->facts[i], o);
  }
  return o;
}
