/* v2v-agent convert [OPTIONS] [DISK...]
 *
 * blockdev (discover, probe, overlay) -> convert_run -> commit or
 * discard -> report.  The devices are written only by the final commit,
 * after every step of the conversion succeeded.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "blockdev.h"
#include "cleanup.h"
#include "convert.h"
#include "log.h"
#include "strv.h"
#include "sha256.h"

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
"  --network rework|keep                    (default rework)\n"
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

int
agent_parse_enum (const char *opt, const char *val,
                  int (*from_string) (const char *s))
{
  int v = from_string (val);

  if (v < 0)
    log_error ("--%s: unknown value '%s'", opt, val);
  return v < 0 ? -1 : v;
}

int
agent_exit_for (enum convert_status s)
{
  switch (s) {
  case CONVERT_OK: case CONVERT_ALREADY_DONE: return AGENT_EXIT_OK;
  case CONVERT_ERR_NO_OS:       return AGENT_EXIT_NO_OS;
  case CONVERT_ERR_MULTI_OS:    return AGENT_EXIT_MULTI_OS;
  case CONVERT_ERR_UNSUPPORTED: return AGENT_EXIT_UNSUPPORTED;
  case CONVERT_ERR_XEN_PV_ONLY: return AGENT_EXIT_XEN_PV_ONLY;
  case CONVERT_ERR_NO_SPACE:    return AGENT_EXIT_NO_SPACE;
  case CONVERT_ERR_FS_STATE:    return AGENT_EXIT_FS_STATE;
  case CONVERT_ERR_LUKS_KEY:    return AGENT_EXIT_LUKS_KEY;
  case CONVERT_ERR_FAILED:      return AGENT_EXIT_STEP_FAILED;
  case CONVERT_COMPAT_NEEDS_FIXES: return AGENT_EXIT_COMPAT_FIXES;
  case CONVERT_COMPAT_WONT_BOOT: return AGENT_EXIT_COMPAT_WONT_BOOT;
  case CONVERT_ERR_VIRTIO_WIN:  return AGENT_EXIT_VIRTIO_WIN;
  case CONVERT_ERR_BITLOCKER:   return AGENT_EXIT_BITLOCKER;
  default:                      return AGENT_EXIT_INTERNAL;
  }
}

/* "--key all:file:PATH" becomes "all:key:<contents>", so the secret is
 * read once, here, and never appears on a command line or in a log.
 */
char *
agent_resolve_key (const char *arg)
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

static void
on_progress (const char *phase, const char *msg, void *opaque)
{
  (void) opaque;
  log_set_phase (phase);
  log_info ("%s", msg);
}

static void
on_retry (void *opaque, const char *msg)
{
  (void) opaque;
  log_info ("waiting for device: %s", msg);
}

/* Default overlay directory: one per set of disks, stable across runs so
 * that an interrupted commit is found by the next run on the same disks.
 */
void
agent_default_overlay_dir (const struct blockdev_list *list, char *out, size_t len)
{
  char joined[4096] = "", sum[SHA256_HEX_LEN];
  const char *base = getenv ("V2V_OVERLAY_DIR");

  for (size_t i = 0; i < list->nr_disks; i++) {
    size_t n = strlen (joined);
    snprintf (joined + n, sizeof joined - n, "%s\n", list->disks[i].path);
  }
  sha256_hex_buffer (joined, strlen (joined), sum);
  snprintf (out, len, "%s/%.16s", base && *base ? base
            : "/var/tmp/v2v-kubevirt", sum);
}

int
agent_mkdir_p (const char *dir)
{
  char buf[512];

  snprintf (buf, sizeof buf, "%s", dir);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      if (mkdir (buf, 0700) == -1 && errno != EEXIST)
        return -errno;
      *p = '/';
    }
  if (mkdir (buf, 0700) == -1 && errno != EEXIST)
    return -errno;
  return 0;
}

void
agent_print_summary (struct json_object *report)
{
  struct json_object *steps, *changes, *warnings, *guest, *v;

  if (json_object_object_get_ex (report, "guest", &guest) &&
      json_object_object_get_ex (guest, "product", &v))
    fprintf (stderr, "guest: %s (%s)\n", json_object_get_string (v),
             json_object_get_string (json_object_object_get (guest, "root")));
  if (json_object_object_get_ex (report, "steps", &steps))
    for (size_t i = 0; i < json_object_array_length (steps); i++) {
      struct json_object *s = json_object_array_get_idx (steps, i);
      fprintf (stderr, "  %-11s %-8s %s\n",
               json_object_get_string (json_object_object_get (s, "step")),
               json_object_get_string (json_object_object_get (s, "result")),
               json_object_get_string (json_object_object_get (s, "reason")));
    }
  if (json_object_object_get_ex (report, "changes", &changes))
    for (size_t i = 0; i < json_object_array_length (changes); i++) {
      struct json_object *c = json_object_array_get_idx (changes, i);
      fprintf (stderr, "  %-10s %s\n",
               json_object_get_string (json_object_object_get (c, "action")),
               json_object_get_string (json_object_object_get (c, "path")));
    }
  if (json_object_object_get_ex (report, "preflight", &v)) {
    struct json_object *arr;
    fprintf (stderr, "compatibility preflight (SATA + e1000e): %s\n",
             json_object_get_string (json_object_object_get (v, "verdict")));
    static const char *const lists[] = { "reasons", "fixes", "warnings" };
    for (size_t l = 0; l < 3; l++)
      if (json_object_object_get_ex (v, lists[l], &arr))
        for (size_t i = 0; i < json_object_array_length (arr); i++)
          fprintf (stderr, "  %s: %s\n", l == 0 ? "why" : l == 1 ? "fix"
                   : "warning",
                   json_object_get_string (json_object_array_get_idx (arr, i)));
  }
  if (json_object_object_get_ex (report, "warnings", &warnings))
    for (size_t i = 0; i < json_object_array_length (warnings); i++)
      fprintf (stderr, "  warning: %s\n",
               json_object_get_string (json_object_array_get_idx (warnings, i)));
  fprintf (stderr, "result: %s%s\n",
           json_object_get_string (json_object_object_get (report, "status")),
           json_object_get_boolean (json_object_object_get (report, "dry_run"))
           ? " (dry run: nothing was written)" : "");
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
    char *k = agent_resolve_key (arg);
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
                               convert_cloud_init_from_string)) < 0)
      return -1;
    opts->cloud_init = v;
    break;
  case 'a':
    if ((v = agent_parse_enum ("agents", arg,
                               convert_agents_from_string)) < 0)
      return -1;
    opts->agents = v;
    break;
  case 'N':
    if ((v = agent_parse_enum ("network", arg,
                               convert_network_from_string)) < 0)
      return -1;
    opts->network = v;
    break;
  case 's':
    if ((v = agent_parse_enum ("selinux-relabel", arg,
                               convert_relabel_from_string)) < 0)
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
                               convert_compat_from_string)) < 0)
      return -1;
    opts->compat = v;
    break;
  case 'V': opts->virtio_win = arg; break;
  case 'L': opts->virtio_win_legacy = arg; break;
  case 'l':
    if ((v = agent_parse_enum ("legacy-drivers", arg,
                               convert_legacy_from_string)) < 0)
      return -1;
    opts->legacy_drivers = v;
    break;
  case 'b':
    if ((v = agent_parse_enum ("block-driver", arg,
                               convert_block_driver_from_string)) < 0)
      return -1;
    opts->block_driver = v;
    break;
  case 'H':
    if ((v = agent_parse_enum ("health-probe", arg,
                               convert_health_probe_from_string)) < 0)
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
  struct agent_convert_args a;
  struct blockdev_list *list = NULL;
  struct json_object *report = NULL;
  struct v2v_error err = { 0 };
  char odir[512];
  int c, ret = AGENT_EXIT_INTERNAL, r;

  agent_convert_args_init (&a);
  a.opts.progress = on_progress;
  a.bopts.on_retry = on_retry;
  if (agent_launch_timeout_from_env (&a.opts.launch_timeout) < 0) {
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
  a.opts.keys = a.keys;
  a.bopts.explicit_disks = optind < argc ? argv + optind : NULL;
  /* A compatibility check writes nothing, like a dry run. */
  bool read_only = a.opts.dry_run || a.opts.compat == CONVERT_COMPAT_CHECK;
  a.bopts.need_write = !read_only;

  log_set_phase ("devices");
  if (blockdev_discover (&a.bopts, &list, &err) < 0 ||
      blockdev_probe (list, &err) < 0) {
    log_error ("%s", err.msg);
    ret = AGENT_EXIT_DEVICE;
    goto out;
  }
  if (blockdev_check_bootable (list, &err) < 0) {
    log_error ("%s", err.msg);
    ret = AGENT_EXIT_NO_OS;
    goto out;
  }

  if (a.overlay && !read_only) {
    CLEANUP_FREE char *summary = NULL;
    if (a.overlay_dir == NULL) {
      agent_default_overlay_dir (list, odir, sizeof odir);
      a.overlay_dir = odir;
    }
    log_set_phase ("overlay");
    if (agent_mkdir_p (a.overlay_dir) < 0) {
      log_error ("cannot create the overlay directory %s: %m", a.overlay_dir);
      ret = AGENT_EXIT_DEVICE;
      goto out;
    }
    if (blockdev_overlay_recover (list, a.overlay_dir, true, &summary, &err) < 0 ||
        blockdev_overlay_create (list, a.overlay_dir, &err) < 0) {
      log_error ("%s", err.msg);
      ret = AGENT_EXIT_DEVICE;
      goto out;
    }
    if (summary)
      log_warn ("%s", summary);
  }

  enum convert_status status = convert_run (list, &a.opts, &report, &err);
  ret = agent_exit_for (status);

  if (status == CONVERT_OK && !read_only && a.overlay) {
    log_set_phase ("commit");
    log_info ("committing the overlays to the disks");
    if (blockdev_overlay_commit (list, &err) < 0) {
      log_error ("%s", err.msg);
      ret = AGENT_EXIT_COMMIT;
      json_object_object_add (report, "status",
                              json_object_new_string ("commit-failed"));
      json_object_object_add (report, "error",
                              json_object_new_string (err.msg));
    }
  }
  else
    blockdev_overlay_discard (list);

  log_set_phase ("report");
  json_object_object_add (report, "disks", blockdev_list_to_json (list));
  if (status == CONVERT_ALREADY_DONE)
    log_info ("the guest was already converted; nothing changed");
  else if (status == CONVERT_COMPAT_NEEDS_FIXES)
    log_warn ("compatibility mode needs fixes first: run with --compat=fix");
  else if (status == CONVERT_COMPAT_WONT_BOOT)
    log_error ("the guest will not boot in compatibility mode (SATA + "
               "e1000e); convert it to virtio instead (without --compat)");
  else if (status != CONVERT_OK)
    log_error ("%s", err.msg);
  agent_print_summary (report);
  if (a.report_file) {
    if (json_object_to_file_ext (a.report_file, report,
                                 JSON_C_TO_STRING_PRETTY |
                                 JSON_C_TO_STRING_NOSLASHESCAPE) < 0) {
      log_error ("--report %s: cannot write: %m", a.report_file);
      if (ret == AGENT_EXIT_OK)
        ret = AGENT_EXIT_INTERNAL;
    }
  }

out:
  json_object_put (report);
  blockdev_list_free (list);
  agent_convert_args_free (&a);
  return ret;
}
