/* fstab and crypttab: EC2 device names (nvme*, xvd*, sd*, hd*, vd*, EBS
 * by-id and Xen by-path names) do not exist on KubeVirt, where the disks
 * are /dev/vdX.  Rewrite them to UUID= (or PARTUUID=/LABEL= where there is
 * no UUID), placed through the device map (devmap.c).
 *
 * An entry nothing places -- no map entry, or a UUID= on no disk being
 * converted -- is never dropped nor guessed at: it gets nofail and a
 * short device timeout, and the report names it, so the guest boots and
 * the entry mounts once its disk is there.  Commenting it out would let
 * an application write to the root filesystem in its place unnoticed.
 * Instance store (only where the map says ephemeralN) becomes the VM's
 * scratch disk, found by its serial and formatted at first boot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

/* How long boot waits for a device that may not come; systemd's default
 * is 90 s. */
#define UNPLACED_OPTIONS "nofail,x-systemd.device-timeout=10s"
/* The scratch disk does come (the map said the VM has it), but under load
 * udev may name it long after the mount was queued: a short device
 * timeout there loses the mount (seen under TCG: udevd started 11 s after
 * the 10 s ran out), so it keeps systemd's default wait.
 */
#define SCRATCH_OPTIONS "nofail"

/* What to do with one fstab spec. */
enum fstab_action { FSTAB_KEEP, FSTAB_STABLE, FSTAB_NOFAIL, FSTAB_SCRATCH };

static bool
has_option (const char *opts, const char *opt)
{
  size_t l = strlen (opt);

  for (const char *p = opts; p && *p;) {
    size_t n = strcspn (p, ",");
    if (n >= l && strncmp (p, opt, l) == 0 && (n == l || p[l] == '='))
      return true;
    p += n + (p[n] == ',');
  }
  return false;
}

/* Pseudo and network filesystems: their spec names no disk. */
static bool
names_a_disk (const char *spec, const char *vfstype)
{
  static const char *const virtual[] = {
    "tmpfs", "proc", "sysfs", "devpts", "devtmpfs", "nfs", "nfs4", "cifs",
    "smb3", "efs", "lustre", "fuse", "fuse.sshfs", "none", "bind", "overlay",
    "9p", "virtiofs", "cgroup", "cgroup2", "debugfs", "securityfs", "mqueue",
    "hugetlbfs", "binfmt_misc", "configfs", "tracefs", NULL
  };

  for (size_t i = 0; virtual[i]; i++)
    if (strcmp (vfstype, virtual[i]) == 0)
      return false;
  return strncmp (spec, "UUID=", 5) == 0 || strncmp (spec, "LABEL=", 6) == 0 ||
    strncmp (spec, "PARTUUID=", 9) == 0 ||
    strncmp (spec, "/dev/disk/by-uuid/", 18) == 0 ||
    strncmp (spec, "/dev/disk/by-label/", 19) == 0 ||
    strncmp (spec, "/dev/disk/by-partuuid/", 22) == 0;
}

/* What the fstab step does with an entry, and where it is. */
static enum fstab_action
fstab_action (const struct guest *guest, const char *spec, const char *file,
              const char *vfstype, const char *opts,
              const struct guest_fs **ret_fs, struct convert_placement *pl)
{
  *ret_fs = NULL;
  if (!convert_internal_is_device_path (spec)) {
    /* A UUID= or LABEL= on no disk being converted: a data volume that
     * was left behind.  Without nofail its mount fails the boot. */
    if (names_a_disk (spec, vfstype) &&
        convert_internal_resolve_spec (guest, spec) == NULL &&
        !has_option (opts, "nofail") && !has_option (opts, "noauto"))
      return FSTAB_NOFAIL;
    return FSTAB_KEEP;
  }
  *ret_fs = convert_internal_place_spec (guest, spec, pl);
  if (*ret_fs)
    return FSTAB_STABLE;
  if (pl->kind == PLACE_EPHEMERAL)
    return FSTAB_SCRATCH;
  /* The root volume is found by its content: whatever the name. */
  if (strcmp (file, "/") == 0 && guest->root) {
    for (size_t i = 0; i < guest->nr_fs; i++)
      if (strcmp (guest->fs[i].device, guest->root) == 0) {
        *ret_fs = &guest->fs[i];
        return FSTAB_STABLE;
      }
  }
  if (has_option (opts, "nofail") && has_option (opts, "x-systemd.device-timeout"))
    return FSTAB_KEEP;
  return FSTAB_NOFAIL;
}

static bool
fstab_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  const struct guest *guest = ctx->guest;
  size_t count[4] = { 0 };

  for (size_t i = 0; i < guest->nr_fstab; i++) {
    const struct fstab_entry *e = &guest->fstab[i];
    const struct guest_fs *fs;
    struct convert_placement pl;

    count[fstab_action (guest, e->spec, e->file, e->vfstype, e->opts, &fs,
                        &pl)]++;
  }
  if (count[FSTAB_STABLE] + count[FSTAB_NOFAIL] + count[FSTAB_SCRATCH] == 0) {
    snprintf (why, whylen, "/etc/fstab uses no EC2 device names");
    return false;
  }
  snprintf (why, whylen, "/etc/fstab: %zu device name(s) to rewrite to "
            "stable names, %zu entr%s on no converted disk to make nofail, "
            "%zu instance-store entr%s to put on a scratch disk",
            count[FSTAB_STABLE], count[FSTAB_NOFAIL],
            count[FSTAB_NOFAIL] == 1 ? "y" : "ies", count[FSTAB_SCRATCH],
            count[FSTAB_SCRATCH] == 1 ? "y" : "ies");
  return true;
}

/* Replace the first whitespace-delimited field of LINE (the spec). */
static char *
replace_first_field (const char *line, const char *spec)
{
  size_t lead = strspn (line, " \t");
  size_t flen = strcspn (line + lead, " \t");
  char *out = NULL;

  if (asprintf (&out, "%.*s%s%s", (int) lead, line, spec,
                line + lead + flen) < 0)
    return NULL;
  return out;
}

/* Fields of an fstab line: offset and length of each of the first four
 * (length 0 where missing).  Returns how many there are. */
static size_t
split_fields (const char *line, size_t off[4], size_t len[4])
{
  size_t n = 0, p = 0;

  while (n < 4) {
    p += strspn (line + p, " \t");
    if (line[p] == '\0')
      break;
    off[n] = p;
    len[n] = strcspn (line + p, " \t");
    p += len[n];
    n++;
  }
  for (size_t i = n; i < 4; i++)
    off[i] = p, len[i] = 0;
  return n;
}

/* LINE with its spec replaced by SPEC (unless NULL) and ADD appended to
 * its options (each option not already there).  Caller frees. */
static char *
rewrite_entry (const char *line, const char *spec, const char *add)
{
  size_t off[4], len[4];
  size_t nf = split_fields (line, off, len);
  CLEANUP_FREE char *opts = NULL;
  char *out = NULL;

  if (nf < 3)
    return NULL;
  if (nf == 4 && strncmp (line + off[3], "defaults", len[3]) != 0)
    opts = strndup (line + off[3], len[3]);
  else
    opts = strdup ("defaults");
  if (opts == NULL)
    return NULL;
  for (const char *a = add; a && *a;) {
    size_t n = strcspn (a, ",");
    char one[128];
    snprintf (one, sizeof one, "%.*s", (int) n, a);
    if (!has_option (opts, strncmp (one, "x-systemd.device-timeout", 24) == 0
                     ? "x-systemd.device-timeout" : one)) {
      char *o = NULL;
      if (asprintf (&o, "%s,%s", opts, one) < 0)
        return NULL;
      free (opts);
      opts = o;
    }
    a += n + (a[n] == ',');
  }
  const char *sp = spec ? spec : line + off[0];
  int splen = spec ? (int) strlen (spec) : (int) len[0];
  const char *mid = line + off[0] + len[0];
  if (nf == 4)
    return asprintf (&out, "%.*s%.*s%.*s%s%s", (int) off[0], line, splen, sp,
                     (int) (off[3] - off[0] - len[0]), mid, opts,
                     line + off[3] + len[3]) < 0 ? NULL : out;
  return asprintf (&out, "%.*s%.*s%s %s", (int) off[0], line, splen, sp, mid,
                   opts) < 0 ? NULL : out;
}

static char *
fstab_line (const char *line, void *opaque)
{
  struct convert_ctx *ctx = opaque;
  const struct guest *guest = ctx->guest;
  size_t off[4], len[4];
  char spec[512], file[512], vfstype[64], opts[1024];
  const struct guest_fs *fs;
  struct convert_placement pl;

  if (line[strspn (line, " \t")] == '#' ||
      split_fields (line, off, len) < 3 || len[0] >= sizeof spec ||
      len[1] >= sizeof file || len[2] >= sizeof vfstype ||
      len[3] >= sizeof opts)
    return NULL;
  snprintf (spec, sizeof spec, "%.*s", (int) len[0], line + off[0]);
  snprintf (file, sizeof file, "%.*s", (int) len[1], line + off[1]);
  snprintf (vfstype, sizeof vfstype, "%.*s", (int) len[2], line + off[2]);
  snprintf (opts, sizeof opts, "%.*s", (int) len[3], line + off[3]);

  switch (fstab_action (guest, spec, file, vfstype, opts, &fs, &pl)) {
  case FSTAB_KEEP:
    return NULL;
  case FSTAB_STABLE: {
    CLEANUP_FREE char *stable = convert_internal_stable_spec (fs);
    if (stable == NULL) {
      convert_internal_warn (ctx, "/etc/fstab: %s (%s) has no UUID, PARTUUID "
                             "or LABEL; left as it is", spec, fs->device);
      return NULL;
    }
    return replace_first_field (line, stable);
  }
  case FSTAB_SCRATCH: {
    /* KubeVirt's emptyDisk carries the serial ephemeralN (the orchestrator
     * sets it; docs/orchestrator.md), which udev names by-id. */
    char dev[96];
    bool whole = pl.part == 0 && strcmp (vfstype, "auto") != 0;
    if (pl.part)
      snprintf (dev, sizeof dev, "/dev/disk/by-id/virtio-ephemeral%d-part%d",
                pl.ephemeral, pl.part);
    else
      snprintf (dev, sizeof dev, "/dev/disk/by-id/virtio-ephemeral%d",
                pl.ephemeral);
    convert_internal_warn (ctx, "/etc/fstab: %s (%s) is instance store "
                           "ephemeral%d: it is kept on the VM's empty scratch "
                           "disk %s (nofail%s), its data is not migrated",
                           spec, file, pl.ephemeral, dev,
                           whole ? ", formatted at first boot" : "");
    return rewrite_entry (line, dev, whole ? SCRATCH_OPTIONS
                          ",x-systemd.makefs" : SCRATCH_OPTIONS);
  }
  case FSTAB_NOFAIL:
    if (convert_internal_is_device_path (spec))
      convert_internal_warn (ctx, "/etc/fstab: %s (%s) is on no disk being "
                             "converted%s: kept with nofail so the guest "
                             "boots without it; if it is a data volume, give "
                             "its disk to the conversion and name it "
                             "(--disk-name INDEX=%s)", spec, file,
                             guest->devmap ? " and the device map does not "
                             "name it" : " and no device map names it", spec);
    else
      convert_internal_warn (ctx, "/etc/fstab: %s (%s) is on no disk being "
                             "converted: kept with nofail so the guest boots "
                             "without it", spec, file);
    return rewrite_entry (line, NULL, UNPLACED_OPTIONS);
  }
  return NULL;
}

/* crypttab: the second field is the device. */
static char *
crypttab_line (const char *line, void *opaque)
{
  struct convert_ctx *ctx = opaque;
  char name[256], dev[512];
  int off = 0;

  if (line[strspn (line, " \t")] == '#' ||
      sscanf (line, " %255s %511s%n", name, dev, &off) != 2 ||
      !convert_internal_is_device_path (dev))
    return NULL;
  const struct guest_fs *fs = convert_internal_resolve_spec (ctx->guest, dev);
  if (fs == NULL) {
    convert_internal_warn (ctx, "/etc/crypttab: %s (%s) is on no disk being "
                           "converted and no device map names it; left as "
                           "it is (give its disk to the conversion with "
                           "--disk-name INDEX=%s)", dev, name, dev);
    return NULL;
  }
  CLEANUP_FREE char *stable = convert_internal_stable_spec (fs);
  char *out = NULL;
  if (stable == NULL ||
      asprintf (&out, "%s %s%s", name, stable, line + off) < 0)
    return NULL;
  return out;
}

static int
fstab_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  int r;

  r = convert_internal_edit_lines (ctx, "/etc/fstab", fstab_line, ctx,
                                   "EC2 device names do not exist on "
                                   "KubeVirt (virtio disks are /dev/vdX)",
                                   NULL, err);
  if (r < 0)
    return r;
  if (convert_internal_is_regular (ctx, "/etc/crypttab"))
    r = convert_internal_edit_lines (ctx, "/etc/crypttab", crypttab_line, ctx,
                                     "EC2 device names do not exist on "
                                     "KubeVirt", NULL, err);
  return r;
}

const struct convert_step convert_step_fstab = {
  .name = "fstab",
  .compat_fix = true,
  .applies = fstab_applies,
  .apply = fstab_apply,
};
