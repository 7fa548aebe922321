/* The first-boot health probe: linux/health-probe.sh (embedded at build
 * time) as /usr/local/sbin/v2v-kubevirt-health, and a oneshot unit that
 * runs it after multi-user.target and cloud-final.  It prints one
 * "V2V-HEALTH {json}" line on every serial console, which `v2v-agent
 * verify` and the orchestrator read (docs/agent-run.md).
 *
 * By default the probe removes itself after its first healthy report;
 * --health-probe=always keeps it, --health-probe=no installs nothing.
 * `v2v-agent verify` runs this step alone on its throwaway overlay when
 * a disk does not carry the probe (CONVERT_OPTIONS.probe_only).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

extern const char convert_health_probe_sh[];
extern const size_t convert_health_probe_sh_len;

#define PROBE_SCRIPT "/usr/local/sbin/v2v-kubevirt-health"
#define PROBE_UNIT   "v2v-kubevirt-health.service"
#define UNIT_DIR     "/etc/systemd/system"

static bool
guest_has_systemd (struct convert_ctx *ctx)
{
  return convert_internal_exists (ctx, "/lib/systemd/systemd") ||
    convert_internal_exists (ctx, "/usr/lib/systemd/systemd");
}

static bool
probe_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  if (ctx->opts->health_probe == CONVERT_PROBE_NO) {
    snprintf (why, whylen, "--health-probe=no");
    return false;
  }
  if (!guest_has_systemd (ctx)) {
    snprintf (why, whylen, "no systemd in the guest: nothing would run "
              "the probe");
    return false;
  }
  if (ctx->opts->probe_only &&
      convert_internal_exists (ctx, UNIT_DIR "/" PROBE_UNIT) &&
      convert_internal_exists (ctx, PROBE_SCRIPT)) {
    snprintf (why, whylen, "the guest carries the probe already");
    return false;
  }
  snprintf (why, whylen, PROBE_UNIT " prints a V2V-HEALTH line on the "
            "serial consoles at boot%s",
            ctx->opts->health_probe == CONVERT_PROBE_ALWAYS
            ? " (kept: --health-probe=always)"
            : "; removed after its first healthy report");
  return true;
}

/* The unit.  Its only variable parts are ours: the mode, and the AWS
 * agent units inspection found (names from a fixed list). */
static char *
unit_text (struct convert_ctx *ctx)
{
  char *const *units = linux_agent_units (ctx->guest);
  char agents[1024] = "";
  char *s = NULL;

  for (size_t i = 0; units && units[i]; i++) {
    size_t n = strlen (agents);
    snprintf (agents + n, sizeof agents - n, "%s%s", n ? "," : "",
              units[i]);
  }
  if (asprintf (&s,
                "# Installed by v2v-kubevirt (docs/agent-run.md): one health\n"
                "# report on the serial consoles after the first boot on "
                "KubeVirt.\n"
                "[Unit]\n"
                "Description=v2v-kubevirt health probe\n"
                "After=multi-user.target cloud-final.service "
                "network-online.target\n"
                "ConditionPathExists=" PROBE_SCRIPT "\n"
                "\n"
                "[Service]\n"
                "Type=oneshot\n"
                "ExecStart=" PROBE_SCRIPT "%s%s%s\n"
                /* Its own waits are bounded (settle 300 s, address 60 s);
                 * this is the backstop. */
                "TimeoutStartSec=600\n"
                "StandardOutput=journal\n"
                "\n"
                "[Install]\n"
                "WantedBy=multi-user.target\n",
                ctx->opts->health_probe == CONVERT_PROBE_ALWAYS
                ? " --keep" : "",
                *agents ? " --aws-agents=" : "", agents) < 0)
    return NULL;
  return s;
}

static int
probe_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  CLEANUP_FREE char *unit = unit_text (ctx);
  int r;

  if (unit == NULL)
    return v2v_error_set (err, -ENOMEM, "health probe unit");
  r = convert_internal_write (ctx, PROBE_SCRIPT, convert_health_probe_sh,
                              convert_health_probe_sh_len,
                              "the health probe's script", err);
  if (r < 0)
    return r;
  if (guestfs_chmod (ctx->guest->g, 0755, PROBE_SCRIPT) == -1)
    return convert_internal_gerror (ctx->guest->g, err, "chmod",
                                    PROBE_SCRIPT);
  r = convert_internal_write (ctx, UNIT_DIR "/" PROBE_UNIT, unit,
                              strlen (unit), "the health probe's unit",
                              err);
  if (r < 0)
    return r;
  return convert_internal_symlink (ctx, UNIT_DIR "/" PROBE_UNIT,
                                   UNIT_DIR "/multi-user.target.wants/"
                                   PROBE_UNIT,
                                   "enable the health probe", err);
}

const struct convert_step convert_step_health_probe = {
  .name = "health-probe",
  .applies = probe_applies,
  .apply = probe_apply,
};
