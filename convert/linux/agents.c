/* AWS agents: the SSM agent, CloudWatch agent, EC2 Instance Connect,
 * hibernation agent, Kinesis agent and the Xen guest tools have nothing to
 * talk to on KubeVirt.  By default they are masked (reversible); with
 * --agents=remove they are uninstalled with the guest's package manager.
 * EC2 Instance Connect's sshd AuthorizedKeysCommand is commented out too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

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

/* The facts: the agent units installed (strv), or NULL. */
static void *
agents_gather (struct convert_ctx *ctx)
{
  char **units = NULL;
  char path[512];

  for (size_t i = 0; agent_units[i]; i++)
    for (size_t d = 0; unit_dirs[d]; d++) {
      snprintf (path, sizeof path, "%s/%s", unit_dirs[d], agent_units[i]);
      if (convert_internal_is_regular (ctx, path)) {
        (void) strv_add_unique (&units, agent_units[i]);
        break;
      }
    }
  return units;
}

static void
agents_json (const void *facts, struct json_object *o)
{
  char *const *units = facts;
  struct json_object *a = json_object_new_array ();

  for (size_t i = 0; units && units[i]; i++)
    json_object_array_add (a, json_object_new_string (units[i]));
  json_object_object_add (o, "aws_agents", a);
}

static void
agents_compat_warnings (const void *facts, struct json_object *warnings)
{
  char *const *units = facts;

  for (size_t i = 0; units && units[i]; i++)
    convert_internal_json_addf (warnings, "AWS agent %s is left as it is: "
                                "compatibility mode does not disable it",
                                units[i]);
}

static void
agents_free (void *facts)
{
  strv_free (facts);
}

const struct convert_facts linux_agent_facts = {
  .gather = agents_gather,
  .json = agents_json,
  .compat_warnings = agents_compat_warnings,
  .free = agents_free,
};

char *const *
linux_agent_units (const struct guest *guest)
{
  return convert_internal_facts (guest, &linux_agent_facts);
}

static const char *const sshd_files[] = {
  "/etc/ssh/sshd_config",
  "/etc/ssh/sshd_config.d/60-ec2-instance-connect.conf",
  NULL
};

static bool
sshd_has_eic (struct convert_ctx *ctx, const char *path)
{
  CLEANUP_FREE char *data = NULL;
  struct v2v_error ignored;

  return convert_internal_is_regular (ctx, path) &&
    convert_internal_read (ctx, path, &data, NULL, &ignored) == 0 &&
    strstr (data, "\nAuthorizedKeysCommand") &&
    strstr (data, "eic_run_authorized_keys");
}

static bool
agents_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  char *const *units = linux_agent_units (ctx->guest);
  bool eic = false;

  for (size_t i = 0; sshd_files[i]; i++)
    eic |= sshd_has_eic (ctx, sshd_files[i]);
  if (ctx->opts->agents == CONVERT_AGENTS_KEEP) {
    snprintf (why, whylen, "--agents=keep");
    return false;
  }
  if (units == NULL && !eic) {
    snprintf (why, whylen, "no AWS agents installed");
    return false;
  }
  snprintf (why, whylen, "AWS agents present%s: %s",
            eic ? " (and EC2 Instance Connect in sshd)" : "",
            units ? units[0] : "sshd");
  return true;
}

/* Disable (drop every .wants/.requires link) then mask UNIT. */
static int
mask_unit (struct convert_ctx *ctx, const char *unit, struct v2v_error *err)
{
  static const char *const kinds[] = { "*.wants", "*.requires", NULL };
  guestfs_h *g = ctx->guest->g;
  char path[512];
  int r;

  for (size_t k = 0; kinds[k]; k++) {
    CLEANUP_STRV char **dirs =
      convert_internal_list_dir (ctx, "/etc/systemd/system", kinds[k]);
    for (size_t i = 0; dirs && dirs[i]; i++) {
      snprintf (path, sizeof path, "%s/%s", dirs[i], unit);
      if (guestfs_is_symlink (g, path) > 0 &&
          (r = convert_internal_remove (ctx, path, "disable the AWS agent",
                                        err)) < 0)
        return r;
    }
  }
  snprintf (path, sizeof path, "/etc/systemd/system/%s", unit);
  return convert_internal_symlink (ctx, "/dev/null", path,
                                   "mask the AWS agent: nothing to talk to "
                                   "on KubeVirt", err);
}

static const char *
package_of (const char *unit, char *buf, size_t len)
{
  if (strncmp (unit, "snap.", 5) == 0)
    return NULL;                /* snaps are removed with snap, on-line */
  if (strcmp (unit, "xe-linux-distribution.service") == 0)
    return "xe-guest-utilities";
  if (strncmp (unit, "ec2-instance-connect", 20) == 0)
    return "ec2-instance-connect";
  snprintf (buf, len, "%.*s", (int) (strcspn (unit, ".")), unit);
  return buf;
}

static int
remove_unit (struct convert_ctx *ctx, const char *unit, struct v2v_error *err)
{
  char buf[128];
  const char *pkg = package_of (unit, buf, sizeof buf);
  const bool deb = ctx->guest->pkgfmt && strcmp (ctx->guest->pkgfmt, "deb") == 0;

  if (pkg) {
    const char *query[] = { deb ? "dpkg-query" : "rpm", deb ? "-W" : "-q",
                            pkg, NULL };
    const char *purge[] = { deb ? "dpkg" : "rpm", deb ? "--purge" : "-e",
                            pkg, NULL };
    guestfs_push_error_handler (ctx->guest->g, NULL, NULL);
    char *out = guestfs_command (ctx->guest->g, (char **) query);
    guestfs_pop_error_handler (ctx->guest->g);
    if (out) {
      free (out);
      return convert_internal_run (ctx, purge, "--agents=remove", NULL, err);
    }
  }
  convert_internal_warn (ctx, "%s: no package to remove; masked instead", unit);
  return mask_unit (ctx, unit, err);
}

static char *
sshd_line (const char *line, void *opaque)
{
  char *out = NULL;

  (void) opaque;
  if ((strncmp (line, "AuthorizedKeysCommand ", 22) == 0 &&
       strstr (line, "eic_run_authorized_keys")) ||
      (strncmp (line, "AuthorizedKeysCommandUser ", 26) == 0 &&
       strstr (line, "ec2-instance-connect")))
    return asprintf (&out, "#%s  # v2v-kubevirt: EC2 Instance Connect",
                     line) < 0 ? NULL : out;
  return NULL;
}

static int
agents_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  char *const *units = linux_agent_units (ctx->guest);
  int r;

  for (size_t i = 0; units && units[i]; i++) {
    const char *unit = units[i];
    r = ctx->opts->agents == CONVERT_AGENTS_REMOVE
      ? remove_unit (ctx, unit, err) : mask_unit (ctx, unit, err);
    if (r < 0)
      return r;
  }
  for (size_t i = 0; sshd_files[i]; i++)
    if (sshd_has_eic (ctx, sshd_files[i]) &&
        (r = convert_internal_edit_lines (ctx, sshd_files[i], sshd_line, NULL,
                                          "EC2 Instance Connect keys come "
                                          "from the EC2 API", NULL, err)) < 0)
      return r;
  return 0;
}

const struct convert_step convert_step_agents = {
  .name = "aws-agents",
  .applies = agents_applies,
  .apply = agents_apply,
};
