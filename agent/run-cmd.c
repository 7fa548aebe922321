/* v2v-agent run: the conversion pod's entrypoint.
 *
 * The pipeline of "convert" (pipeline.c: devices, probe, overlay,
 * inspect, convert, commit, report), with the cluster told about each
 * phase (reporter.c), the conversion in a child process (run-child.c), a
 * termination message at the end and a safe stop on SIGTERM, SIGINT,
 * --timeout or POST /shutdown (run-stop.c), and optional HTTP endpoints
 * (httpd.c).  This file: the options (Forklift's settings first), the
 * set-up, and the pipeline's hooks.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accel.h"
#include "agent.h"
#include "httpd.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "pipeline.h"
#include "report-read.h"
#include "run.h"

#define TERMINATION_LOG_DEFAULT "/dev/termination-log"

static void
usage (FILE *fp)
{
  fprintf (fp,
"usage: v2v-agent run [OPTIONS]\n"
"\n"
"The conversion pod's entrypoint: convert the guest on /dev/block0..N in\n"
"place and report to the Kubernetes API while doing it.  Forklift's\n"
"V2V_* variables are read first; options given here win over them.\n"
"\n"
"  --skip-conversion         only find and check the disks\n"
"  --timeout SECONDS         cancel the run after this long\n"
"  --status-url URL          also POST the status JSON to URL\n"
"  --listen ADDR:PORT        serve /status /metrics /inspection /warnings\n"
"  --termination-log PATH    (default " TERMINATION_LOG_DEFAULT ")\n"
"  --vm-name NAME            the source VM's name, for the status\n"
"  --new-name NAME           the target VM's name, for the status\n"
"\n"
"and the options of \"v2v-agent convert\" (see v2v-agent convert --help):\n"
"--compat, --legacy-drivers, --cloud-init, --agents, --network, --root,\n"
"--key, --device-dir, --overlay-dir, --deadline, --virtio-win, ...\n"
"\n"
"Exit codes: docs/operations.md.  Reporting: docs/agent-run.md.\n");
}

/* The Event reason of each phase the pipeline enters. */
static const char *const phase_reasons[AGENT_PHASE__COUNT] = {
  [AGENT_PHASE_DEVICES] = "Devices",
  [AGENT_PHASE_PROBE]   = "Probing",
  [AGENT_PHASE_OVERLAY] = "Overlay",
  [AGENT_PHASE_INSPECT] = "Inspecting",
  [AGENT_PHASE_CONVERT] = "Converting",
  [AGENT_PHASE_COMMIT]  = "Committing",
  [AGENT_PHASE_REPORT]  = "Reporting",
};

static void
on_phase (void *opaque, enum agent_phase phase, const char *msg)
{
  const char *reason = (unsigned) phase < AGENT_PHASE__COUNT
    ? phase_reasons[phase] : NULL;

  run_enter_phase (opaque, phase, reason ? reason : "Phase", msg);
}

static void
on_device_retry (void *opaque, const char *msg)
{
  struct run *run = opaque;

  log_info ("waiting for device: %s", msg);
  agent_status_set_message (run->st, msg);
  reporter_update (run->rep);
}

static void
on_warning (void *opaque, const char *msg)
{
  struct run *run = opaque;

  log_warn ("%s", msg);
  agent_status_add_warning (run->st, msg);
}

static int
on_convert (void *opaque, const struct blockdev_list *disks,
            const struct convert_options *opts,
            struct json_object **ret_report, struct v2v_error *err)
{
  return run_child (opaque, disks, opts, ret_report, err);
}

static enum agent_result
on_stopped (void *opaque)
{
  struct run *run = opaque;

  if (!atomic_load (&run->cancelled))
    return AGENT_RESULT_INTERNAL;
  log_info ("the overlays were discarded; the disks are unchanged");
  return run->cancel_result;
}

static void
on_converted (void *opaque, struct json_object *report)
{
  struct run *run = opaque;
  struct agent_report *r = NULL;
  struct v2v_error err = { 0 };

  if (agent_report_read (report, &r, &err) < 0 ||
      agent_status_set_report (run->st, report, &err) < 0) {
    log_warn ("the status does not show the report: %s", err.msg);
    agent_report_free (r);
    return;
  }
  for (size_t i = 0; i < r->nr_warnings; i++)
    reporter_event (run->rep, true, "ConversionWarning", r->warnings[i]);
  agent_report_free (r);
}

static void
on_commit (void *opaque, bool begins)
{
  struct run *run = opaque;

  pthread_mutex_lock (&run->lock);
  run->stage = begins ? RUN_STAGE_COMMIT : RUN_STAGE_AFTER;
  pthread_mutex_unlock (&run->lock);
}

static void
on_httpd_shutdown (void *opaque)
{
  (void) opaque;
  /* The same path as a signal: the signal thread takes it. */
  kill (getpid (), SIGTERM);
}

/* The pipeline with the pod's hooks, and its outcome reported.  Returns
 * the exit code.
 */
static int
run_pipeline (struct run *run, struct agent_convert_args *a)
{
  const struct agent_pipeline_hooks hooks = {
    .opaque = run,
    .phase = on_phase,
    .device_retry = on_device_retry,
    .warning = on_warning,
    .convert = on_convert,
    .stopped = on_stopped,
    .converted = on_converted,
    .commit = on_commit,
  };
  struct agent_pipeline_result res;
  bool cancelled;
  int code;

  code = agent_pipeline_run (a, &hooks, &res);
  cancelled = res.result == AGENT_RESULT_CANCELLED ||
    res.result == AGENT_RESULT_TIMEOUT;
  if (agent_result_succeeded (res.result) && atomic_load (&run->cancelled)) {
    size_t n = strlen (res.message);
    snprintf (res.message + n, sizeof res.message - n,
              " (a cancel came during the commit)");
  }
  run_finish (run, res.result, cancelled ? run->cancel_msg : res.message,
              cancelled ? RUN_CANCEL_REPORT_DEADLINE_MS
                        : RUN_FINAL_REPORT_DEADLINE_MS);
  agent_pipeline_result_free (&res);
  return code;
}

/* The long option name of ARG ("--cloud-init=x" -> "cloud-init"), or
 * NULL if ARG is not a long option.
 */
static const struct option *
find_longopt (const char *arg, const struct option *longopts)
{
  if (strncmp (arg, "--", 2) != 0 || arg[2] == '\0')
    return NULL;
  size_t len = strcspn (arg + 2, "=");
  for (const struct option *o = longopts; o->name; o++)
    if (strlen (o->name) == len && strncmp (o->name, arg + 2, len) == 0)
      return o;
  return NULL;
}

/* If ENV[I] is an option that the command line (ARGV[1..]) also gives,
 * the number of ENV words it takes (1, or 2 with a separate value);
 * else 0.  --key adds up rather than overrides.
 */
static int
overridden (char **env, int envc, int i, int argc, char **argv,
            const struct option *longopts)
{
  const struct option *o = find_longopt (env[i], longopts);

  if (o == NULL || strcmp (o->name, "key") == 0)
    return 0;
  for (int j = 1; j < argc; j++)
    if (find_longopt (argv[j], longopts) == o)
      return o->has_arg == required_argument && !strchr (env[i], '=') &&
        i + 1 < envc ? 2 : 1;
  return 0;
}

int
agent_cmd_run (int argc, char **argv)
{
  enum { OPT_SKIP = 256, OPT_TIMEOUT, OPT_STATUS_URL, OPT_LISTEN,
         OPT_TERMLOG, OPT_VM_NAME, OPT_NEW_NAME };
  static const struct option longopts[] = {
    AGENT_CONVERT_LONGOPTS,
    { "skip-conversion", no_argument, NULL, OPT_SKIP },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "status-url", required_argument, NULL, OPT_STATUS_URL },
    { "listen", required_argument, NULL, OPT_LISTEN },
    { "termination-log", required_argument, NULL, OPT_TERMLOG },
    { "vm-name", required_argument, NULL, OPT_VM_NAME },
    { "new-name", required_argument, NULL, OPT_NEW_NAME },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct agent_argv args = { 0 };
  struct agent_convert_args a;
  struct run run = { .termination_log = getenv ("V2V_TERMINATION_LOG") };
  struct run_sigthread_args sa = { .run = &run };
  struct kube_config *kube = NULL;
  struct agent_httpd *httpd = NULL;
  struct v2v_error err = { 0 };
  const char *status_url = NULL, *listen_addr = NULL;
  const char *vm_name = NULL, *new_name = NULL;
  pthread_t sigthread;
  int c, r, ret = AGENT_EXIT_INTERNAL;

  if (run.termination_log == NULL)
    run.termination_log = TERMINATION_LOG_DEFAULT;
  agent_convert_args_init (&a);
  if (agent_launch_timeout_from_env (&a.opts.launch_timeout) < 0)
    return AGENT_EXIT_USAGE;

  /* argv[0], then what the environment says, then the command line. */
  if (agent_forklift_env (&args, &err) < 0) {
    log_error ("%s", err.msg);
    agent_argv_free (&args);
    return AGENT_EXIT_USAGE;
  }
  {
    struct agent_argv all = { 0 };
    all.argv = calloc (args.argc + argc + 1, sizeof *all.argv);
    if (all.argv == NULL) {
      agent_argv_free (&args);
      return AGENT_EXIT_INTERNAL;
    }
    all.argv[all.argc++] = strdup (argv[0]);
    for (int i = 0; i < args.argc; i++) {
      int n = overridden (args.argv, args.argc, i, argc, argv, longopts);
      if (n == 0) {
        all.argv[all.argc++] = args.argv[i];
        continue;
      }
      /* The command line sets this option: the environment's value is
       * not even looked at, so a bad one cannot fail the run.
       */
      log_info ("%s from the environment is overridden by the command line",
                args.argv[i]);
      for (int j = i; j < i + n; j++)
        free (args.argv[j]);
      i += n - 1;
    }
    for (int i = 1; i < argc; i++)
      all.argv[all.argc++] = strdup (argv[i]);
    free (args.argv);
    args = all;
  }

  optind = 1;
  while ((c = getopt_long (args.argc, args.argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case OPT_SKIP: a.skip_conversion = true; continue;
    case OPT_TIMEOUT: {
      char *end;
      long long t = strtoll (optarg, &end, 10);
      if (*end || t <= 0) {
        log_error ("--timeout: expected a number of seconds, got '%s'",
                   optarg);
        ret = AGENT_EXIT_USAGE;
        goto out_args;
      }
      sa.timeout_ms = t * 1000;
      continue;
    }
    case OPT_STATUS_URL: status_url = optarg; continue;
    case OPT_LISTEN: listen_addr = optarg; continue;
    case OPT_TERMLOG: run.termination_log = optarg; continue;
    case OPT_VM_NAME: vm_name = optarg; continue;
    case OPT_NEW_NAME: new_name = optarg; continue;
    case 'h': usage (stdout); ret = AGENT_EXIT_OK; goto out_args;
    }
    if ((r = agent_convert_option (c, optarg, &a)) != 0) {
      if (r > 0)
        usage (stderr);
      ret = AGENT_EXIT_USAGE;
      goto out_args;
    }
  }
  if (optind < args.argc) {
    log_error ("run: unexpected argument '%s'; the disks are found in the "
               "device directory (--device-dir)", args.argv[optind]);
    ret = AGENT_EXIT_USAGE;
    goto out_args;
  }

  if ((run.st = agent_status_new ()) == NULL) {
    log_error ("out of memory");
    goto out_args;
  }
  pthread_mutex_init (&run.lock, NULL);
  if (vm_name)
    log_info ("source VM: %s%s%s", vm_name, new_name ? ", target: " : "",
              new_name ? new_name : "");

  /* Block the stop signals in every thread before any is created; the
   * signal thread alone waits for them.
   */
  sigemptyset (&sa.set);
  sigaddset (&sa.set, SIGTERM);
  sigaddset (&sa.set, SIGINT);
  sigaddset (&sa.set, SIGUSR1);
  pthread_sigmask (SIG_BLOCK, &sa.set, NULL);

  /* Reporting: the API if there is a Pod to report on. */
  const char *pod = getenv ("POD_NAME"), *ns = getenv ("POD_NAMESPACE");
  if (pod && *pod) {
    r = kube_config_load (&kube, &err);
    if (r == -ENOENT)
      log_info ("no kubeconfig and not in a cluster: not reporting to the "
                "Kubernetes API");
    else if (r < 0)
      log_warn ("not reporting to the Kubernetes API: %s", err.msg);
    else {
      if (kube_config_insecure (kube))
        log_warn ("INSECURE: %s says insecure-skip-tls-verify: the API "
                  "server's certificate is NOT verified",
                  kube_config_source (kube));
      if (ns == NULL || *ns == '\0')
        ns = kube_config_namespace (kube);
      log_info ("reporting to %s (%s) on pod %s/%s",
                kube_config_server (kube), kube_config_source (kube),
                ns ? ns : "?", pod);
    }
  }
  struct reporter_options ro = {
    .kube = kube,
    .pod_name = pod,
    .pod_namespace = ns,
    .pod_uid = getenv ("POD_UID"),
    .node_name = getenv ("NODE_NAME"),
    .status_url = status_url,
  };
  if (reporter_start (&ro, run.st, &run.rep, &err) < 0) {
    log_warn ("not reporting to the Kubernetes API: %s", err.msg);
    ro.kube = NULL;
    if (reporter_start (&ro, run.st, &run.rep, &err) < 0) {
      log_error ("%s", err.msg);
      goto out_status;
    }
  }

  if (listen_addr &&
      agent_httpd_start (listen_addr, run.st, on_httpd_shutdown, NULL,
                         &httpd, &err) < 0) {
    log_error ("%s", err.msg);
    reporter_finish (run.rep, 1);
    ret = AGENT_EXIT_USAGE;
    goto out_status;
  }
  if (httpd)
    log_info ("serving /status and /metrics on port %d",
              agent_httpd_port (httpd));

  if (pthread_create (&sigthread, NULL, run_signal_thread, &sa) != 0) {
    log_error ("cannot start the signal thread: %m");
    reporter_finish (run.rep, 1);
    goto out_httpd;
  }

  {
    struct accel_result acc;
    if (accel_detect (ACCEL_PROBE_TIMEOUT_MS, &acc, &err) == 0) {
      agent_status_set_accel (run.st, accel_kind_to_string (acc.kind));
      log_info ("accelerator: %s (%s)", accel_kind_to_string (acc.kind),
                acc.reason);
    }
  }

  ret = run_pipeline (&run, &a);

  pthread_kill (sigthread, SIGUSR1);
  pthread_join (sigthread, NULL);
 out_httpd:
  agent_httpd_stop (httpd);
 out_status:
  kube_config_free (kube);
  agent_status_free (run.st);
  pthread_mutex_destroy (&run.lock);
 out_args:
  agent_convert_args_free (&a);
  agent_argv_free (&args);
  return ret;
}
