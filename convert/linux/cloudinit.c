/* cloud-init: on KubeVirt there is no EC2 metadata service; the VM gets
 * NoCloud or ConfigDrive.  A drop-in (never the distro's own files) points
 * cloud-init there.  To keep the instance identity -- so per-instance
 * modules do not run again, SSH host keys stay and users are not
 * re-created -- a local NoCloud seed carries the previous instance-id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../internal.h"

/* cloud.cfg.d is merged in lexical order, the last file winning, and
 * images ship their own datasource_list late: the phony RHEL (like some
 * real images) has 99_ec2.cfg, which sorts after "99-..." ('-' < '_' in
 * cloud-init's Python sort and in ds-identify's C-locale glob).  "zz-"
 * sorts after every numbered name in any collation.
 */
#define DROPIN "/etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg"
#define SEED   "/var/lib/cloud/seed/nocloud"

static bool
cloudinit_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  if (!ctx->guest->cloud_init) {
    snprintf (why, whylen, "cloud-init is not installed");
    return false;
  }
  if (ctx->opts->cloud_init == CONVERT_CI_KEEP) {
    snprintf (why, whylen, "--cloud-init=keep");
    return false;
  }
  snprintf (why, whylen, "cloud-init would look for the EC2 metadata "
            "service");
  return true;
}

static int
cloudinit_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  static const char dropin[] =
    "# Written by v2v-kubevirt: KubeVirt provides NoCloud or ConfigDrive,\n"
    "# never the EC2 metadata service.\n"
    "datasource_list: [ NoCloud, ConfigDrive, None ]\n";
  static const char user_data[] = "#cloud-config\n{}\n";
  const struct guest *guest = ctx->guest;
  CLEANUP_FREE char *meta = NULL;
  char newid[64];
  int r;

  if (ctx->opts->cloud_init == CONVERT_CI_DISABLE)
    return convert_internal_write (ctx, "/etc/cloud/cloud-init.disabled",
                                   "", 0, "--cloud-init=disable", err);

  r = convert_internal_write (ctx, DROPIN, dropin, sizeof dropin - 1,
                              "look for KubeVirt's datasources instead of "
                              "EC2's", err);
  if (r < 0)
    return r;

  const char *id = guest->instance_id;
  if (ctx->opts->cloud_init == CONVERT_CI_RESET || id == NULL) {
    /* A new identity: per-instance modules run once more on KubeVirt. */
    snprintf (newid, sizeof newid, "v2v-%lx", (unsigned long) time (NULL));
    id = newid;
    if (ctx->opts->cloud_init != CONVERT_CI_RESET)
      convert_internal_warn (ctx, "cloud-init: no previous instance-id "
                             "found; the guest gets a new one (%s)", id);
  }
  if (asprintf (&meta, "# Written by v2v-kubevirt: the instance-id the guest "
                "had on EC2.\ninstance-id: %s\n", id) < 0)
    return v2v_error_set (err, -ENOMEM, "meta-data");
  if ((r = convert_internal_write (ctx, SEED "/meta-data", meta, strlen (meta),
                                   "keep the instance identity across the "
                                   "migration", err)) < 0)
    return r;
  if (convert_internal_exists (ctx, SEED "/user-data"))
    return 0;
  return convert_internal_write (ctx, SEED "/user-data", user_data,
                                 sizeof user_data - 1,
                                 "NoCloud needs user-data beside meta-data",
                                 err);
}

const struct convert_step convert_step_cloudinit = {
  .name = "cloud-init",
  .applies = cloudinit_applies,
  .apply = cloudinit_apply,
};
