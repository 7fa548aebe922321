/* v2v-agent: the conversion pod's agent.  Subcommands:
 *
 *   v2v-agent accel      print the accelerator qemu can use here (kvm|tcg)
 *   v2v-agent convert    convert the guest on the disks in place
 *   v2v-agent run        the conversion pod's entrypoint: convert and
 *                        report to the Kubernetes API
 *   v2v-agent verify     boot converted disks as KubeVirt would and read
 *                        the guest's health probe
 *   v2v-agent --version
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel.h"
#include "agent.h"
#include "http.h"
#include "log.h"
#include "verify.h"

static void
usage (FILE *fp)
{
  fprintf (fp,
           "usage: v2v-agent COMMAND [OPTIONS] [DISK...]\n"
           "\n"
           "commands:\n"
           "  accel [--verbose]   print the accelerator (kvm or tcg) and why\n"
           "  devices [--json]    list and probe the disks\n"
           "  convert [OPTIONS]   convert the guest on the disks in place\n"
           "  run [OPTIONS]       the conversion pod's entrypoint (reports to\n"
           "                      the Kubernetes API; see docs/agent-run.md)\n"
           "  verify [OPTIONS] DISK...  boot converted disks as KubeVirt would\n"
           "                      and report the guest's health\n"
           "\n"
           "  v2v-agent --version | --help\n"
           "\n"
           "See docs/operations.md and docs/standalone.md.\n");
}

static int
cmd_accel (int argc, char **argv)
{
  struct accel_result r;
  struct v2v_error err = { 0 };
  int verbose = argc > 1 && strcmp (argv[1], "--verbose") == 0;

  if (accel_detect (ACCEL_PROBE_TIMEOUT_MS, &r, &err) < 0) {
    log_error ("%s", err.msg);
    return AGENT_EXIT_INTERNAL;
  }
  printf ("%s\n", accel_kind_to_string (r.kind));
  if (verbose)
    fprintf (stderr, "%s\n", r.reason);
  return AGENT_EXIT_OK;
}

int
main (int argc, char **argv)
{
  log_init (getenv ("V2V_DEBUG") ? LOG_DEBUG : LOG_INFO);
  if (getenv ("V2V_DEBUG"))
    http_set_trace (log_http_trace);

  if (argc < 2) {
    usage (stderr);
    return AGENT_EXIT_USAGE;
  }
  if (strcmp (argv[1], "--version") == 0) {
    printf ("v2v-agent %s\n", V2V_VERSION);
    return AGENT_EXIT_OK;
  }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
    usage (stdout);
    return AGENT_EXIT_OK;
  }
  if (strcmp (argv[1], "accel") == 0)
    return cmd_accel (argc - 1, argv + 1);
  if (strcmp (argv[1], "devices") == 0)
    return agent_cmd_devices (argc - 1, argv + 1);
  if (strcmp (argv[1], "convert") == 0)
    return agent_cmd_convert (argc - 1, argv + 1);
  if (strcmp (argv[1], "run") == 0)
    return agent_cmd_run (argc - 1, argv + 1);
  if (strcmp (argv[1], "verify") == 0)
    return agent_cmd_verify (argc - 1, argv + 1);

  log_error ("unknown command '%s' (try: v2v-agent --help)", argv[1]);
  return AGENT_EXIT_USAGE;
}
