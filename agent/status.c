/* The state of one "v2v-agent run": see status.h.
 *
 * Everything outside reads is rendered under the mutex, into objects or
 * text the caller owns, so a slow HTTP client or the reporter thread
 * never holds a pointer into the state while the phase runner changes
 * it: here the state itself and its JSON; the termination message, the
 * metrics and the inspection XML in status-termination.c,
 * status-metrics.c and status-inspection.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "json.h"
#include "status-internal.h"
#include "timeutil.h"
#include "utf8.h"


static const char *const agent_phase_table[AGENT_PHASE__COUNT] = {
  [AGENT_PHASE_STARTING] = "starting",
  [AGENT_PHASE_DEVICES]  = "devices",
  [AGENT_PHASE_PROBE]    = "probe",
  [AGENT_PHASE_OVERLAY]  = "overlay",
  [AGENT_PHASE_INSPECT]  = "inspect",
  [AGENT_PHASE_CONVERT]  = "convert",
  [AGENT_PHASE_COMMIT]   = "commit",
  [AGENT_PHASE_REPORT]   = "report",
  [AGENT_PHASE_DONE]     = "done",
};

/* Rough shares of a typical Linux conversion: the rework steps (above
 * all the initramfs rebuild) dominate, then writing the overlays back.
 */
static const int phase_floors[AGENT_PHASE__COUNT] = {
  [AGENT_PHASE_STARTING] = 0,
  [AGENT_PHASE_DEVICES]  = 2,
  [AGENT_PHASE_PROBE]    = 5,
  [AGENT_PHASE_OVERLAY]  = 8,
  [AGENT_PHASE_INSPECT]  = 10,
  [AGENT_PHASE_CONVERT]  = 30,
  [AGENT_PHASE_COMMIT]   = 85,
  [AGENT_PHASE_REPORT]   = 95,
  [AGENT_PHASE_DONE]     = 100,
};

DEFINE_STRING_TABLE_LOOKUP (agent_phase, enum agent_phase, "unknown")

int
agent_phase_floor (enum agent_phase phase)
{
  if ((unsigned) phase >= AGENT_PHASE__COUNT)
    return 0;
  return phase_floors[phase];
}

/* Called with the lock held: add the running stretch to its phase. */
static void
phase_clock_stop (struct agent_status *st)
{
  struct timespec now;

  if (!st->clock_running)
    return;
  clock_gettime (CLOCK_MONOTONIC, &now);
  st->phase_seconds[st->phase] += timespec_diff_s (&now, &st->phase_clock);
  st->clock_running = false;
}

struct agent_status *
agent_status_new (void)
{
  struct agent_status *st = calloc (1, sizeof *st);

  if (st == NULL)
    return NULL;
  pthread_mutex_init (&st->lock, NULL);
  st->phase = AGENT_PHASE_STARTING;
  st->outcome = AGENT_OUTCOME_RUNNING;
  st->exit_code = -1;
  st->phase_started[AGENT_PHASE_STARTING] = true;
  clock_gettime (CLOCK_MONOTONIC, &st->phase_clock);
  st->clock_running = true;
  clock_gettime (CLOCK_REALTIME, &st->start_time);
  return st;
}

void
agent_status_free (struct agent_status *st)
{
  if (st == NULL)
    return;
  for (size_t i = 0; i < st->nr_warnings; i++)
    free (st->warnings[i]);
  free (st->warnings);
  free (st->message);
  free (st->accel);
  free (st->reason);
  agent_report_free (st->report);
  pthread_mutex_destroy (&st->lock);
  free (st);
}

/* Called with the lock held. */
static void
raise_progress (struct agent_status *st, int percent)
{
  if (percent > 100)
    percent = 100;
  if (percent > st->progress)
    st->progress = percent;
}

void
agent_status_set_phase (struct agent_status *st, enum agent_phase phase)
{
  if ((unsigned) phase >= AGENT_PHASE__COUNT)
    return;
  pthread_mutex_lock (&st->lock);
  /* The end is final: a late phase change from a thread still winding
   * down must not make a finished run look as if it were running.
   */
  if (!st->ended && phase != st->phase) {
    phase_clock_stop (st);
    st->phase = phase;
    st->phase_started[phase] = true;
    if (phase != AGENT_PHASE_DONE) {
      clock_gettime (CLOCK_MONOTONIC, &st->phase_clock);
      st->clock_running = true;
    }
    raise_progress (st, phase_floors[phase]);
  }
  pthread_mutex_unlock (&st->lock);
}

enum agent_phase
agent_status_phase (struct agent_status *st)
{
  enum agent_phase r;

  pthread_mutex_lock (&st->lock);
  r = st->phase;
  pthread_mutex_unlock (&st->lock);
  return r;
}

void
agent_status_set_progress (struct agent_status *st, int percent)
{
  pthread_mutex_lock (&st->lock);
  raise_progress (st, percent);
  pthread_mutex_unlock (&st->lock);
}

/* Replace *FIELD with a bounded copy of S.  On out of memory the old
 * value stays: a stale status line is better than none.
 */
static void
replace_text (char **field, const char *s)
{
  char *copy = utf8_copy_valid (s, STATUS_TEXT_MAX);

  if (s != NULL && copy == NULL)
    return;
  free (*field);
  *field = copy;
}

void
agent_status_set_message (struct agent_status *st, const char *msg)
{
  pthread_mutex_lock (&st->lock);
  replace_text (&st->message, msg);
  pthread_mutex_unlock (&st->lock);
}

void
agent_status_set_accel (struct agent_status *st, const char *accel)
{
  pthread_mutex_lock (&st->lock);
  replace_text (&st->accel, accel);
  pthread_mutex_unlock (&st->lock);
}

/* Called with the lock held. */
static void
add_warning_locked (struct agent_status *st, const char *msg)
{
  CLEANUP_FREE char *copy = NULL;
  char **nw;

  if (msg == NULL)
    return;
  copy = utf8_copy_valid (msg, STATUS_TEXT_MAX);
  if (copy == NULL)
    return;
  for (size_t i = 0; i < st->nr_warnings; i++)
    if (strcmp (st->warnings[i], copy) == 0)
      return;
  if (st->nr_warnings >= STATUS_WARNINGS_MAX) {
    st->warnings_dropped++;
    return;
  }
  nw = realloc (st->warnings, (st->nr_warnings + 1) * sizeof *nw);
  if (nw == NULL)
    return;
  st->warnings = nw;
  st->warnings[st->nr_warnings++] = TAKE_PTR (copy);
}

void
agent_status_add_warning (struct agent_status *st, const char *msg)
{
  pthread_mutex_lock (&st->lock);
  add_warning_locked (st, msg);
  pthread_mutex_unlock (&st->lock);
}

int
agent_status_set_report (struct agent_status *st, struct json_object *report,
                         struct v2v_error *err)
{
  struct agent_report *r = NULL;
  int e;

  if (report != NULL && (e = agent_report_read (report, &r, err)) < 0)
    return e;
  pthread_mutex_lock (&st->lock);
  agent_report_free (st->report);
  st->report = r;
  for (size_t i = 0; r && i < r->nr_warnings; i++)
    add_warning_locked (st, r->warnings[i]);
  if (r && r->accelerator)
    replace_text (&st->accel, r->accelerator);
  pthread_mutex_unlock (&st->lock);
  return 0;
}

void
agent_status_finish (struct agent_status *st, enum agent_outcome outcome,
                     const char *reason, int exit_code, const char *message)
{
  if ((unsigned) outcome >= AGENT_OUTCOME__COUNT ||
      outcome == AGENT_OUTCOME_RUNNING)
    outcome = AGENT_OUTCOME_FAILED;

  pthread_mutex_lock (&st->lock);
  /* The first end wins: a cancellation racing with a failure must not
   * count the run twice or change what was already reported.
   */
  if (!st->ended) {
    phase_clock_stop (st);
    st->outcome = outcome;
    replace_text (&st->reason, reason);
    st->exit_code = exit_code;
    if (message)
      replace_text (&st->message, message);
    /* A failed run stays in the phase it failed in: that is the first
     * thing anyone looking at it wants to know.
     */
    if (outcome == AGENT_OUTCOME_SUCCEEDED) {
      st->phase = AGENT_PHASE_DONE;
      st->phase_started[AGENT_PHASE_DONE] = true;
      st->progress = 100;
    }
    clock_gettime (CLOCK_REALTIME, &st->end_time);
    st->ended = true;
    st->conversions[outcome]++;
  }
  pthread_mutex_unlock (&st->lock);
}

enum agent_outcome
agent_status_outcome (struct agent_status *st)
{
  enum agent_outcome r;

  pthread_mutex_lock (&st->lock);
  r = st->outcome;
  pthread_mutex_unlock (&st->lock);
  return r;
}

/* RFC 3339 in UTC, to the second, like Kubernetes' own timestamps. */
static struct json_object *
time_json (const struct timespec *ts)
{
  char s[RFC3339_MAX];

  if (time_format_rfc3339 (ts->tv_sec, s, sizeof s) < 0)
    return NULL;
  return json_object_new_string (s);
}

struct json_object *
agent_status_internal_string_or_null (const char *s)
{
  return s ? json_object_new_string (s) : NULL;
}

void
agent_status_internal_add_outcome (struct agent_status *st,
                                   struct json_object *o)
{
  json_object_object_add (o, "outcome", json_object_new_string
                          (agent_outcome_to_string (st->outcome)));
  json_object_object_add (o, "reason",
                          agent_status_internal_string_or_null (st->reason));
  json_object_object_add (o, "exitCode", st->ended
                          ? json_object_new_int (st->exit_code) : NULL);
}

/* Called with the lock held: seconds spent in PHASE so far. */
double
agent_status_internal_phase_seconds (struct agent_status *st,
                                     enum agent_phase phase)
{
  double s = st->phase_seconds[phase];

  if (phase == st->phase && st->clock_running) {
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    s += timespec_diff_s (&now, &st->phase_clock);
  }
  return s;
}

/* Milliseconds are plenty, and "0.174" reads better than json-c's
 * "0.17399999999999999".
 */
static struct json_object *
seconds_json (double secs)
{
  char s[64];

  snprintf (s, sizeof s, "%.3f", secs);
  return json_object_new_double_s (secs, s);
}

struct json_object *
agent_status_internal_json_copy (struct json_object *o)
{
  struct json_object *copy = NULL;

  if (o == NULL || json_object_deep_copy (o, &copy, NULL) != 0)
    return NULL;
  return copy;
}

struct json_object *
agent_status_internal_warnings_json (struct agent_status *st, size_t n)
{
  struct json_object *a = json_object_new_array ();

  if (a == NULL)
    return NULL;
  for (size_t i = 0; i < n && i < st->nr_warnings; i++)
    json_object_array_add (a, json_object_new_string (st->warnings[i]));
  return a;
}

struct json_object *
agent_status_warnings_json (struct agent_status *st)
{
  struct json_object *a;

  pthread_mutex_lock (&st->lock);
  a = agent_status_internal_warnings_json (st, st->nr_warnings);
  pthread_mutex_unlock (&st->lock);
  return a;
}

struct json_object *
agent_status_to_json (struct agent_status *st)
{
  struct json_object *o = json_object_new_object ();
  struct json_object *secs = json_object_new_object ();

  if (o == NULL || secs == NULL) {
    json_object_put (o);
    json_object_put (secs);
    return NULL;
  }

  pthread_mutex_lock (&st->lock);
  json_object_object_add (o, "phase", json_object_new_string
                          (agent_phase_to_string (st->phase)));
  json_object_object_add (o, "progress", json_object_new_int (st->progress));
  json_object_object_add (o, "message",
                          agent_status_internal_string_or_null (st->message));
  agent_status_internal_add_outcome (st, o);
  json_object_object_add (o, "accelerator",
                          agent_status_internal_string_or_null (st->accel));
  json_object_object_add (o, "guest", agent_status_internal_json_copy
                          (st->report ? st->report->guest_json : NULL));
  json_object_object_add (o, "kubevirtHints", agent_status_internal_json_copy
                          (st->report ? st->report->hints_json : NULL));
  json_object_object_add (o, "warnings", agent_status_internal_warnings_json
                          (st, st->nr_warnings));
  if (st->warnings_dropped)
    json_object_object_add (o, "warningsDropped",
                            json_object_new_int64 ((int64_t)
                                                   st->warnings_dropped));
  /* DONE is where the run rests, not work it did: it has no duration. */
  for (int p = 0; p < AGENT_PHASE_DONE; p++)
    if (st->phase_started[p])
      json_object_object_add (secs, agent_phase_to_string (p), seconds_json
                              (agent_status_internal_phase_seconds (st, p)));
  json_object_object_add (o, "phaseSeconds", secs);
  json_object_object_add (o, "startTime", time_json (&st->start_time));
  json_object_object_add (o, "endTime",
                          st->ended ? time_json (&st->end_time) : NULL);
  pthread_mutex_unlock (&st->lock);
  return o;
}
