/* v2v-orchestrator inventory and plan init: options, the EC2 client,
 * exit codes.  The work is in inventory.c and plan-init.c.
 *
 *   v2v-orchestrator inventory KIND [--filter NAME=VALUE]... [--region R]
 *                              [--json] [--page-size N]
 *   v2v-orchestrator plan init (--selector tag:K=V | --instance ID)...
 *        --target-az AZ [--namespace NS] [--name NAME] [--region R]
 *        [--storage-class SC] [--conversion-image IMAGE] [--output FILE]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "inventory.h"
#include "log.h"
#include "plan.h"
#include "strv.h"

#define INVENTORY_FILTERS_MAX 50
/* Items per Describe call unless --page-size says otherwise: EC2's
 * largest (the client cuts it to what each action takes).
 */
#define INVENTORY_PAGE_SIZE 1000

static const struct plan_credentials no_creds;

static const char *
region_or_env (const char *region)
{
  const char *env;

  if (region)
    return region;
  env = getenv ("AWS_REGION");
  if (env && *env)
    return env;
  return getenv ("AWS_DEFAULT_REGION");
}

int
orch_cmd_inventory (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "filter", required_argument, NULL, 'f' },
    { "region", required_argument, NULL, 'r' },
    { "json", no_argument, NULL, 'j' },
    { "page-size", required_argument, NULL, 'n' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct ec2_filter filters[INVENTORY_FILTERS_MAX];
  struct v2v_error err = { 0 };
  struct ec2_client *c = NULL;
  const char *region = NULL;
  bool json = false;
  unsigned long page = INVENTORY_PAGE_SIZE;
  size_t nf = 0;
  int kind, opt, r, ret = EXIT_USAGE;

  if (argc < 3 || (kind = inventory_kind_parse (argv[2])) < 0) {
    log_error ("inventory: want instances, volumes, subnets, "
               "security-groups or instance-types%s%s",
               argc < 3 ? "" : ", not ", argc < 3 ? "" : argv[2]);
    return EXIT_USAGE;
  }
  optind = 3;
  while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
    switch (opt) {
    case 'f':
      if (nf == INVENTORY_FILTERS_MAX) {
        log_error ("inventory: at most %d --filter", INVENTORY_FILTERS_MAX);
        goto out;
      }
      if (inventory_filter_parse (kind, optarg, &filters[nf], &err) < 0) {
        log_error ("inventory: %s", err.msg);
        goto out;
      }
      nf++;
      break;
    case 'r': region = optarg; break;
    case 'j': json = true; break;
    case 'n': {
      char *end;
      page = strtoul (optarg, &end, 10);
      if (*end || page < 5 || page > 1000) {
        log_error ("inventory: --page-size %s: want 5 to 1000", optarg);
        goto out;
      }
      break;
    }
    case 'h':
      printf ("usage: v2v-orchestrator inventory instances|volumes|subnets|"
              "security-groups|instance-types\n"
              "         [--filter NAME=VALUE[,VALUE...]]... [--region REGION] "
              "[--json] [--page-size N]\n");
      ret = EXIT_OK;
      goto out;
    default:
      goto out;
    }
  }
  if (optind < argc) {
    log_error ("inventory: unexpected argument '%s'", argv[optind]);
    goto out;
  }
  log_set_phase ("inventory");
  if (orch_cli_ec2_client (region_or_env (region), &no_creds, false, &c,
                           &err) < 0) {
    log_error ("source account: %s", err.msg);
    ret = EXIT_CONFIG;
    goto out;
  }
  ec2_client_set_page_size (c, (unsigned) page);
  if ((r = inventory_list (c, kind, filters, nf, json, stdout, &err)) < 0) {
    log_error ("%s", err.msg);
    /* What EC2 calls invalid here is a filter the user gave. */
    ret = r == -EINVAL ? EXIT_USAGE : orch_cli_exit_code (r);
    goto out;
  }
  ret = EXIT_OK;
out:
  ec2_client_free (c);
  inventory_filters_free (filters, nf);
  return ret;
}

/* Write TEXT to PATH (through PATH.tmp), or stdout if PATH is NULL. */
static int
write_plan (const char *path, const char *text, struct v2v_error *err)
{
  CLEANUP_FREE char *tmp = NULL;
  FILE *fp;

  if (path == NULL) {
    printf ("%s\n", text);
    return 0;
  }
  if (asprintf (&tmp, "%s.tmp", path) < 0)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  fp = fopen (tmp, "we");
  if (fp == NULL)
    return v2v_error_errno (err, -errno, "%s", tmp);
  fprintf (fp, "%s\n", text);
  if (fclose (fp) != 0) {
    int e = -errno;
    unlink (tmp);
    return v2v_error_errno (err, e, "%s", tmp);
  }
  if (rename (tmp, path) < 0)
    return v2v_error_errno (err, -errno, "%s", path);
  return 0;
}

int
orch_cmd_plan (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "selector", required_argument, NULL, 's' },
    { "instance", required_argument, NULL, 'i' },
    { "target-az", required_argument, NULL, 'z' },
    { "namespace", required_argument, NULL, 'N' },
    { "name", required_argument, NULL, 'm' },
    { "region", required_argument, NULL, 'r' },
    { "storage-class", required_argument, NULL, 'c' },
    { "conversion-image", required_argument, NULL, 'I' },
    { "output", required_argument, NULL, 'o' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct plan_init_options o = { .name = "migration",
                                 .namespace = "default" };
  CLEANUP_STRV char **ids = NULL, **selector = NULL;
  CLEANUP_FREE char *text = NULL;
  struct v2v_error err = { 0 };
  struct ec2_client *c = NULL;
  struct plan *p = NULL;
  const char *region = NULL, *output = NULL;
  int opt, r, ret = EXIT_USAGE;

  if (argc < 3 || strcmp (argv[2], "init") != 0) {
    log_error ("plan: the command is 'plan init' (see --help)");
    return EXIT_USAGE;
  }
  optind = 3;
  while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
    switch (opt) {
    case 's': {
      const char *eq = strchr (optarg, '=');
      CLEANUP_FREE char *key = NULL;
      if (strncmp (optarg, "tag:", 4) != 0 || eq == NULL || eq == optarg + 4) {
        log_error ("plan init: --selector '%s': want tag:KEY=VALUE", optarg);
        goto out;
      }
      key = strndup (optarg + 4, eq - optarg - 4);
      if (key == NULL || strv_add (&selector, key) < 0 ||
          strv_add (&selector, eq + 1) < 0)
        goto oom;
      break;
    }
    case 'i':
      /* --instance ID[,ID...], repeatable. */
      for (char *save = NULL, *id = strtok_r (optarg, ",", &save); id;
           id = strtok_r (NULL, ",", &save))
        if (strv_add_unique (&ids, id) < 0)
          goto oom;
      break;
    case 'z': o.target_az = optarg; break;
    case 'N': o.namespace = optarg; break;
    case 'm': o.name = optarg; break;
    case 'r': region = optarg; break;
    case 'c': o.storage_class = optarg; break;
    case 'I': o.conversion_image = optarg; break;
    case 'o': output = optarg; break;
    case 'h':
      printf ("usage: v2v-orchestrator plan init (--selector tag:KEY=VALUE | "
              "--instance ID[,ID...])...\n"
              "         --target-az AZ [--namespace NS] [--name NAME] "
              "[--region REGION]\n"
              "         [--storage-class SC] [--conversion-image IMAGE] "
              "[--output FILE]\n");
      ret = EXIT_OK;
      goto out;
    default:
      goto out;
    }
  }
  if (optind < argc) {
    log_error ("plan init: unexpected argument '%s'", argv[optind]);
    goto out;
  }
  if ((ids == NULL) == (selector == NULL)) {
    log_error ("plan init: give --selector tag:KEY=VALUE or --instance ID "
               "(one of the two)");
    goto out;
  }
  if (o.target_az == NULL) {
    log_error ("plan init: --target-az AZ is required (the zone of the "
               "cluster's nodes)");
    goto out;
  }
  o.region = region_or_env (region);
  if (o.region == NULL || *o.region == '\0') {
    log_error ("plan init: no region: give --region or set AWS_REGION");
    goto out;
  }
  o.instances = (const char *const *) ids;
  o.selector = (const char *const *) selector;

  log_set_phase ("plan");
  if (orch_cli_ec2_client (o.region, &no_creds, false, &c, &err) < 0) {
    log_error ("source account: %s", err.msg);
    ret = EXIT_CONFIG;
    goto out;
  }
  if ((r = plan_init_build (c, &o, &text, &err)) < 0) {
    log_error ("%s", err.msg);
    ret = r == -EINVAL ? EXIT_PLAN : orch_cli_exit_code (r);
    goto out;
  }
  if (write_plan (output, text, &err) < 0) {
    log_error ("%s", err.msg);
    ret = EXIT_ERROR;
    goto out;
  }
  /* Checked as migrate checks it: the file it wrote, through plan.c. */
  r = output ? plan_load (output, &p, &err)
    : plan_parse (text, strlen (text), &p, &err);
  if (r < 0) {
    log_error ("%s%s", err.msg, output ? "\n(edit the plan, then run "
               "migrate)" : "");
    ret = EXIT_PLAN;
    goto out;
  }
  if (output)
    log_info ("wrote %s: %zu instance(s); it checks as migrate checks "
              "plans", output, p->nr_vms);
  ret = EXIT_OK;
  goto out;
oom:
  log_error ("out of memory");
  ret = EXIT_ERROR;
out:
  plan_free (p);
  ec2_client_free (c);
  return ret;
}
