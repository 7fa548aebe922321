/* AWS agents: the SSM agent, CloudWatch agent, EC2 Instance Connect,
 * hibernation agent, Kinesis agent and the Xen guest tools have nothing to
 * talk to on KubeVirt.  By default they are masked (reversible); with
 * --agents=remove they are uninstalled with the guest's package manager.
 * EC2 Instance Connect's sshd AuthorizedKeysCommand is commented out too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"

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
  bool eic = false;

  for (size_t i = 0; sshd_files[i]; i++)
    eic |= sshd_has_eic (ctx, sshd_files[i]);
  if (ctx->opts->agents == CONVERT_AGENTS_KEEP) {
    snprintf (why, whylen, "--agents=keep");
    return false;
  }
  if (ctx->guest->agents == NULL && !eic) {
    snprintf (why, whylen, "no AWS agents installed");
    return false;
  }
  snprintf (why, whylen, "AWS agents present%s: %s",
            eic ? " (and EC2 Instance Connect in sshd)" : "",
            ctx->guest->agents ? ctx->guest->agents[0] : "sshd");
  return true;
}

/* Disable (drop every .wants/.requires link) then mask UNIT. */
static int
mask_unit (struct convert_ctx *ctx, const char *unit, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  CLEANUP_STRV char **dirs = guestfs_ls (g, "/etc/systemd/system");
  char path[512];
  int r;

  for (size_t i = 0; dirs && dirs[i]; i++) {
    size_t l = strlen (dirs[i]);
    if (!(l > 6 && strcmp (dirs[i] + l - 6, ".wants") == 0) &&
        !(l > 9 && strcmp (dirs[i] + l - 9, ".requires") == 0))
      continue;
    snprintf (path, sizeof path, "/etc/systemd/system/%s/%s", dirs[i], unit);
    if (guestfs_is_symlink (g, path) > 0 &&
        (r = convert_internal_remove (ctx, path, "disable the AWS agent",
                                      err)) < 0)
      return r;
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
  int r;

  for (size_t i = 0; ctx->guest->agents && ctx->guest->agents[i]; i++) {
    const char *unit = ctx->guest->agents[i];
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
