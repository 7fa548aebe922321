/* v2v-orchestrator: the EC2 -> KubeVirt pipeline around the agent.
 *
 *   v2v-orchestrator migrate --plan PLAN.json [--keep-on-failure]
 *   v2v-orchestrator status  --plan PLAN.json
 *   v2v-orchestrator cleanup --plan PLAN.json [--purge]
 *   v2v-orchestrator inventory KIND [--filter NAME=VALUE]... [--json]
 *   v2v-orchestrator plan init (--selector tag:K=V | --instance ID)...
 *                              --target-az AZ [--namespace NS]
 *
 * See docs/orchestrator.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "commands.h"
#include "ec2.h"
#include "http.h"
#include "kube.h"
#include "log.h"
#include "migrate.h"
#include "plan.h"

static void
usage (FILE *fp)
{
  fprintf (fp,
"usage: v2v-orchestrator migrate --plan PLAN.json [--keep-on-failure]\n"
"       v2v-orchestrator status  --plan PLAN.json\n"
"       v2v-orchestrator cleanup --plan PLAN.json [--purge]\n"
"       v2v-orchestrator inventory instances|volumes|subnets|security-groups|\n"
"                                  instance-types [--filter NAME=VALUE]...\n"
"                                  [--region REGION] [--json]\n"
"       v2v-orchestrator plan init (--selector tag:KEY=VALUE | --instance ID)...\n"
"                                  --target-az AZ [--namespace NS] [--output FILE]\n"
"       v2v-orchestrator --version\n"
"\n"
"migrate runs or resumes the plan; status prints one line per VM;\n"
"cleanup removes its snapshots and Jobs (--purge: and what it migrated);\n"
"inventory lists what the source account has; plan init writes a plan.\n"
"See docs/orchestrator.md.\n");
}

/* Library code does not log: the client tells us what it retries. */
static void
on_ec2_retry (const struct v2v_error *err, int64_t delay_ms, void *opaque)
{
  log_info ("%s %s (retrying in %" PRIi64 " ms)", (const char *) opaque,
            err->msg, delay_ms);
}

int
orch_cli_exit_code (int r)
{
  return r == -EACCES ? EXIT_CONFIG : r == -EINVAL ? EXIT_PLAN : EXIT_ERROR;
}

/* Credentials from the plan's secretDir or profile, else the usual
 * environment and shared file.
 */
int
orch_cli_ec2_client (const char *region, const struct plan_credentials *pc,
                     bool target, struct ec2_client **ret,
                     struct v2v_error *err)
{
  struct ec2_credentials creds = { 0 };
  int r;

  if (pc->profile)
    setenv ("AWS_PROFILE", pc->profile, 1);
  r = ec2_credentials_load (pc->secret_dir, &creds, err);
  if (r == 0)
    r = ec2_client_new (region, NULL, &creds, ret, err);
  if (r == 0) {
    char label[200];
    snprintf (label, sizeof label, "%s account (credentials from %.150s)",
              target ? "target" : "source", creds.source);
    ec2_client_set_label (*ret, label);
    ec2_client_set_retry_hook (*ret, on_ec2_retry,
                               (void *) (target ? "EC2 (target):" : "EC2:"));
  }
  ec2_credentials_free (&creds);
  return r;
}

int
main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "plan", required_argument, NULL, 'p' },
    { "keep-on-failure", no_argument, NULL, 'k' },
    { "purge", no_argument, NULL, 'P' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct orch_options o = { 0 };
  struct v2v_error err = { 0 };
  const char *cmd, *plan_path = NULL;
  bool purge = false;
  int c, r, ret = EXIT_ERROR;

  log_init (getenv ("V2V_DEBUG") ? LOG_DEBUG : LOG_INFO);
  if (getenv ("V2V_DEBUG"))
    http_set_trace (log_http_trace);
  if (argc > 1 && strcmp (argv[1], "--version") == 0) {
    printf ("v2v-orchestrator %s\n", V2V_VERSION);
    return EXIT_OK;
  }
  if (argc < 2 || strcmp (argv[1], "--help") == 0) {
    usage (argc < 2 ? stderr : stdout);
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  cmd = argv[1];
  if (strcmp (cmd, "inventory") == 0 || strcmp (cmd, "plan") == 0) {
    curl_global_init (CURL_GLOBAL_DEFAULT);
    ec2_global_init ();
    ret = strcmp (cmd, "inventory") == 0 ? orch_cmd_inventory (argc, argv)
      : orch_cmd_plan (argc, argv);
    ec2_global_cleanup ();
    curl_global_cleanup ();
    return ret;
  }
  if (strcmp (cmd, "migrate") != 0 && strcmp (cmd, "status") != 0 &&
      strcmp (cmd, "cleanup") != 0) {
    log_error ("unknown command '%s' (try --help)", cmd);
    return EXIT_USAGE;
  }
  optind = 2;
  while ((c = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 'p': plan_path = optarg; break;
    case 'k': o.keep_on_failure = true; break;
    case 'P': purge = true; break;
    case 'h': usage (stdout); return EXIT_OK;
    default: usage (stderr); return EXIT_USAGE;
    }
  }
  if (plan_path == NULL) {
    log_error ("%s: --plan PLAN.json is required", cmd);
    return EXIT_USAGE;
  }

  curl_global_init (CURL_GLOBAL_DEFAULT);
  ec2_global_init ();
  log_set_phase ("plan");
  if (plan_load (plan_path, &o.plan, &err) < 0) {
    log_error ("%s", err.msg);
    ret = EXIT_PLAN;
    goto out;
  }
  if ((r = kube_config_load (&o.kube, &err)) < 0) {
    log_error ("Kubernetes: %s%s", err.msg, r == -ENOENT
               ? " (set KUBECONFIG, or run in a pod with a service account)"
               : "");
    ret = EXIT_CONFIG;
    goto out;
  }
  if (kube_config_insecure (o.kube))
    log_warn ("INSECURE: %s says insecure-skip-tls-verify: the API server's "
              "certificate is NOT verified", kube_config_source (o.kube));
  if (orch_cli_ec2_client (o.plan->region, &o.plan->source_creds, false,
                           &o.source, &err) < 0) {
    log_error ("source account: %s", err.msg);
    ret = EXIT_CONFIG;
    goto out;
  }
  if (o.plan->cross_account) {
    if (orch_cli_ec2_client (o.plan->region, &o.plan->target_creds, true,
                             &o.target, &err) < 0) {
      log_error ("target account: %s", err.msg);
      ret = EXIT_CONFIG;
      goto out;
    }
  }
  else
    o.target = o.source;

  log_set_phase (cmd);
  if (strcmp (cmd, "migrate") == 0)
    r = orch_migrate (&o, &err);
  else if (strcmp (cmd, "status") == 0)
    r = orch_status (&o, &err);
  else
    r = orch_cleanup (&o, purge, &err);
  if (r < 0) {
    log_error ("%s", err.msg);
    ret = orch_cli_exit_code (r);
  }
  else
    ret = r == 0 ? EXIT_OK : EXIT_SOME_FAILED;
  if (strcmp (cmd, "migrate") == 0) {
    fprintf (stderr, "EC2 calls: %u", ec2_client_calls (o.source, NULL));
    if (o.target != o.source)
      fprintf (stderr, " (source), %u (target)",
               ec2_client_calls (o.target, NULL));
    fprintf (stderr, "\n");
  }

out:
  if (o.target != o.source)
    ec2_client_free (o.target);
  ec2_client_free (o.source);
  kube_config_free (o.kube);
  plan_free (o.plan);
  ec2_global_cleanup ();
  curl_global_cleanup ();
  return ret;
}
