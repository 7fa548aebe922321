/* fstab and crypttab: EC2 device names (nvme*, xvd*, sd*, hd*, vd*) do not
 * exist on KubeVirt, where the disks are /dev/vdX.  Rewrite them to UUID=
 * (or PARTUUID=/LABEL= where there is no UUID).  Entries for disks that
 * were not migrated -- instance store -- are commented out, since even a
 * nofail mount would hold boot up for the device timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

#define INSTANCE_STORE_COMMENT "# v2v-kubevirt: instance store, not migrated: "

static bool
fstab_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  const struct guest *guest = ctx->guest;
  size_t rewrite = 0, drop = 0;

  for (size_t i = 0; i < guest->nr_fstab; i++)
    if (convert_internal_is_device_path (guest->fstab[i].spec)) {
      if (guest->fstab[i].fs)
        rewrite++;
      else
        drop++;
    }
  if (rewrite + drop == 0) {
    snprintf (why, whylen, "/etc/fstab uses no EC2 device names");
    return false;
  }
  snprintf (why, whylen, "/etc/fstab: %zu device path(s) to rewrite to "
            "stable names, %zu instance-store entr%s to comment out",
            rewrite, drop, drop == 1 ? "y" : "ies");
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

static char *
fstab_line (const char *line, void *opaque)
{
  struct convert_ctx *ctx = opaque;
  const struct guest *guest = ctx->guest;
  size_t lead = strspn (line, " \t");
  size_t flen = strcspn (line + lead, " \t");
  char spec[512];

  if (line[lead] == '#' || flen == 0 || flen >= sizeof spec)
    return NULL;
  memcpy (spec, line + lead, flen);
  spec[flen] = '\0';
  if (!convert_internal_is_device_path (spec))
    return NULL;

  const struct guest_fs *fs = convert_internal_resolve_spec (guest, spec);
  if (fs == NULL) {
    char *out = NULL;
    convert_internal_warn (ctx, "/etc/fstab: %s is not on any migrated "
                           "disk (instance store?); its entry is commented "
                           "out", spec);
    return asprintf (&out, INSTANCE_STORE_COMMENT "%s", line) < 0 ? NULL : out;
  }
  CLEANUP_FREE char *stable = convert_internal_stable_spec (fs);
  if (stable == NULL) {
    convert_internal_warn (ctx, "/etc/fstab: %s (%s) has no UUID, PARTUUID "
                           "or LABEL; left as it is", spec, fs->device);
    return NULL;
  }
  return replace_first_field (line, stable);
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
  if (fs == NULL)
    return NULL;
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
