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

#include "linux.h"

/* cloud.cfg.d is merged in lexical order, the last file winning, and
 * images ship their own datasource_list late: the phony RHEL (like some
 * real images) has 99_ec2.cfg, which sorts after "99-..." ('-' < '_' in
 * cloud-init's Python sort and in ds-identify's C-locale glob).  "zz-"
 * sorts after every numbered name in any collation.
 */
#define DROPIN "/etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg"
#define SEED   "/var/lib/cloud/seed/nocloud"

/* What cloud-init the guest has: the facts this step decides on. */
struct cloudinit_facts {
  bool installed;
  char *datasources;            /* datasource_list as configured, or NULL */
  char *instance_id;            /* /var/lib/cloud/data/instance-id */
};

/* datasource_list: cloud.cfg, then each cloud.cfg.d .cfg in name order,
 * the last setting winning, as cloud-init merges them.
 */
static void
read_datasources (struct convert_ctx *ctx, struct cloudinit_facts *f)
{
  CLEANUP_STRV char **paths = NULL;
  struct v2v_error ignored;

  paths = convert_internal_list_dir (ctx, "/etc/cloud/cloud.cfg.d", "*.cfg");
  for (size_t i = 0; i == 0 || (paths && paths[i - 1]); i++) {
    const char *path = i == 0 ? "/etc/cloud/cloud.cfg" : paths[i - 1];
    CLEANUP_FREE char *text = NULL;
    char *ds;

    if (convert_internal_is_regular (ctx, path) &&
        convert_internal_read (ctx, path, &text, NULL, &ignored) == 0 &&
        (ds = convert_internal_datasource_list (text)) != NULL) {
      free (f->datasources);
      f->datasources = ds;
    }
  }
}

static void *
cloudinit_gather (struct convert_ctx *ctx)
{
  struct cloudinit_facts *f = calloc (1, sizeof *f);
  CLEANUP_FREE char *id = NULL;
  struct v2v_error ignored;

  if (f == NULL)
    return NULL;
  f->installed = convert_internal_exists (ctx, "/usr/bin/cloud-init") &&
    guestfs_is_dir (ctx->guest->g, "/etc/cloud") > 0;
  if (!f->installed)
    return f;
  read_datasources (ctx, f);
  if (convert_internal_read (ctx, "/var/lib/cloud/data/instance-id", &id,
                             NULL, &ignored) == 0) {
    id[strcspn (id, "\r\n")] = '\0';
    /* Instance ids are written into a YAML file later: keep them plain. */
    if (*id && strspn (id, "abcdefghijklmnopqrstuvwxyz"
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == strlen (id)
        && strlen (id) < 128)
      f->instance_id = TAKE_PTR (id);
  }
  return f;
}

static void
cloudinit_json (const void *facts, struct json_object *o)
{
  const struct cloudinit_facts *f = facts;

  json_object_object_add (o, "cloud_init",
                          json_object_new_boolean (f && f->installed));
  json_object_object_add (o, "cloud_init_datasources", f && f->datasources
                          ? json_object_new_string (f->datasources) : NULL);
  json_object_object_add (o, "instance_id", f && f->instance_id
                          ? json_object_new_string (f->instance_id) : NULL);
}

static void
cloudinit_compat_warnings (const void *facts, struct json_object *warnings)
{
  const struct cloudinit_facts *f = facts;

  if (f && f->installed && f->datasources &&
      strstr (f->datasources, "Ec2") != NULL &&
      strstr (f->datasources, "NoCloud") == NULL)
    convert_internal_json_addf (warnings, "cloud-init is limited to the Ec2 "
                                "datasource: it will wait for EC2 metadata "
                                "and fail on KubeVirt");
}

static void
cloudinit_free (void *facts)
{
  struct cloudinit_facts *f = facts;

  if (f == NULL)
    return;
  free (f->datasources);
  free (f->instance_id);
  free (f);
}

const struct convert_facts linux_cloudinit_facts = {
  .gather = cloudinit_gather,
  .json = cloudinit_json,
  .compat_warnings = cloudinit_compat_warnings,
  .free = cloudinit_free,
};

static const struct cloudinit_facts *
facts_of (const struct convert_ctx *ctx)
{
  return convert_internal_facts (ctx->guest, &linux_cloudinit_facts);
}

static bool
cloudinit_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  const struct cloudinit_facts *f = facts_of (ctx);

  if (f == NULL || !f->installed) {
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
  const struct cloudinit_facts *f = facts_of (ctx);
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

  const char *id = f ? f->instance_id : NULL;
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
