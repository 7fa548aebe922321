/* The conversion of "v2v-agent run" in a child process (see run-stop.c
 * for why): it sends its progress and, at the end, its result and report
 * to the parent as JSON lines on a pipe, which the parent turns into
 * phases, progress and messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "run.h"
#include "spawn.h"

#define CHILD_OUTPUT_MAX (16 * 1024 * 1024)

void
run_enter_phase (struct run *run, enum agent_phase phase, const char *reason,
             const char *message)
{
  log_set_phase (agent_phase_to_string (phase));
  agent_status_set_phase (run->st, phase);
  agent_status_set_message (run->st, message);
  log_info ("%s", message);
  reporter_event (run->rep, false, reason, message);
  reporter_update (run->rep);
}

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
  const struct blockdev_list *list;
  const struct convert_options *opts;
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
  const struct blockdev_list *list = c->list;
  const struct convert_options *opts = c->opts;
  struct json_object *report = NULL;
  struct v2v_error err = { 0 };

  close (c->fds[0]);
  child_fd = c->fds[1];
  struct convert_options copts = *opts;
  copts.progress = child_progress;
  enum convert_status s = convert_run (list, &copts, &report, &err);
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
    run_enter_phase (run, AGENT_PHASE_CONVERT, "Converting", msg);
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

int
run_child (struct run *run, const struct blockdev_list *list,
           const struct convert_options *opts,
           struct json_object **ret_report, struct v2v_error *err)
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
    run->stage = RUN_STAGE_CHILD;
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
  run->stage = RUN_STAGE_AFTER;
  pthread_mutex_unlock (&run->lock);

  if (WIFSIGNALED (status) && result < 0)
    v2v_error_set (err, -EINTR, "the conversion process was killed by %s",
                   sigabbrev_np (WTERMSIG (status)) ?: "a signal");
  else if (result < 0)
    v2v_error_set (err, -EIO, "the conversion process exited with status %d "
                   "and no result", WEXITSTATUS (status));
  return result;
}
