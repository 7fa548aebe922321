/* Time sync: the Amazon Time Sync Service (169.254.169.123, fd00:ec2::123)
 * is link-local to EC2.  Comment it out of chrony/ntp config; if no
 * server is left, add the distribution's default pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

static const char *const conf_files[] = {
  "/etc/chrony/chrony.conf", "/etc/chrony.conf", "/etc/ntp.conf",
  "/etc/chrony.d/ntp-pool.sources", "/etc/chrony/sources.d/aws.sources",
  "/etc/chrony.d/link-local.sources", NULL
};

static bool
timesync_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  for (size_t i = 0; conf_files[i]; i++) {
    CLEANUP_FREE char *data = NULL;
    struct v2v_error ignored;
    if (!convert_internal_is_regular (ctx, conf_files[i]) ||
        convert_internal_read (ctx, conf_files[i], &data, NULL, &ignored) < 0)
      continue;
    CLEANUP_STRV char **lines = convert_internal_split_lines (data,
                                                             strlen (data));
    for (size_t k = 0; lines && lines[k]; k++)
      if (convert_internal_ec2_time_source (lines[k])) {
        snprintf (why, whylen, "%s uses the Amazon Time Sync Service",
                  conf_files[i]);
        return true;
      }
  }
  snprintf (why, whylen, "no Amazon Time Sync Service in chrony/ntp config");
  return false;
}

struct tctx { struct convert_ctx *ctx; size_t left; };

static char *
time_line (const char *line, void *opaque)
{
  struct tctx *t = opaque;
  char *out = NULL;

  if (convert_internal_ec2_time_source (line))
    return asprintf (&out, "#%s  # v2v-kubevirt: EC2-only time source",
                     line) < 0 ? NULL : out;
  if (convert_internal_time_source (line))
    t->left++;
  return NULL;
}

static const char *
default_pool (enum guest_family f)
{
  switch (f) {
  case FAMILY_UBUNTU: return "pool ntp.ubuntu.com iburst maxsources 4";
  case FAMILY_RHEL:   return "pool 2.rhel.pool.ntp.org iburst";
  case FAMILY_AMZN:   return "pool 2.amazon.pool.ntp.org iburst";
  case FAMILY_SUSE:   return "pool 2.suse.pool.ntp.org iburst";
  default:            return "pool 2.debian.pool.ntp.org iburst";
  }
}

static int
timesync_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  for (size_t i = 0; conf_files[i]; i++) {
    struct tctx t = { ctx, 0 };
    bool changed = false;
    int r;

    if (!convert_internal_is_regular (ctx, conf_files[i]))
      continue;
    r = convert_internal_edit_lines (ctx, conf_files[i], time_line, &t,
                                     "the Amazon Time Sync Service is only "
                                     "reachable on EC2", &changed, err);
    if (r < 0)
      return r;
    /* Only main config files get a pool: a sources file that is now
     * empty is fine on its own. */
    if (changed && t.left == 0 && strstr (conf_files[i], ".conf")) {
      CLEANUP_FREE char *data = NULL, *out = NULL;
      if ((r = convert_internal_read (ctx, conf_files[i], &data, NULL,
                                      err)) < 0)
        return r;
      if (asprintf (&out, "%s# Added by v2v-kubevirt: the distribution's "
                    "default pool.\n%s\n", data,
                    default_pool (ctx->guest->family)) < 0)
        return v2v_error_set (err, -ENOMEM, "%s", conf_files[i]);
      if ((r = convert_internal_write (ctx, conf_files[i], out, strlen (out),
                                       "no time source was left", err)) < 0)
        return r;
    }
  }
  return 0;
}

const struct convert_step convert_step_timesync = {
  .name = "timesync",
  .applies = timesync_applies,
  .apply = timesync_apply,
};
