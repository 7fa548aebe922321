/* The options "convert" and "run" share, and what they read from the
 * environment; see agent.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cleanup.h"
#include "log.h"
#include "string-table.h"
#include "strv.h"

/* The names of the conversion options' values, as the command line and
 * the docs spell them.
 */
static const char *const option_cloud_init_table[] = {
  [CONVERT_CI_REWORK] = "rework", [CONVERT_CI_KEEP] = "keep",
  [CONVERT_CI_DISABLE] = "disable", [CONVERT_CI_RESET] = "reset",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (option_cloud_init, enum convert_cloud_init,
                                    "unknown")

static const char *const option_agents_table[] = {
  [CONVERT_AGENTS_DISABLE] = "disable", [CONVERT_AGENTS_REMOVE] = "remove",
  [CONVERT_AGENTS_KEEP] = "keep",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (option_agents, enum convert_agents,
                                    "unknown")

static const char *const option_network_table[] = {
  [CONVERT_NET_REWORK] = "rework", [CONVERT_NET_KEEP] = "keep",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (option_network, enum convert_network,
                                    "unknown")

static const char *const option_relabel_table[] = {
  [CONVERT_RELABEL_CHANGED] = "changed", [CONVERT_RELABEL_FULL] = "full",
  [CONVERT_RELABEL_BOOT] = "boot",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (option_relabel, enum convert_relabel,
                                    "unknown")

static const char *const option_compat_table[] = {
  [CONVERT_COMPAT_OFF] = "off", [CONVERT_COMPAT_CHECK] = "check",
  [CONVERT_COMPAT_FIX] = "fix",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (option_compat, enum convert_compat,
                                    "unknown")

static const char *const option_legacy_table[] = {
  [CONVERT_LEGACY_AUTO] = "auto", [CONVERT_LEGACY_YES] = "yes",
  [CONVERT_LEGACY_NO] = "no",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (option_legacy, enum convert_legacy,
                                    "unknown")

static const char *const option_block_driver_table[] = {
  [CONVERT_BLOCK_VIRTIO_BLK] = "virtio-blk",
  [CONVERT_BLOCK_VIRTIO_SCSI] = "virtio-scsi",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (option_block_driver,
                                    enum convert_block_driver, "unknown")

static const char *const option_health_probe_table[] = {
  [CONVERT_PROBE_ONCE] = "yes", [CONVERT_PROBE_NO] = "no",
  [CONVERT_PROBE_ALWAYS] = "always",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (option_health_probe,
                                    enum convert_health_probe, "unknown")

int
agent_parse_enum (const char *opt, const char *val,
                  int (*from_string) (const char *s))
{
  int v = from_string (val);

  if (v < 0)
    log_error ("--%s: unknown value '%s'", opt, val);
  return v < 0 ? -1 : v;
}

/* "--key all:file:PATH" becomes "all:key:<contents>", so the secret is
 * read once, here, and never appears on a command line or in a log.
 */
static char *
resolve_key (const char *arg)
{
  const char *c = strchr (arg, ':');
  char *out = NULL;

  if (c && strncmp (c + 1, "file:", 5) == 0) {
    CLEANUP_FCLOSE FILE *fp = fopen (c + 6, "re");
    char secret[1024];
    if (fp == NULL || fgets (secret, sizeof secret, fp) == NULL) {
      log_error ("--key: cannot read the key file %s", c + 6);
      return NULL;
    }
    secret[strcspn (secret, "\r\n")] = '\0';
    if (asprintf (&out, "%.*s:key:%s", (int) (c - arg), arg, secret) < 0)
      out = NULL;
    explicit_bzero (secret, sizeof secret);
    return out;
  }
  if (c == NULL || strncmp (c + 1, "key:", 4) != 0) {
    log_error ("--key: expected DEV:key:SECRET or DEV:file:PATH");
    return NULL;
  }
  return strdup (arg);
}

/* V2V_LAUNCH_TIMEOUT: seconds the appliance may take to start (see
 * docs/troubleshooting.md).  Unset or empty: the default.  Returns -1 for
 * anything but a whole number of seconds from 1 to a day.
 */
int
agent_launch_timeout_from_env (unsigned *ret)
{
  const char *s = getenv ("V2V_LAUNCH_TIMEOUT");
  char *end;
  unsigned long v;

  if (s == NULL || *s == '\0') {
    *ret = 0;
    return 0;
  }
  errno = 0;
  v = strtoul (s, &end, 10);
  if (errno != 0 || *end != '\0' || *s == '-' || v < 1 || v > 86400) {
    log_error ("V2V_LAUNCH_TIMEOUT=%s: expected a number of seconds "
               "from 1 to 86400", s);
    return -1;
  }
  *ret = (unsigned) v;
  return 0;
}

/* The options "convert" and "run" share, parsed into A.  Returns 1 if
 * C is not one of them, 0 if it was handled, -1 on a bad value (logged).
 */
int
agent_convert_option (int c, const char *arg, struct agent_convert_args *a)
{
  struct convert_options *opts = &a->opts;
  int v;

  switch (c) {
  case 'n': opts->dry_run = true; break;
  case 'r': a->report_file = arg; break;
  case 'R': opts->root = arg; break;
  case 'k': {
    char *k = resolve_key (arg);
    if (k == NULL)
      return -1;
    if (strv_push (&a->keys, k) < 0) {
      log_error ("out of memory");
      return -1;
    }
    a->nkeys++;
    break;
  }
  case 'c':
    if ((v = agent_parse_enum ("cloud-init", arg,
                               option_cloud_init_from_string)) < 0)
      return -1;
    opts->cloud_init = v;
    break;
  case 'a':
    if ((v = agent_parse_enum ("agents", arg,
                               option_agents_from_string)) < 0)
      return -1;
    opts->agents = v;
    break;
  case 'N':
    if ((v = agent_parse_enum ("network", arg,
                               option_network_from_string)) < 0)
      return -1;
    opts->network = v;
    break;
  case 's':
    if ((v = agent_parse_enum ("selinux-relabel", arg,
                               option_relabel_from_string)) < 0)
      return -1;
    opts->relabel = v;
    break;
  case 'd': a->bopts.device_dir = arg; break;
  case 'O': a->overlay = false; break;
  case 'o': a->overlay_dir = arg; break;
  case 'D': {
    /* atoll took "5m" as 5 and "abc" as 0 (the default), silently. */
    char *end;
    unsigned long s;
    errno = 0;
    s = strtoul (arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || s == 0 || s > 86400) {
      log_error ("--deadline %s: expected seconds, from 1 to 86400", arg);
      return -1;
    }
    a->bopts.deadline_ms = (int64_t) s * 1000;
    break;
  }
  case 'C':
    if ((v = agent_parse_enum ("compat", arg ? arg : "check",
                               option_compat_from_string)) < 0)
      return -1;
    opts->compat = v;
    break;
  case 'V': opts->virtio_win = arg; break;
  case 'L': opts->virtio_win_legacy = arg; break;
  case 'l':
    if ((v = agent_parse_enum ("legacy-drivers", arg,
                               option_legacy_from_string)) < 0)
      return -1;
    opts->legacy_drivers = v;
    break;
  case 'b':
    if ((v = agent_parse_enum ("block-driver", arg,
                               option_block_driver_from_string)) < 0)
      return -1;
    opts->block_driver = v;
    break;
  case 'H':
    if ((v = agent_parse_enum ("health-probe", arg,
                               option_health_probe_from_string)) < 0)
      return -1;
    opts->health_probe = v;
    break;
  default:
    return 1;
  }
  return 0;
}

void
agent_convert_args_init (struct agent_convert_args *a)
{
  memset (a, 0, sizeof *a);
  a->opts.virtio_win = getenv ("VIRTIO_WIN");
  a->opts.virtio_win_legacy = getenv ("VIRTIO_WIN_LEGACY");
  a->overlay = true;
}

void
agent_convert_args_free (struct agent_convert_args *a)
{
  for (size_t i = 0; i < a->nkeys; i++) {
    explicit_bzero (a->keys[i], strlen (a->keys[i]));
    free (a->keys[i]);
  }
  free (a->keys);
  a->keys = NULL;
  a->nkeys = 0;
}
