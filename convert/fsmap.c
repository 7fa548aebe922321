/* Map the guest's /etc/fstab onto the filesystems the appliance sees.
 *
 * libguestfs's own inspection guesses what "/dev/nvme0n1p1" or
 * "/dev/xvda1" mean and, in virt-v2v 2.2, fails on Nitro layouts with
 * "mount: /dev/nvme0n1p1: No such file or directory".  We resolve each
 * spec ourselves: UUID=, LABEL=, PARTUUID= against the probed filesystems,
 * and EC2 device names through the device map (devmap.c), never by
 * position: /dev/xvdf is a name in the block device mapping, not the
 * sixth disk.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

bool
convert_internal_is_device_path (const char *spec)
{
  struct devmap_ident id;

  return convert_internal_devmap_ident (spec, &id) != IDENT_NONE;
}

/* The disk the root volume is on: where the root filesystem is, or the
 * first disk when root is on LVM (the root volume is attached first).
 */
static int
root_disk (const struct guest *guest)
{
  for (size_t i = 0; guest->root && i < guest->nr_fs; i++)
    if (strcmp (guest->fs[i].device, guest->root) == 0 &&
        guest->fs[i].disk_index >= 0)
      return guest->fs[i].disk_index;
  return 0;
}

const struct guest_fs *
convert_internal_place_spec (const struct guest *guest, const char *spec,
                             struct convert_placement *ret)
{
  if (convert_internal_devmap_place (guest->devmap, root_disk (guest), spec,
                                     ret) != PLACE_DISK)
    return NULL;
  for (size_t i = 0; i < guest->nr_fs; i++)
    if (guest->fs[i].disk_index == ret->disk &&
        guest->fs[i].partnum == ret->part)
      return &guest->fs[i];
  return NULL;
}

static bool
eq_ci (const char *a, const char *b)
{
  return a && b && strcasecmp (a, b) == 0;
}

/* KEY="VALUE" (util-linux and systemd accept the quotes) as KEY=VALUE.
 * Returns SPEC itself when there is nothing to unquote.
 */
static const char *
unquote_spec (const char *spec, char *buf, size_t len)
{
  const char *eq = strchr (spec, '=');
  size_t vlen;

  if (eq == NULL || (eq[1] != '"' && eq[1] != '\''))
    return spec;
  vlen = strlen (eq + 1);
  if (vlen < 2 || eq[vlen] != eq[1] ||
      (size_t) (eq - spec) + vlen >= len)
    return spec;
  snprintf (buf, len, "%.*s%.*s", (int) (eq - spec + 1), spec,
            (int) vlen - 2, eq + 2);
  return buf;
}

const struct guest_fs *
convert_internal_resolve_spec (const struct guest *guest, const char *spec)
{
  char unquoted[512];
  struct convert_placement pl;

  spec = unquote_spec (spec, unquoted, sizeof unquoted);
  for (size_t i = 0; i < guest->nr_fs; i++) {
    const struct guest_fs *fs = &guest->fs[i];

    if (strncmp (spec, "UUID=", 5) == 0 && eq_ci (fs->uuid, spec + 5))
      return fs;
    if (strncmp (spec, "LABEL=", 6) == 0 && fs->label &&
        strcmp (fs->label, spec + 6) == 0)
      return fs;
    if (strncmp (spec, "PARTUUID=", 9) == 0 && eq_ci (fs->partuuid, spec + 9))
      return fs;
    if (strncmp (spec, "/dev/disk/by-uuid/", 18) == 0 &&
        eq_ci (fs->uuid, spec + 18))
      return fs;
    if (strncmp (spec, "/dev/disk/by-label/", 19) == 0 && fs->label &&
        strcmp (fs->label, spec + 19) == 0)
      return fs;
    if (strncmp (spec, "/dev/disk/by-partuuid/", 22) == 0 &&
        eq_ci (fs->partuuid, spec + 22))
      return fs;
    /* An LV path, /dev/VG/LV.  Never an EC2 name: the appliance's
     * /dev/sdb is disk 1, which the guest's /dev/sdb need not be. */
    if (strcmp (spec, fs->device) == 0 &&
        !convert_internal_is_device_path (spec))
      return fs;
  }

  return convert_internal_place_spec (guest, spec, &pl);
}

/* The spec we rewrite a device path to: UUID= where there is one, else
 * PARTUUID=, else LABEL=.  Caller frees.  NULL if none exists.
 */
char *
convert_internal_stable_spec (const struct guest_fs *fs)
{
  char *s = NULL;

  if (fs->uuid && *fs->uuid)
    return asprintf (&s, "UUID=%s", fs->uuid) < 0 ? NULL : s;
  if (fs->partuuid && *fs->partuuid)
    return asprintf (&s, "PARTUUID=%s", fs->partuuid) < 0 ? NULL : s;
  if (fs->label && *fs->label)
    return asprintf (&s, "LABEL=%s", fs->label) < 0 ? NULL : s;
  return NULL;
}

void
convert_internal_fstab_free (struct guest *guest)
{
  for (size_t i = 0; i < guest->nr_fstab; i++) {
    struct fstab_entry *e = &guest->fstab[i];
    free (e->spec);
    free (e->file);
    free (e->vfstype);
    free (e->opts);
    free (e->rest);
  }
  free (guest->fstab);
  guest->fstab = NULL;
  guest->nr_fstab = 0;
}

int
convert_internal_fstab_parse (struct guest *guest, const char *text,
                              struct v2v_error *err)
{
  CLEANUP_STRV char **lines = convert_internal_split_lines (text,
                                                            strlen (text));
  size_t n = 0;

  if (lines == NULL)
    return v2v_error_set (err, -ENOMEM, "parse /etc/fstab");
  convert_internal_fstab_free (guest);
  for (size_t i = 0; lines[i]; i++)
    n++;
  guest->fstab = calloc (n ? n : 1, sizeof *guest->fstab);
  if (guest->fstab == NULL)
    return v2v_error_set (err, -ENOMEM, "parse /etc/fstab");

  for (size_t i = 0; lines[i]; i++) {
    char *fields[4] = { NULL };
    const char *p = lines[i];
    size_t nf = 0;

    while (isspace ((unsigned char) *p))
      p++;
    if (*p == '#' || *p == '\0')
      continue;
    while (nf < 4 && *p) {
      const char *start = p;
      while (*p && !isspace ((unsigned char) *p))
        p++;
      fields[nf++] = strndup (start, (size_t) (p - start));
      while (isspace ((unsigned char) *p))
        p++;
    }
    if (nf < 3) {
      for (size_t k = 0; k < nf; k++)
        free (fields[k]);
      continue;                 /* malformed: mount(8) ignores it too */
    }
    struct fstab_entry *e = &guest->fstab[guest->nr_fstab++];
    e->spec = fields[0];
    e->file = fields[1];
    e->vfstype = fields[2];
    e->opts = fields[3] ? fields[3] : strdup ("defaults");
    e->rest = strdup (p);
    e->line = i;
    e->fs = convert_internal_resolve_spec (guest, e->spec);
  }
  return 0;
}

static int
depth (const char *path)
{
  int d = 0;

  for (; *path; path++)
    if (*path == '/')
      d++;
  return d;
}

/* Mount root, then every fstab filesystem we could resolve that a boot
 * needs (/boot, /boot/efi, /usr, /var...), shallowest first.
 */
int
convert_internal_mount_all (struct guest *guest, struct v2v_error *err)
{
  guestfs_h *g = guest->g;
  const char *mopts = guest->readonly ? "ro" : "";

  if (guestfs_mount_options (g, mopts, guest->root, "/") == -1)
    return convert_internal_gerror (g, err, "mount", guest->root);

  for (int d = 1; d < 8; d++) {
    for (size_t i = 0; i < guest->nr_fstab; i++) {
      const struct fstab_entry *e = &guest->fstab[i];

      if (e->fs == NULL || e->file[0] != '/' || strcmp (e->file, "/") == 0 ||
          depth (e->file) != d || strcmp (e->vfstype, "swap") == 0 ||
          strcmp (e->fs->device, guest->root) == 0)
        continue;
      if (strcmp (e->fs->fstype, "unknown") == 0 ||
          strcmp (e->fs->fstype, "swap") == 0)
        continue;
      if (guestfs_is_dir (g, e->file) <= 0)
        continue;               /* a symlink or missing mount point */
      if (guestfs_mount_options (g, mopts, e->fs->device, e->file) == -1) {
        /* Not fatal: conversion can still proceed on root; the report
         * carries the reason. */
        continue;
      }
    }
  }
  return 0;
}
