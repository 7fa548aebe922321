/* What the files of "v2v-agent run" share: run-cmd.c (options, set-up,
 * the pipeline's hooks), run-stop.c (the signal thread and the end of a
 * run) and run-child.c (the conversion in a child process).
 */
#ifndef V2V_AGENT_RUN_H
#define V2V_AGENT_RUN_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "blockdev.h"
#include "convert.h"
#include "reporter.h"
#include "result.h"
#include "status.h"

#define RUN_FINAL_REPORT_DEADLINE_MS (30 * 1000)
#define RUN_CANCEL_REPORT_DEADLINE_MS (10 * 1000)

/* What the run is doing, for the signal thread.  Guarded by run.lock. */
enum run_stage {
  RUN_STAGE_BEFORE_CHILD,       /* nothing written: a signal ends the run */
  RUN_STAGE_CHILD,              /* the child converts: kill it */
  RUN_STAGE_COMMIT,             /* writing the disks: let it finish */
  RUN_STAGE_AFTER,              /* reporting the outcome */
};

struct run {
  struct agent_status *st;
  struct reporter *rep;
  const char *termination_log;

  pthread_mutex_t lock;
  enum run_stage stage;
  pid_t child;
  /* Set by the signal thread; read by the main thread.  CANCEL_RESULT
   * is AGENT_RESULT_CANCELLED or AGENT_RESULT_TIMEOUT.
   */
  atomic_bool cancelled;
  atomic_bool finishing;        /* run_finish has been entered */
  enum agent_result cancel_result;
  char cancel_msg[128];
};

/* run-stop.c */

/* The end of every run: the status, an Event, the termination message,
 * a log line, and the reporter flushed for at most DEADLINE_MS.  Only
 * the first caller of the main thread and the signal thread does it;
 * returns whether this one did.
 */
extern bool run_finish (struct run *run, enum agent_result result,
                        const char *message, int64_t deadline_ms);

struct run_sigthread_args {
  struct run *run;
  sigset_t set;                 /* SIGTERM, SIGINT, and SIGUSR1 to stop */
  int64_t timeout_ms;           /* 0: none */
};
/* The only thread that takes SIGTERM and SIGINT (they are blocked in
 * every other).  SIGUSR1 tells it to go away at the end of the run.
 */
extern void *run_signal_thread (void *arg);

/* run-child.c */

/* Enter PHASE: the status, the log, an Event (REASON) and an update. */
extern void run_enter_phase (struct run *run, enum agent_phase phase,
                             const char *reason, const char *message);

/* Run the conversion in a child.  Returns the convert status, with the
 * report in *RET_REPORT, or -1 if the child died (killed on cancel, or
 * crashed) with a message in ERR.
 */
extern int run_child (struct run *run, const struct blockdev_list *list,
                      const struct convert_options *opts,
                      struct json_object **ret_report,
                      struct v2v_error *err);

#endif /* V2V_AGENT_RUN_H */
