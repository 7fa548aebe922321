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

int
agent_parse_enum (const char *opt, const char *val, const char *const *names)
{
  for (int i = 0; names[i]; i++)
    if (strcmp (val, names[i]) == 0)
      return i;
  log_error ("--%s: unknown value '%s'", opt, val);
  return -1;
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
  static const char *const ci_names[] = { "rework", "keep", "disable",
                                          "reset", NULL };
  static const char *const ag_names[] = { "disable", "remove", "keep", NULL };
  static const char *const net_names[] = { "rework", "keep", NULL };
  static const char *const rl_names[] = { "changed", "full", "boot", NULL };
  /* Indexed by enum convert_compat. */
  static const char *const compat_names[] = { "off", "check", "fix", NULL };
  static const char *const legacy_names[] = { "auto", "yes", "no", NULL };
  static const char *const bd_names[] = { "virtio-blk", "virtio-scsi", NULL };
  /* Indexed by enum convert_health_probe. */
  static const char *const hp_names[] = { "yes", "no", "always", NULL };
  struct convert_options *opts = &a->opts;
  int v;

  switch (c) {
  case 'n': opts->dry_run = true; break;
  case 'r': a->report_file = arg; break;
  case 'R': opts->root = arg; break;
  case 'k': {
    char *k = resolve_key (arg);
    char **n;
    if (k == NULL)
      return -1;
    if ((n = realloc (a->keys, (a->nkeys + 2) * sizeof *n)) == NULL) {
      free (k);
      log_error ("out of memory");
      return -1;
    }
    a->keys = n;
    a->keys[a->nkeys++] = k;
    a->keys[a->nkeys] = NULL;
    break;
  }
  case 'c':
    if ((v = agent_parse_enum ("cloud-init", arg, ci_names)) < 0)
      return -1;
    opts->cloud_init = v;
    break;
  case 'a':
    if ((v = agent_parse_enum ("agents", arg, ag_names)) < 0)
      return -1;
    opts->agents = v;
    break;
  case 'N':
    if ((v = agent_parse_enum ("network", arg, net_names)) < 0)
      return -1;
    opts->network = v;
    break;
  case 's':
    if ((v = agent_parse_enum ("selinux-relabel", arg, rl_names)) < 0)
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
                               compat_names)) < 0)
      return -1;
    opts->compat = v;
    break;
  case 'V': opts->virtio_win = arg; break;
  case 'L': opts->virtio_win_legacy = arg; break;
  case 'l':
    if ((v = agent_parse_enum ("legacy-drivers", arg, legacy_names)) < 0)
      return -1;
    opts->legacy_drivers = v;
    break;
  case 'b':
    if ((v = agent_parse_enum ("block-driver", arg, bd_names)) < 0)
      return -1;
    opts->block_driver = v;
    break;
  case 'H':
    if ((v = agent_parse_enum ("health-probe", arg, hp_names)) < 0)
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
