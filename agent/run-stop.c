/* How a "v2v-agent run" ends: the outcome reported once, and the thread
 * that turns SIGTERM, SIGINT and --timeout into a safe stop.
 *
 * Inspection and conversion run in a child process (run-child.c).  That
 * is what makes cancelling safe and prompt: the child (and through
 * libguestfs's recovery process, its appliance) is killed, and since the
 * appliance only ever wrote to the overlays, discarding them leaves
 * every device as it was.  Before the child starts nothing has been
 * written, so a signal then ends the run at once.  A commit that has
 * begun is allowed to finish, as stopping it halfway would leave the
 * disks neither old nor new; a second signal forces exit at any time,
 * and the commit journal then lets the next run finish the job
 * (docs/blockdev.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "run.h"
#include "timeutil.h"

#define TERMINATION_MAX 4096

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

bool
run_finish (struct run *run, enum agent_result result, const char *message,
            int64_t deadline_ms)
{
  const struct agent_result_info *r = agent_result_info (result);

  if (atomic_exchange (&run->finishing, true))
    return false;
  agent_status_finish (run->st, r->outcome, r->reason, r->exit_code,
                       message);
  if (r->outcome == AGENT_OUTCOME_SUCCEEDED)
    log_info ("%s: %s", r->reason, message);
  else
    log_error ("%s: %s (exit code %d)", r->reason, message, r->exit_code);
  reporter_event (run->rep, r->outcome != AGENT_OUTCOME_SUCCEEDED,
                  r->reason, message);
  reporter_update (run->rep);
  write_termination_log (run);
  reporter_finish (run->rep, deadline_ms);
  run->rep = NULL;
  return true;
}

void *
run_signal_thread (void *arg)
{
  struct run_sigthread_args *a = arg;
  struct run *run = a->run;
  int64_t deadline = now_ms () + a->timeout_ms;
  bool first = true;

  for (;;) {
    int sig;
    enum agent_result why = AGENT_RESULT_CANCELLED;

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
      why = AGENT_RESULT_TIMEOUT;
    else if (sig == -1)
      continue;

    if (!first) {
      log_error ("second signal: exiting now; the overlays still protect "
                 "the disks, and an interrupted commit is finished by the "
                 "next run");
      const struct agent_result_info *c =
        agent_result_info (AGENT_RESULT_CANCELLED);
      agent_status_finish (run->st, c->outcome, c->reason, c->exit_code,
                           "forced exit");
      write_termination_log (run);
      _exit (AGENT_EXIT_CANCELLED);
    }
    first = false;

    pthread_mutex_lock (&run->lock);
    if (why == AGENT_RESULT_TIMEOUT)
      snprintf (run->cancel_msg, sizeof run->cancel_msg,
                "--timeout: %" PRIi64 " s passed", a->timeout_ms / 1000);
    else
      snprintf (run->cancel_msg, sizeof run->cancel_msg,
                "%s received", sigabbrev_np (sig) ? sigabbrev_np (sig) : "signal");
    run->cancel_result = why;
    atomic_store (&run->cancelled, true);
    log_warn ("%s: cancelling (a second signal forces exit)",
              run->cancel_msg);

    switch (run->stage) {
    case RUN_STAGE_BEFORE_CHILD:
      /* Nothing has been written to any device.  The main thread may
       * be waiting for devices for minutes, so end the run from here.
       */
      if (run_finish (run, why, run->cancel_msg,
                      RUN_CANCEL_REPORT_DEADLINE_MS))
        _exit (AGENT_EXIT_CANCELLED);
      break;
    case RUN_STAGE_CHILD:
      /* The main thread sees the child die, discards the overlays and
       * reports.  libguestfs's recovery process kills the appliance.
       */
      if (run->child > 0)
        kill (run->child, SIGKILL);
      break;
    case RUN_STAGE_COMMIT:
      log_warn ("the commit to the disks has begun and will finish first");
      break;
    case RUN_STAGE_AFTER:
      break;
    }
    pthread_mutex_unlock (&run->lock);
  }
}
