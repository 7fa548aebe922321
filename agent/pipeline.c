/* The data path that "convert" and "run" share; see pipeline.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "pipeline.h"
#include "report.h"
#include "sha256.h"
#include "string-table.h"

static const char *const agent_disk_write_table[] = {
  [AGENT_DISK_UNTOUCHED]        = "untouched",
  [AGENT_DISK_COMMITTED]        = "committed",
  [AGENT_DISK_NOT_COMMITTED]    = "not-committed",
  [AGENT_DISK_WRITTEN_DIRECTLY] = "written-directly",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (agent_disk_write,
                                    enum agent_disk_write, "unknown")

const char *
agent_disk_write_name (enum agent_disk_write w)
{
  return agent_disk_write_to_string (w);
}

/* One run: the options, the hooks, and what has been found so far. */
struct pipeline {
  struct agent_convert_args *a;
  const struct agent_pipeline_hooks *h;
  struct agent_pipeline_result *ret;
  struct blockdev_list *list;
  struct v2v_error err;
  bool read_only;
  bool converted;               /* the conversion ran to its end */
  int report_fd;
};

static void
enter (struct pipeline *p, enum agent_phase phase, const char *message)
{
  if (p->h->phase)
    p->h->phase (p->h->opaque, phase, message);
}

static void
on_device_retry (void *opaque, const char *msg)
{
  struct pipeline *p = opaque;

  if (p->h->device_retry)
    p->h->device_retry (p->h->opaque, msg);
}

/* End the run with RESULT and MESSAGE (a printf format). */
static void end (struct pipeline *p, enum agent_result result,
                 const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

static void
end (struct pipeline *p, enum agent_result result, const char *fmt, ...)
{
  va_list ap;

  p->ret->result = result;
  va_start (ap, fmt);
  vsnprintf (p->ret->message, sizeof p->ret->message, fmt, ap);
  va_end (ap);
}

/* The default overlay directory: one per set of disks, stable across
 * runs, so that an interrupted commit is found by the next run on the
 * same disks.
 */
static void
default_overlay_dir (const struct blockdev_list *list, char *out, size_t len)
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

static int
mkdir_p (const char *dir)
{
  char buf[512];

  if (snprintf (buf, sizeof buf, "%s", dir) >= (int) sizeof buf)
    return -ENAMETOOLONG;
  for (char *q = buf + 1; *q; q++)
    if (*q == '/') {
      *q = '\0';
      if (mkdir (buf, 0700) == -1 && errno != EEXIST)
        return -errno;
      *q = '/';
    }
  if (mkdir (buf, 0700) == -1 && errno != EEXIST)
    return -errno;
  return 0;
}

/* Devices, probe, and the check that some disk could hold an OS.
 * Returns 0, or -1 with the run ended.
 */
static int
find_disks (struct pipeline *p)
{
  struct agent_convert_args *a = p->a;
  char msg[128];

  a->bopts.need_write = !p->read_only && !a->skip_conversion;
  a->bopts.on_retry = on_device_retry;
  a->bopts.on_retry_opaque = p;
  enter (p, AGENT_PHASE_DEVICES, "finding the disks");
  if (blockdev_discover (&a->bopts, &p->list, &p->err) < 0) {
    end (p, AGENT_RESULT_DEVICE, "%s", p->err.msg);
    return -1;
  }
  snprintf (msg, sizeof msg, "probing %zu disk(s)", p->list->nr_disks);
  enter (p, AGENT_PHASE_PROBE, msg);
  if (blockdev_probe (p->list, &p->err) < 0) {
    end (p, AGENT_RESULT_DEVICE, "%s", p->err.msg);
    return -1;
  }
  if (blockdev_check_bootable (p->list, &p->err) < 0) {
    end (p, AGENT_RESULT_NO_OS, "%s", p->err.msg);
    return -1;
  }
  return 0;
}

/* Overlays in front of the disks (finishing a commit an earlier run
 * left half done).  Returns 0, or -1 with the run ended.
 */
static int
protect_disks (struct pipeline *p)
{
  struct agent_convert_args *a = p->a;
  CLEANUP_FREE char *summary = NULL;
  int r;

  if (a->overlay_dir == NULL) {
    default_overlay_dir (p->list, a->overlay_dir_buf,
                         sizeof a->overlay_dir_buf);
    a->overlay_dir = a->overlay_dir_buf;
  }
  enter (p, AGENT_PHASE_OVERLAY,
         "putting copy-on-write overlays in front of the disks");
  if ((r = mkdir_p (a->overlay_dir)) < 0) {
    end (p, AGENT_RESULT_DEVICE, "cannot create the overlay directory %s: %s",
         a->overlay_dir, strerror (-r));
    return -1;
  }
  if (blockdev_overlay_recover (p->list, a->overlay_dir, true, &summary,
                                &p->err) < 0 ||
      blockdev_overlay_create (p->list, a->overlay_dir, &p->err) < 0) {
    end (p, AGENT_RESULT_DEVICE, "%s", p->err.msg);
    return -1;
  }
  if (summary && p->h->warning)
    p->h->warning (p->h->opaque, summary);
  return 0;
}

/* The one-line summary of a conversion that did not fail. */
static void
summarise (struct pipeline *p)
{
  const char *product = p->ret->product ? p->ret->product : "the guest";

  switch (p->ret->result) {
  case AGENT_RESULT_ALREADY_CONVERTED:
    end (p, p->ret->result, "%s was already converted; nothing changed",
         product);
    break;
  case AGENT_RESULT_PLANNED:
    end (p, p->ret->result, "%s: planned (dry run: nothing was written)",
         product);
    break;
  case AGENT_RESULT_COMPAT_BOOTABLE:
    end (p, p->ret->result, "%s boots on SATA + e1000e%s", product,
         p->read_only ? " (checked: nothing written)" : "");
    break;
  case AGENT_RESULT_COMPAT_FIXED:
    end (p, p->ret->result, "%s was fixed to boot on SATA + e1000e",
         product);
    break;
  case AGENT_RESULT_COMPAT_NEEDS_FIXES:
    end (p, p->ret->result, "compatibility mode needs fixes first: run "
         "with --compat=fix");
    break;
  case AGENT_RESULT_COMPAT_WONT_BOOT:
    end (p, p->ret->result, "the guest will not boot in compatibility "
         "mode (SATA + e1000e); convert it to virtio instead (without "
         "--compat)");
    break;
  default:
    end (p, p->ret->result, "%s was converted", product);
    break;
  }
}

/* Inspect and convert; then commit, or discard the overlays. */
static void
convert (struct pipeline *p)
{
  struct agent_convert_args *a = p->a;
  struct json_object *report = NULL, *guest;
  int s;

  enter (p, AGENT_PHASE_INSPECT,
         "starting the appliance and inspecting the guest");
  a->opts.keys = a->keys;
  if (p->h->convert)
    s = p->h->convert (p->h->opaque, p->list, &a->opts, &report, &p->err);
  else
    s = convert_run (p->list, &a->opts, &report, &p->err);
  p->ret->report = report;

  if (s < 0) {
    blockdev_overlay_discard (p->list);
    end (p, p->h->stopped ? p->h->stopped (p->h->opaque)
                          : AGENT_RESULT_INTERNAL, "%s", p->err.msg);
    return;
  }
  p->converted = true;
  if (report &&
      json_get_object (report, CONVERT_REPORT_GUEST, &guest, NULL) == 0)
    json_get_string (guest, CONVERT_REPORT_GUEST_PRODUCT, &p->ret->product,
                     NULL);
  p->ret->result = agent_result_from_convert
    (s, &a->opts, report && json_object_object_get_ex
     (report, CONVERT_REPORT_PREFLIGHT_AFTER_FIXES, NULL));
  if (agent_result_succeeded (p->ret->result) ||
      p->ret->result == AGENT_RESULT_COMPAT_NEEDS_FIXES ||
      p->ret->result == AGENT_RESULT_COMPAT_WONT_BOOT)
    summarise (p);
  else
    end (p, p->ret->result, "%s", p->err.msg);
  if (report && p->h->converted)
    p->h->converted (p->h->opaque, report);

  /* Only a conversion that wrote something is committed: not a dry run,
   * a check, or a guest converted before.
   */
  if (p->read_only || !a->overlay ||
      (p->ret->result != AGENT_RESULT_CONVERTED &&
       p->ret->result != AGENT_RESULT_COMPAT_FIXED &&
       p->ret->result != AGENT_RESULT_COMPAT_BOOTABLE)) {
    blockdev_overlay_discard (p->list);
    return;
  }
  if (p->h->commit)
    p->h->commit (p->h->opaque, true);
  enter (p, AGENT_PHASE_COMMIT, "writing the converted guest to the disks");
  if (blockdev_overlay_commit (p->list, &p->err) < 0)
    end (p, AGENT_RESULT_COMMIT_FAILED, "%s", p->err.msg);
  if (p->h->commit)
    p->h->commit (p->h->opaque, false);
}

/* What became of each disk, from the list after commit or discard. */
static void
record_disks (struct pipeline *p)
{
  struct agent_pipeline_result *ret = p->ret;
  bool wrote = !p->read_only &&
    (ret->result == AGENT_RESULT_CONVERTED ||
     ret->result == AGENT_RESULT_COMPAT_FIXED ||
     ret->result == AGENT_RESULT_COMPAT_BOOTABLE ||
     ret->result == AGENT_RESULT_COMMIT_FAILED);

  if (p->list == NULL)
    return;
  ret->disks = calloc (p->list->nr_disks, sizeof *ret->disks);
  if (ret->disks == NULL)
    return;
  ret->nr_disks = p->list->nr_disks;
  for (size_t i = 0; i < p->list->nr_disks; i++) {
    const struct blockdev_disk *d = &p->list->disks[i];

    if (!wrote)
      ret->disks[i] = AGENT_DISK_UNTOUCHED;
    else if (!p->a->overlay)
      ret->disks[i] = AGENT_DISK_WRITTEN_DIRECTLY;
    else if (d->committed)
      ret->disks[i] = AGENT_DISK_COMMITTED;
    else
      ret->disks[i] = AGENT_DISK_NOT_COMMITTED;
  }
}

/* The report's outcome: status, error, and the disks with what became
 * of each.  An early failure gets a report too, with no guest in it.
 */
static void
complete_report (struct pipeline *p)
{
  struct agent_pipeline_result *ret = p->ret;
  const struct agent_result_info *info = agent_result_info (ret->result);
  struct json_object *disks;

  if (ret->report == NULL && (ret->report = json_object_new_object ()) == NULL)
    return;
  json_object_object_add (ret->report, CONVERT_REPORT_STATUS,
                          json_object_new_string (info->name));
  if (info->outcome != AGENT_OUTCOME_SUCCEEDED && ret->message[0])
    json_object_object_add (ret->report, CONVERT_REPORT_ERROR,
                            json_object_new_string (ret->message));
  else
    json_object_object_del (ret->report, CONVERT_REPORT_ERROR);
  if (p->list == NULL)
    return;
  disks = blockdev_list_to_json (p->list);
  for (size_t i = 0; disks && i < ret->nr_disks &&
         i < json_object_array_length (disks); i++)
    json_object_object_add (json_object_array_get_idx (disks, i),
                            CONVERT_REPORT_DISK_WRITE, json_object_new_string
                            (agent_disk_write_name (ret->disks[i])));
  json_object_object_add (ret->report, CONVERT_REPORT_DISKS, disks);
}

/* Write the report to the descriptor opened at the start.  A report
 * that cannot be written fails a run that otherwise succeeded (the
 * caller asked for it, and it is the only record of what changed); a
 * run that failed keeps its own, more telling result.
 */
static void
write_report (struct pipeline *p)
{
  const char *s;
  size_t len, off = 0;
  char why[V2V_ERROR_MAX];

  if (p->report_fd < 0)
    return;
  s = json_object_to_json_string_ext (p->ret->report,
                                      JSON_C_TO_STRING_PRETTY |
                                      JSON_C_TO_STRING_NOSLASHESCAPE);
  len = s ? strlen (s) : 0;
  while (s && off < len) {
    ssize_t n = write (p->report_fd, s + off, len - off);
    if (n == -1 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    off += n;
  }
  if (s && off == len && write (p->report_fd, "\n", 1) == 1 &&
      close (p->report_fd) == 0) {
    p->report_fd = -1;
    return;
  }
  snprintf (why, sizeof why, "--report %s: cannot write: %s",
            p->a->report_file, s ? strerror (errno) : "out of memory");
  close (p->report_fd);
  p->report_fd = -1;
  if (agent_result_succeeded (p->ret->result)) {
    char done[sizeof p->ret->message];

    snprintf (done, sizeof done, "%s", p->ret->message);
    end (p, AGENT_RESULT_REPORT_NOT_WRITTEN, "%s (the run itself ended: %s)",
         why, done);
  }
  else
    log_error ("%s", why);
}

int
agent_pipeline_run (struct agent_convert_args *a,
                    const struct agent_pipeline_hooks *hooks,
                    struct agent_pipeline_result *ret)
{
  static const struct agent_pipeline_hooks no_hooks = { 0 };
  struct pipeline p = {
    .a = a, .h = hooks ? hooks : &no_hooks, .ret = ret, .report_fd = -1,
  };

  memset (ret, 0, sizeof *ret);
  /* A compatibility check writes nothing, like a dry run. */
  p.read_only = a->opts.dry_run || a->opts.compat == CONVERT_COMPAT_CHECK;

  /* An unwritable --report is found before anything is done, not after
   * the disks were converted.
   */
  if (a->report_file) {
    p.report_fd = open (a->report_file,
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (p.report_fd == -1) {
      end (&p, AGENT_RESULT_USAGE, "--report %s: cannot open: %s",
           a->report_file, strerror (errno));
      return AGENT_EXIT_USAGE;
    }
  }

  if (find_disks (&p) == 0) {
    if (a->skip_conversion)
      end (&p, AGENT_RESULT_SKIPPED, "%zu disk(s) found; conversion "
           "skipped (--skip-conversion)", p.list->nr_disks);
    else if (!a->overlay || p.read_only || protect_disks (&p) == 0)
      convert (&p);
  }

  /* A run that failed before the end of the conversion stays in the
   * phase it failed in.
   */
  if (p.converted)
    enter (&p, AGENT_PHASE_REPORT, "reporting the outcome");
  record_disks (&p);
  complete_report (&p);
  write_report (&p);
  blockdev_list_free (p.list);
  return agent_result_info (ret->result)->exit_code;
}

void
agent_pipeline_result_free (struct agent_pipeline_result *r)
{
  json_object_put (r->report);
  free (r->disks);
  memset (r, 0, sizeof *r);
}
