/* What the files of the run state share (status.c, status-*.c); see
 * status.h for the public interface.  Every function here is called with
 * st->lock held.
 */
#ifndef V2V_AGENT_STATUS_INTERNAL_H
#define V2V_AGENT_STATUS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "report-read.h"
#include "status.h"

/* Bounds on what callers can make the state hold.  The message is meant
 * to be one line and warnings are a few sentences each; a runaway loop
 * adding distinct warnings must not grow the agent without limit.
 */
#define STATUS_TEXT_MAX      4096
#define STATUS_WARNINGS_MAX  1000

struct agent_status {
  pthread_mutex_t lock;

  enum agent_phase phase;
  int progress;
  char *message;
  char *accel;

  char **warnings;
  size_t nr_warnings;
  size_t warnings_dropped;      /* past STATUS_WARNINGS_MAX */

  /* The convert report, read into a copy of our own: nothing outside
   * can change it or race with us on json-c's (non-atomic) reference
   * count.
   */
  struct agent_report *report;

  enum agent_outcome outcome;
  char *reason;
  int exit_code;

  /* Per phase: accumulated seconds of the finished stretches, and when
   * the current stretch started.
   */
  bool phase_started[AGENT_PHASE__COUNT];
  double phase_seconds[AGENT_PHASE__COUNT];
  struct timespec phase_clock;  /* CLOCK_MONOTONIC, of the current phase */
  bool clock_running;

  struct timespec start_time, end_time; /* CLOCK_REALTIME */
  bool ended;

  uint64_t conversions[AGENT_OUTCOME__COUNT];
};

/* S as a JSON string, or JSON null for NULL. */
extern struct json_object *agent_status_internal_string_or_null
  (const char *s);
/* Called with the lock held: add the run's outcome, reason and exitCode
 * (null until it ended) to O, as /status and the termination message
 * both show them.
 */
extern void agent_status_internal_add_outcome (struct agent_status *st,
                                               struct json_object *o);
/* Seconds spent in PHASE so far, the running stretch included. */
extern double agent_status_internal_phase_seconds (struct agent_status *st,
                                                   enum agent_phase phase);
/* A deep copy of O, or NULL (for NULL too). */
extern struct json_object *agent_status_internal_json_copy
  (struct json_object *o);
/* The first N warnings as a new JSON array. */
extern struct json_object *agent_status_internal_warnings_json
  (struct agent_status *st, size_t n);

#endif /* V2V_AGENT_STATUS_INTERNAL_H */
