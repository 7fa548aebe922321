/* v2v-agent convert [OPTIONS] [DISK...]
 *
 * The pipeline (pipeline.c: discover, probe, overlay, convert, commit or
 * discard, report) with the log for a person at a terminal and a
 * summary of the report at the end.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "pipeline.h"
#include "report.h"

static void
usage (FILE *fp)
{
  fprintf (fp,
"usage: v2v-agent convert [OPTIONS] [DISK...]\n"
"\n"
"Convert the guest on DISK... (default: /dev/block0..N) in place so that\n"
"it boots on KubeVirt with virtio devices.\n"
"\n"
"  --dry-run                 open the disks read-only and print the plan\n"
"  --report FILE             write the JSON report to FILE\n"
"  --root first|DEV          which OS to convert when there are several\n"
"  --key DEV:key:SECRET      LUKS passphrase for DEV (or all:key:SECRET,\n"
"  --key all:file:PATH       or read it from PATH)\n"
"  --cloud-init rework|keep|disable|reset   (default rework)\n"
"  --agents disable|remove|keep             (default disable)\n"
"  --network rework|keep|dhcp               (default rework; dhcp also\n"
"                            switches static IPv4 config to DHCP)\n"
"  --disk-name INDEX=NAME[,NAME...]  disk INDEX was the EC2 device NAME\n"
"                            (/dev/xvdf, /dev/sdf, vol-0abc..., or\n"
"                            ephemeralN for instance store); repeatable\n"
"  --nic INDEX=MAC           the ENI of device INDEX had MAC, and the VM's\n"
"                            NIC keeps it; repeatable\n"
"  --device-map FILE         the same as 'disk INDEX=...' and 'nic INDEX=MAC'\n"
"                            lines (env V2V_DEVICE_MAP holds the same text)\n"
"  --selinux-relabel changed|full|boot      (default changed)\n"
"  --device-dir DIR          where blockN devices are (env V2V_DEVICE_DIR)\n"
"  --no-overlay              write to the disks directly (no protection)\n"
"  --overlay-dir DIR         where overlays and the commit journal live\n"
"  --deadline SECONDS        how long to wait for devices (default 300)\n"
"  --health-probe yes|no|always  the first-boot health probe (default yes:\n"
"                            installed, removed after its first healthy\n"
"                            report; always keeps it)\n"
"  --compat[=check|fix]      compatibility mode (SATA + e1000e, no rework):\n"
"                            check says whether the guest boots that way\n"
"                            (read-only); fix applies only the fixes it\n"
"                            lists\n"
"\n"
"Windows guests:\n"
"  --virtio-win DIR|ISO      virtio-win drivers (env VIRTIO_WIN)\n"
"  --virtio-win-legacy DIR|ISO  legacy, SHA-1 signed drivers for XP to\n"
"                            7/2008 R2 before SP1 (env VIRTIO_WIN_LEGACY)\n"
"  --legacy-drivers yes|no|auto             (default auto)\n"
"  --block-driver virtio-blk|virtio-scsi    (default virtio-blk)\n");
}

/* What the report says, for a person at a terminal. */
static void
print_summary (struct json_object *report)
{
  struct json_object *steps, *changes, *warnings, *guest, *v;

  if (json_object_object_get_ex (report, CONVERT_REPORT_GUEST, &guest) &&
      json_object_object_get_ex (guest, CONVERT_REPORT_GUEST_PRODUCT, &v))
    fprintf (stderr, "guest: %s (%s)\n", json_object_get_string (v),
             json_object_get_string (json_object_object_get
                                     (guest, CONVERT_REPORT_GUEST_ROOT)));
  if (json_object_object_get_ex (report, CONVERT_REPORT_STEPS, &steps))
    for (size_t i = 0; i < json_object_array_length (steps); i++) {
      struct json_object *s = json_object_array_get_idx (steps, i);
      fprintf (stderr, "  %-11s %-8s %s\n",
               json_object_get_string (json_object_object_get
                                       (s, CONVERT_REPORT_STEP_NAME)),
               json_object_get_string (json_object_object_get
                                       (s, CONVERT_REPORT_STEP_RESULT)),
               json_object_get_string (json_object_object_get
                                       (s, CONVERT_REPORT_STEP_REASON)));
    }
  if (json_object_object_get_ex (report, CONVERT_REPORT_CHANGES, &changes))
    for (size_t i = 0; i < json_object_array_length (changes); i++) {
      struct json_object *c = json_object_array_get_idx (changes, i);
      fprintf (stderr, "  %-10s %s\n",
               json_object_get_string (json_object_object_get
                                       (c, CONVERT_REPORT_CHANGE_ACTION)),
               json_object_get_string (json_object_object_get
                                       (c, CONVERT_REPORT_CHANGE_PATH)));
    }
  if (json_object_object_get_ex (report, CONVERT_REPORT_PREFLIGHT, &v)) {
    struct json_object *arr;
    fprintf (stderr, "compatibility preflight (SATA + e1000e): %s\n",
             json_object_get_string (json_object_object_get
                                     (v, CONVERT_REPORT_PREFLIGHT_VERDICT)));
    static const char *const lists[] = { "reasons", "fixes", "warnings" };
    for (size_t l = 0; l < 3; l++)
      if (json_object_object_get_ex (v, lists[l], &arr))
        for (size_t i = 0; i < json_object_array_length (arr); i++)
          fprintf (stderr, "  %s: %s\n", l == 0 ? "why" : l == 1 ? "fix"
                   : "warning",
                   json_object_get_string (json_object_array_get_idx (arr, i)));
  }
  if (json_object_object_get_ex (report, CONVERT_REPORT_WARNINGS, &warnings))
    for (size_t i = 0; i < json_object_array_length (warnings); i++)
      fprintf (stderr, "  warning: %s\n",
               json_object_get_string (json_object_array_get_idx (warnings, i)));
  fprintf (stderr, "result: %s%s\n",
           json_object_get_string (json_object_object_get
                                   (report, CONVERT_REPORT_STATUS)),
           json_object_get_boolean (json_object_object_get
                                    (report, CONVERT_REPORT_DRY_RUN))
           ? " (dry run: nothing was written)" : "");
}

/* convert_run's progress: the phase is the step's. */
static void
on_progress (const char *phase, const char *msg, void *opaque)
{
  (void) opaque;
  log_set_phase (phase);
  log_info ("%s", msg);
}

static void
on_phase (void *opaque, enum agent_phase phase, const char *msg)
{
  (void) opaque;
  log_set_phase (agent_phase_to_string (phase));
  log_info ("%s", msg);
}

static void
on_device_retry (void *opaque, const char *msg)
{
  (void) opaque;
  log_info ("waiting for device: %s", msg);
}

static void
on_warning (void *opaque, const char *msg)
{
  (void) opaque;
  log_warn ("%s", msg);
}

int
agent_cmd_convert (int argc, char **argv)
{
  static const struct option longopts[] = {
    AGENT_CONVERT_LONGOPTS,
    { "dry-run", no_argument, NULL, 'n' },
    { "no-overlay", no_argument, NULL, 'O' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  static const struct agent_pipeline_hooks hooks = {
    .phase = on_phase,
    .device_retry = on_device_retry,
    .warning = on_warning,
  };
  struct agent_convert_args a;
  struct agent_pipeline_result res;
  int c, r, code;

  agent_convert_args_init (&a);
  a.opts.progress = on_progress;
  if (agent_launch_timeout_from_env (&a.opts.launch_timeout) < 0 ||
      agent_devmap_from_env (&a) < 0) {
    agent_convert_args_free (&a);
    return AGENT_EXIT_USAGE;
  }
  optind = 1;
  while ((c = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
    if (c == 'h') {
      usage (stdout);
      agent_convert_args_free (&a);
      return AGENT_EXIT_OK;
    }
    if ((r = agent_convert_option (c, optarg, &a)) != 0) {
      if (r > 0)
        usage (stderr);
      agent_convert_args_free (&a);
      return AGENT_EXIT_USAGE;
    }
  }
  a.bopts.explicit_disks = optind < argc ? argv + optind : NULL;

  code = agent_pipeline_run (&a, &hooks, &res);
  if (agent_result_succeeded (res.result))
    log_info ("%s", res.message);
  else if (res.result == AGENT_RESULT_COMPAT_NEEDS_FIXES)
    log_warn ("%s", res.message);
  else
    log_error ("%s", res.message);
  if (res.report)
    print_summary (res.report);
  agent_pipeline_result_free (&res);
  agent_convert_args_free (&a);
  return code;
}
