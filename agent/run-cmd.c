/* v2v-agent run: the conversion pod's entrypoint.
 *
 * The phases are those of "convert" (devices, probe, overlay, inspect,
 * convert, commit, report), with the cluster told about each one
 * (reporter.c), a termination message at the end, optional HTTP
 * endpoints (httpd.c), and a safe stop on SIGTERM, SIGINT, --timeout or
 * POST /shutdown.
 *
 * Inspection and conversion run in a child process.  That is what makes
 * cancelling safe and prompt: the child (and through libguestfs's
 * recovery process, its appliance) is killed, and since the appliance
 * only ever wrote to the overlays, discarding them leaves every device
 * as it was.  Before the child starts nothing has been written, so a
 * signal then ends the run at once.  A commit that has begun is allowed
 * to finish, as stopping it halfway would leave the disks neither old
 * nor new; a second signal forces exit at any time, and the commit
 * journal then lets the next run finish the job (docs/blockdev.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accel.h"
#include "agent.h"
#include "blockdev.h"
#include "buf.h"
#include "cleanup.h"
#include "convert.h"
#include "httpd.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "reporter.h"
#include "spawn.h"
#include "status.h"
#include "timeutil.h"

#define TERMINATION_LOG_DEFAULT "/dev/termination-log"
#define TERMINATION_MAX 4096
#define FINAL_REPORT_DEADLINE_MS (30 * 1000)
#define CANCEL_REPORT_DEADLINE_MS (10 * 1000)
#define CHILD_OUTPUT_MAX (16 * 1024 * 1024)

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

/* What the run is doing, for the signal thread.  Guarded by run_lock. */
enum run_stage {
  STAGE_BEFORE_CHILD,           /* nothing written: a signal ends the run */
  STAGE_CHILD,                  /* the child converts: kill it */
  STAGE_COMMIT,                 /* writing the disks: let it finish */
  STAGE_AFTER,                  /* reporting the outcome */
};

struct run {
  struct agent_status *st;
  struct reporter *rep;
  const char *termination_log;

  pthread_mutex_t lock;
  enum run_stage stage;
  pid_t child;
  /* Set by the signal thread; read by the main thread.  CANCEL_REASON
   * is "Cancelled" or "Timeout".
   */
  atomic_bool cancelled;
  atomic_bool finishing;        /* finish() has been entered */
  const char *cancel_reason;
  char cancel_msg[128];
};

static void
write_termination_log (struct run *run)
{
  struct buf b;
  int fd;

  if (run->termination_log == NULL || *run->termination_log == '\0')
    return;
  buf_init (&b, TERMINATION_MAX + 1);
  if (agent_status_termination_message (run->st, TERMINATION_MAX, &b) < 0) {
    buf_free (&b);
    return;
  }
  fd = open (run->termination_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
             0644);
  if (fd == -1) {
    /* Outside a pod there is usually no /dev/termination-log. */
    log_debug ("termination message not written: %s: %m",
               run->termination_log);
    buf_free (&b);
    return;
  }
  if (write (fd, b.data, b.len) != (ssize_t) b.len)
    log_warn ("writing the termination message to %s: %m",
              run->termination_log);
  close (fd);
  buf_free (&b);
}

/* The end of every run: the status, an Event, the termination message,
 * a log line, and the reporter flushed for at most DEADLINE_MS.  Only
 * the first caller of the main thread and the signal thread does it;
 * returns whether this one did.
 */
static bool
finish (struct run *run, enum agent_outcome outcome, const char *reason,
        int code, const char *message, int64_t deadline_ms)
{
  if (atomic_exchange (&run->finishing, true))
    return false;
  agent_status_finish (run->st, outcome, reason, code, message);
  if (outcome == AGENT_OUTCOME_SUCCEEDED)
    log_info ("%s: %s", reason, message);
  else
    log_error ("%s: %s (exit code %d)", reason, message, code);
  reporter_event (run->rep, outcome != AGENT_OUTCOME_SUCCEEDED,
                  reason, message);
  reporter_update (run->rep);
  write_termination_log (run);
  reporter_finish (run->rep, deadline_ms);
  run->rep = NULL;
  return true;
}

static void
enter_phase (struct run *run, enum agent_phase phase, const char *reason,
             const char *message)
{
  log_set_phase (agent_phase_to_string (phase));
  agent_status_set_phase (run->st, phase);
  agent_status_set_message (run->st, message);
  log_info ("%s", message);
  reporter_event (run->rep, false, reason, message);
  reporter_update (run->rep);
}

/* --- Signals ------------------------------------------------------- */

struct sigthread_args {
  struct run *run;
  sigset_t set;
  int64_t timeout_ms;           /* 0: none */
};

/* The only thread that takes SIGTERM and SIGINT (they are blocked in
 * every other).  SIGUSR1 tells it to go away at the end of the run.
 */
static void *
signal_thread (void *arg)
{
  struct sigthread_args *a = arg;
  struct run *run = a->run;
  int64_t deadline = now_ms () + a->timeout_ms;
  bool first = true;

  for (;;) {
    int sig;
    const char *reason = "Cancelled";

    if (a->timeout_ms > 0 && first) {
      int64_t ms = deadline - now_ms ();
      struct timespec left = { 0, 0 };
      if (ms > 0) {
        left.tv_sec = ms / 1000;
        left.tv_nsec = (ms % 1000) * 1000000;
      }
      sig = sigtimedwait (&a->set, NULL, &left);
    }
    else
      sig = sigwaitinfo (&a->set, NULL);
    if (sig == -1 && errno == EINTR)
      continue;
    if (sig == SIGUSR1)
      return NULL;
    if (sig == -1 && errno == EAGAIN)
      reason = "Timeout";
    else if (sig == -1)
      continue;

    if (!first) {
      log_error ("second signal: exiting now; the overlays still protect "
                 "the disks, and an interrupted commit is finished by the "
                 "next run");
      agent_status_finish (run->st, AGENT_OUTCOME_CANCELLED, "Cancelled",
                           AGENT_EXIT_CANCELLED, "forced exit");
      write_termination_log (run);
      _exit (AGENT_EXIT_CANCELLED);
    }
    first = false;

    pthread_mutex_lock (&run->lock);
    if (strcmp (reason, "Timeout") == 0)
      snprintf (run->cancel_msg, sizeof run->cancel_msg,
                "--timeout: %" PRIi64 " s passed", a->timeout_ms / 1000);
    else
      snprintf (run->cancel_msg, sizeof run->cancel_msg,
                "%s received", sigabbrev_np (sig) ? sigabbrev_np (sig) : "signal");
    run->cancel_reason = reason;
    atomic_store (&run->cancelled, true);
    log_warn ("%s: cancelling (a second signal forces exit)",
              run->cancel_msg);

    switch (run->stage) {
    case STAGE_BEFORE_CHILD:
      /* Nothing has been written to any device.  The main thread may
       * be waiting for devices for minutes, so end the run from here.
       */
      if (finish (run, AGENT_OUTCOME_CANCELLED, reason, AGENT_EXIT_CANCELLED,
                  run->cancel_msg, CANCEL_REPORT_DEADLINE_MS))
        _exit (AGENT_EXIT_CANCELLED);
      break;
    case STAGE_CHILD:
      /* The main thread sees the child die, discards the overlays and
       * reports.  libguestfs's recovery process kills the appliance.
       */
      if (run->child > 0)
        kill (run->child, SIGKILL);
      break;
    case STAGE_COMMIT:
      log_warn ("the commit to the disks has begun and will finish first");
      break;
    case STAGE_AFTER:
      break;
    }
    pthread_mutex_unlock (&run->lock);
  }
}

/* --- The child ----------------------------------------------------- */

static int child_fd = -1;

static void
child_write (struct json_object *o)
{
  const char *s = json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN |
                                                  JSON_C_TO_STRING_NOSLASHESCAPE);
  size_t len = strlen (s), off = 0;

  while (off < len) {
    ssize_t n = write (child_fd, s + off, len - off);
    if (n == -1 && errno == EINTR)
      continue;
    if (n <= 0)
      _exit (AGENT_EXIT_INTERNAL);
    off += n;
  }
  if (write (child_fd, "\n", 1) != 1)
    _exit (AGENT_EXIT_INTERNAL);
}

static void
child_progress (const char *phase, const char *msg, void *opaque)
{
  CLEANUP_JSON struct json_object *o = json_object_new_object ();

  (void) opaque;
  log_set_phase (phase);
  log_info ("%s", msg);
  json_object_object_add (o, "phase", json_object_new_string (phase));
  json_object_object_add (o, "msg", json_object_new_string (msg));
  child_write (o);
}

struct child_args {
  struct blockdev_list *list;
  struct convert_options *opts;
  int fds[2];                   /* the pipe to the parent */
};

/* Started by spawn_fork in its own process group: a signal to the
 * agent's group (Ctrl-C on a terminal, timeout(1), a shell's kill)
 * reaches the agent alone, which decides what becomes of the
 * conversion.  If the agent dies, so does the conversion.
 */
static void __attribute__ ((noreturn))
child_main (void *opaque)
{
  struct child_args *c = opaque;
  struct blockdev_list *list = c->list;
  struct convert_options *opts = c->opts;
  struct json_object *report = NULL;
  struct v2v_error err = { 0 };

  close (c->fds[0]);
  child_fd = c->fds[1];
  opts->progress = child_progress;
  enum convert_status s = convert_run (list, opts, &report, &err);
  CLEANUP_JSON struct json_object *o = json_object_new_object ();
  json_object_object_add (o, "result", json_object_new_int (s));
  json_object_object_add (o, "error", json_object_new_string (err.msg));
  json_object_object_add (o, "report", report);
  child_write (o);
  _exit (0);
}

/* Map the child's progress lines onto phases and percentages. */
static void
on_child_line (struct run *run, struct json_object *o, int *step_pct)
{
  const char *phase, *msg;

  if (json_get_string (o, "phase", &phase, NULL) < 0 ||
      json_get_string (o, "msg", &msg, NULL) < 0)
    return;
  if (strcmp (phase, "launch") == 0 || strcmp (phase, "inspect") == 0 ||
      strcmp (phase, "preflight") == 0) {
    int pct = agent_phase_floor (AGENT_PHASE_INSPECT);
    agent_status_set_progress (run->st, strcmp (phase, "launch") == 0
                               ? pct : pct + 10);
    agent_status_set_message (run->st, msg);
  }
  else if (agent_status_phase (run->st) != AGENT_PHASE_CONVERT)
    enter_phase (run, AGENT_PHASE_CONVERT, "Converting", msg);
  else {
    /* Each rework step moves 5 %, stopping short of the commit. */
    int pct = agent_phase_floor (AGENT_PHASE_CONVERT) + (*step_pct += 5);
    int top = agent_phase_floor (AGENT_PHASE_COMMIT) - 5;
    char line[512];

    agent_status_set_progress (run->st, pct < top ? pct : top);
    snprintf (line, sizeof line, "%s: %s", phase, msg);
    agent_status_set_message (run->st, line);
  }
  reporter_update (run->rep);
}

/* Run the conversion in a child.  Returns the convert status, with the
 * report in *RET_REPORT, or -1 if the child died (killed on cancel, or
 * crashed) with a message in ERR.
 */
static int
run_child (struct run *run, struct blockdev_list *list,
           struct convert_options *opts, struct json_object **ret_report,
           struct v2v_error *err)
{
  struct child_args c = { list, opts, { -1, -1 } };
  int *fds = c.fds, r;
  pid_t pid = 0;
  struct buf line;
  int result = -1, step_pct = 0, status;
  char chunk[65536];

  if (pipe2 (fds, O_CLOEXEC) == -1)
    return v2v_error_errno (err, -errno, "pipe"), -1;

  pthread_mutex_lock (&run->lock);
  if (atomic_load (&run->cancelled)) {
    pthread_mutex_unlock (&run->lock);
    close (fds[0]);
    close (fds[1]);
    v2v_error_set (err, -ECANCELED, "cancelled");
    return -1;
  }
  fflush (stderr);
  r = spawn_fork (child_main, &c, 1, &pid, err);
  if (r == 0) {
    run->child = pid;
    run->stage = STAGE_CHILD;
  }
  pthread_mutex_unlock (&run->lock);
  close (fds[1]);
  if (r < 0) {
    close (fds[0]);
    return -1;
  }

  buf_init (&line, CHILD_OUTPUT_MAX);
  for (;;) {
    ssize_t n = read (fds[0], chunk, sizeof chunk);
    if (n == -1 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n; i++) {
      if (chunk[i] != '\n') {
        if (buf_append (&line, &chunk[i], 1) < 0)
          break;
        continue;
      }
      CLEANUP_JSON struct json_object *o = NULL;
      struct json_object *v;
      if (line.len && json_parse (line.data, line.len, 0, &o, NULL) == 0 &&
          o) {
        if (json_object_object_get_ex (o, "result", &v)) {
          result = json_object_get_int (v);
          json_object_object_get_ex (o, "report", &v);
          *ret_report = json_object_get (v);
          json_object_object_get_ex (o, "error", &v);
          v2v_error_set (err, -EIO, "%s", json_object_get_string (v));
        }
        else
          on_child_line (run, o, &step_pct);
      }
      line.len = 0;
    }
  }
  buf_free (&line);
  close (fds[0]);

  if (spawn_wait (pid, &status) < 0)
    status = W_EXITCODE (AGENT_EXIT_INTERNAL, 0);
  pthread_mutex_lock (&run->lock);
  run->child = 0;
  run->stage = STAGE_AFTER;
  pthread_mutex_unlock (&run->lock);

  if (WIFSIGNALED (status) && result < 0)
    v2v_error_set (err, -EINTR, "the conversion process was killed by %s",
                   sigabbrev_np (WTERMSIG (status)) ?: "a signal");
  else if (result < 0)
    v2v_error_set (err, -EIO, "the conversion process exited with status %d "
                   "and no result", WEXITSTATUS (status));
  return result;
}

/* --- The phases ---------------------------------------------------- */

/* The outcome for each exit code of a finished conversion. */
static const struct {
  int code;
  enum agent_outcome outcome;
  const char *reason;
} outcomes[] = {
  { AGENT_EXIT_OK, AGENT_OUTCOME_SUCCEEDED, "Converted" },
  { AGENT_EXIT_DEVICE, AGENT_OUTCOME_DEVICE_ERROR, "DeviceError" },
  { AGENT_EXIT_COMMIT, AGENT_OUTCOME_DEVICE_ERROR, "CommitFailed" },
  { AGENT_EXIT_NO_OS, AGENT_OUTCOME_REFUSED, "NoOperatingSystem" },
  { AGENT_EXIT_MULTI_OS, AGENT_OUTCOME_REFUSED, "MultipleOperatingSystems" },
  { AGENT_EXIT_UNSUPPORTED, AGENT_OUTCOME_REFUSED, "Unsupported" },
  { AGENT_EXIT_XEN_PV_ONLY, AGENT_OUTCOME_REFUSED, "XenPVOnly" },
  { AGENT_EXIT_NO_SPACE, AGENT_OUTCOME_REFUSED, "NoSpace" },
  { AGENT_EXIT_FS_STATE, AGENT_OUTCOME_REFUSED, "FilesystemState" },
  { AGENT_EXIT_LUKS_KEY, AGENT_OUTCOME_REFUSED, "LUKSKey" },
  { AGENT_EXIT_VIRTIO_WIN, AGENT_OUTCOME_REFUSED, "VirtioWin" },
  { AGENT_EXIT_BITLOCKER, AGENT_OUTCOME_REFUSED, "BitLocker" },
  { AGENT_EXIT_COMPAT_FIXES, AGENT_OUTCOME_REFUSED, "CompatNeedsFixes" },
  { AGENT_EXIT_COMPAT_WONT_BOOT, AGENT_OUTCOME_REFUSED, "CompatWillNotBoot" },
  { AGENT_EXIT_STEP_FAILED, AGENT_OUTCOME_FAILED, "StepFailed" },
  { AGENT_EXIT_CANCELLED, AGENT_OUTCOME_CANCELLED, "Cancelled" },
};

static void
finish_code (struct run *run, int code, const char *message)
{
  for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++)
    if (outcomes[i].code == code) {
      finish (run, outcomes[i].outcome, outcomes[i].reason, code, message,
              FINAL_REPORT_DEADLINE_MS);
      return;
    }
  finish (run, AGENT_OUTCOME_FAILED, "InternalError", code, message,
          FINAL_REPORT_DEADLINE_MS);
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
on_httpd_shutdown (void *opaque)
{
  (void) opaque;
  /* The same path as a signal: the signal thread takes it. */
  kill (getpid (), SIGTERM);
}

/* The part of the run between discovering the disks and the outcome.
 * Returns the exit code; the outcome has been reported.
 */
static int
run_phases (struct run *run, struct agent_convert_args *a,
            bool skip_conversion)
{
  struct blockdev_list *list = NULL;
  struct json_object *report = NULL;
  struct v2v_error err = { 0 };
  char odir[512], msg[256];
  int code;

  bool read_only = a->opts.dry_run || a->opts.compat == CONVERT_COMPAT_CHECK;
  a->bopts.need_write = !read_only && !skip_conversion;
  a->bopts.on_retry = on_device_retry;
  a->bopts.on_retry_opaque = run;

  enter_phase (run, AGENT_PHASE_DEVICES, "Devices", "finding the disks");
  if (blockdev_discover (&a->bopts, &list, &err) < 0) {
    finish_code (run, AGENT_EXIT_DEVICE, err.msg);
    return AGENT_EXIT_DEVICE;
  }
  snprintf (msg, sizeof msg, "probing %zu disk(s)", list->nr_disks);
  enter_phase (run, AGENT_PHASE_PROBE, "Probing", msg);
  if (blockdev_probe (list, &err) < 0) {
    code = AGENT_EXIT_DEVICE;
    goto fail;
  }
  if (blockdev_check_bootable (list, &err) < 0) {
    code = AGENT_EXIT_NO_OS;
    goto fail;
  }
  if (skip_conversion) {
    snprintf (msg, sizeof msg, "%zu disk(s) found; conversion skipped "
              "(--skip-conversion)", list->nr_disks);
    blockdev_list_free (list);
    finish (run, AGENT_OUTCOME_SUCCEEDED, "ConversionSkipped",
            AGENT_EXIT_OK, msg, FINAL_REPORT_DEADLINE_MS);
    return AGENT_EXIT_OK;
  }

  if (a->overlay && !read_only) {
    CLEANUP_FREE char *summary = NULL;
    const char *dir = a->overlay_dir;
    if (dir == NULL) {
      agent_default_overlay_dir (list, odir, sizeof odir);
      dir = odir;
    }
    enter_phase (run, AGENT_PHASE_OVERLAY, "Overlay",
                 "putting copy-on-write overlays in front of the disks");
    if (agent_mkdir_p (dir) < 0) {
      v2v_error_errno (&err, -errno, "cannot create the overlay directory %s",
                       dir);
      code = AGENT_EXIT_DEVICE;
      goto fail;
    }
    if (blockdev_overlay_recover (list, dir, true, &summary, &err) < 0 ||
        blockdev_overlay_create (list, dir, &err) < 0) {
      code = AGENT_EXIT_DEVICE;
      goto fail;
    }
    if (summary) {
      log_warn ("%s", summary);
      agent_status_add_warning (run->st, summary);
    }
  }

  enter_phase (run, AGENT_PHASE_INSPECT, "Inspecting",
               "starting the appliance and inspecting the guest");
  a->opts.keys = a->keys;
  int s = run_child (run, list, &a->opts, &report, &err);

  if (s < 0) {
    blockdev_overlay_discard (list);
    if (atomic_load (&run->cancelled)) {
      log_info ("the overlays were discarded; the disks are unchanged");
      blockdev_list_free (list);
      finish (run, AGENT_OUTCOME_CANCELLED, run->cancel_reason,
              AGENT_EXIT_CANCELLED, run->cancel_msg,
              CANCEL_REPORT_DEADLINE_MS);
      return AGENT_EXIT_CANCELLED;
    }
    code = AGENT_EXIT_INTERNAL;
    goto fail;
  }

  if (report) {
    struct json_object *w, *v;
    agent_status_set_report (run->st, report);
    if (json_object_object_get_ex (report, "accelerator", &v))
      agent_status_set_accel (run->st, json_object_get_string (v));
    if (json_object_object_get_ex (report, "warnings", &w))
      for (size_t i = 0; i < json_object_array_length (w); i++) {
        const char *wm = json_object_get_string (json_object_array_get_idx (w, i));
        agent_status_add_warning (run->st, wm);
        reporter_event (run->rep, true, "ConversionWarning", wm);
      }
  }
  code = agent_exit_for (s);

  if (s == CONVERT_OK && !read_only && a->overlay) {
    pthread_mutex_lock (&run->lock);
    run->stage = STAGE_COMMIT;
    pthread_mutex_unlock (&run->lock);
    enter_phase (run, AGENT_PHASE_COMMIT, "Committing",
                 "writing the converted guest to the disks");
    if (blockdev_overlay_commit (list, &err) < 0)
      code = AGENT_EXIT_COMMIT;
    pthread_mutex_lock (&run->lock);
    run->stage = STAGE_AFTER;
    pthread_mutex_unlock (&run->lock);
  }
  else
    blockdev_overlay_discard (list);

  enter_phase (run, AGENT_PHASE_REPORT, "Reporting", "reporting the outcome");
  if (report)
    json_object_object_add (report, "disks", blockdev_list_to_json (list));
  if (a->report_file && report &&
      json_object_to_file_ext (a->report_file, report,
                               JSON_C_TO_STRING_PRETTY |
                               JSON_C_TO_STRING_NOSLASHESCAPE) < 0)
    log_warn ("--report %s: cannot write: %m", a->report_file);
  blockdev_list_free (list);

  if (code == AGENT_EXIT_OK) {
    const char *product = NULL;
    struct json_object *g;
    if (report && json_object_object_get_ex (report, "guest", &g))
      json_get_string (g, "product", &product, NULL);
    snprintf (msg, sizeof msg, "%s %s%s",
              product ? product : "the guest",
              s == CONVERT_ALREADY_DONE ? "was already converted"
              : read_only ? "was checked (nothing written)" : "was converted",
              atomic_load (&run->cancelled)
              ? " (a cancel came during the commit)" : "");
    json_object_put (report);
    finish (run, AGENT_OUTCOME_SUCCEEDED,
            s == CONVERT_ALREADY_DONE ? "AlreadyConverted" : "Converted",
            AGENT_EXIT_OK, msg, FINAL_REPORT_DEADLINE_MS);
    return AGENT_EXIT_OK;
  }
  json_object_put (report);
  finish_code (run, code, err.msg[0] ? err.msg : "the conversion failed");
  return code;

fail:
  blockdev_list_free (list);
  json_object_put (report);
  finish_code (run, code, err.msg);
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
  struct sigthread_args sa = { .run = &run };
  struct kube_config *kube = NULL;
  struct agent_httpd *httpd = NULL;
  struct v2v_error err = { 0 };
  const char *status_url = NULL, *listen_addr = NULL;
  const char *vm_name = NULL, *new_name = NULL;
  bool skip = false;
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
    case OPT_SKIP: skip = true; continue;
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

  if (pthread_create (&sigthread, NULL, signal_thread, &sa) != 0) {
    log_error ("cannot start the signal thread: %m");
    reporter_finish (run.rep, 1);
    goto out_httpd;
  }

  {
    struct accel_result acc;
    if (accel_detect (ACCEL_PROBE_TIMEOUT_MS, &acc, &err) == 0) {
      agent_status_set_accel (run.st, accel_kind_to_string (acc.kind));
      log_info ("accelerator: %s (%s)", accel_kind_to_string (acc.kind), acc.reason);
    }
  }

  ret = run_phases (&run, &a, skip);

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
