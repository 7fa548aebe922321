/* The state of one "v2v-agent run": see status.h.
 *
 * Everything outside reads is rendered here, under the mutex, into
 * objects or text the caller owns, so a slow HTTP client or the reporter
 * thread never holds a pointer into the state while the phase runner
 * changes it.
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
#include "status.h"

/* Bounds on what callers can make the state hold.  The message is meant
 * to be one line and warnings are a few sentences each; a runaway loop
 * adding distinct warnings must not grow the agent without limit.
 */
#define STATUS_TEXT_MAX      4096
#define STATUS_WARNINGS_MAX  1000

/* Appended to a message cut short to fit the termination message. */
#define TRUNCATION_MARK "..."

struct agent_status {
  pthread_mutex_t lock;

  enum agent_phase phase;
  int progress;
  char *message;
  char *accel;

  char **warnings;
  size_t nr_warnings;
  size_t warnings_dropped;      /* past STATUS_WARNINGS_MAX */

  /* A deep copy of the convert report: nothing outside can change it
   * or race with us on json-c's (non-atomic) reference count.
   */
  struct json_object *report;

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

static const char *const phase_names[AGENT_PHASE__COUNT] = {
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

static const char *const outcome_names[AGENT_OUTCOME__COUNT] = {
  [AGENT_OUTCOME_RUNNING]      = "Running",
  [AGENT_OUTCOME_SUCCEEDED]    = "Succeeded",
  [AGENT_OUTCOME_REFUSED]      = "Refused",
  [AGENT_OUTCOME_DEVICE_ERROR] = "DeviceError",
  [AGENT_OUTCOME_CANCELLED]    = "Cancelled",
  [AGENT_OUTCOME_FAILED]       = "Failed",
};

const char *
agent_phase_name (enum agent_phase phase)
{
  if ((unsigned) phase >= AGENT_PHASE__COUNT)
    return "unknown";
  return phase_names[phase];
}

const char *
agent_outcome_name (enum agent_outcome outcome)
{
  if ((unsigned) outcome >= AGENT_OUTCOME__COUNT)
    return "Unknown";
  return outcome_names[outcome];
}

int
agent_phase_floor (enum agent_phase phase)
{
  if ((unsigned) phase >= AGENT_PHASE__COUNT)
    return 0;
  return phase_floors[phase];
}

/* The length of the valid UTF-8 character (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF) at P, or 0.
 */
static size_t
utf8_char_len (const unsigned char *p, size_t avail)
{
  uint32_t c;
  size_t n;

  if (avail == 0)
    return 0;
  if (p[0] < 0x80)
    return 1;
  if (p[0] >= 0xc2 && p[0] <= 0xdf) { n = 2; c = p[0] & 0x1f; }
  else if (p[0] >= 0xe0 && p[0] <= 0xef) { n = 3; c = p[0] & 0x0f; }
  else if (p[0] >= 0xf0 && p[0] <= 0xf4) { n = 4; c = p[0] & 0x07; }
  else
    return 0;
  if (avail < n)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (p[i] & 0x3f);
  }
  if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
      (n == 4 && (c < 0x10000 || c > 0x10ffff)))
    return 0;
  return n;
}

/* Copy at most MAX bytes of S as valid UTF-8: guest files and error
 * messages can hold anything, and json-c writes bytes through as they
 * are, which strict JSON parsers (Kubernetes') reject.  Invalid bytes
 * become '?', and the cut never splits a character.  NULL stays NULL;
 * returns NULL on out of memory too.
 */
static char *
text_copy (const char *s, size_t max)
{
  size_t len, i = 0, o = 0;
  char *r;

  if (s == NULL)
    return NULL;
  len = strlen (s);
  r = malloc ((len < max ? len : max) + 1);
  if (r == NULL)
    return NULL;
  while (i < len) {
    size_t n = utf8_char_len ((const unsigned char *) s + i, len - i);
    size_t w = n ? n : 1;

    if (o + w > max)
      break;
    if (n)
      memcpy (r + o, s + i, n);
    else
      r[o] = '?';
    o += w;
    i += w;
  }
  r[o] = '\0';
  return r;
}

/* The longest prefix of valid UTF-8 S that is at most MAX bytes long. */
static size_t
utf8_prefix (const char *s, size_t max)
{
  size_t i = 0, len = strlen (s);

  while (i < len) {
    size_t n = utf8_char_len ((const unsigned char *) s + i, len - i);
    if (n == 0)
      n = 1;
    if (i + n > max)
      break;
    i += n;
  }
  return i;
}

static double
timespec_diff (const struct timespec *a, const struct timespec *b)
{
  return (double) (a->tv_sec - b->tv_sec) +
    (double) (a->tv_nsec - b->tv_nsec) / 1e9;
}

/* Called with the lock held: add the running stretch to its phase. */
static void
phase_clock_stop (struct agent_status *st)
{
  struct timespec now;

  if (!st->clock_running)
    return;
  clock_gettime (CLOCK_MONOTONIC, &now);
  st->phase_seconds[st->phase] += timespec_diff (&now, &st->phase_clock);
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
  if (st->report)
    json_object_put (st->report);
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
  char *copy = text_copy (s, STATUS_TEXT_MAX);

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
  copy = text_copy (msg, STATUS_TEXT_MAX);
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

void
agent_status_set_report (struct agent_status *st, struct json_object *report)
{
  struct json_object *copy = NULL, *warnings;

  if (report != NULL && json_object_deep_copy (report, &copy, NULL) != 0)
    return;
  pthread_mutex_lock (&st->lock);
  if (st->report)
    json_object_put (st->report);
  st->report = copy;
  if (copy && json_object_object_get_ex (copy, "warnings", &warnings) &&
      json_object_is_type (warnings, json_type_array)) {
    size_t n = json_object_array_length (warnings);
    for (size_t i = 0; i < n; i++) {
      struct json_object *w = json_object_array_get_idx (warnings, i);
      if (json_object_is_type (w, json_type_string))
        add_warning_locked (st, json_object_get_string (w));
    }
  }
  pthread_mutex_unlock (&st->lock);
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
  struct tm tm;
  char s[64];

  if (gmtime_r (&ts->tv_sec, &tm) == NULL ||
      strftime (s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return NULL;
  return json_object_new_string (s);
}

static struct json_object *
string_or_null (const char *s)
{
  return s ? json_object_new_string (s) : NULL;
}

/* Called with the lock held: seconds spent in PHASE so far. */
static double
phase_seconds_locked (struct agent_status *st, enum agent_phase phase)
{
  double s = st->phase_seconds[phase];

  if (phase == st->phase && st->clock_running) {
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    s += timespec_diff (&now, &st->phase_clock);
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

/* Called with the lock held: a copy of the report's member KEY when it
 * is an object, or NULL.
 */
static struct json_object *
report_object_copy (struct agent_status *st, const char *key)
{
  struct json_object *o, *copy = NULL;

  if (st->report == NULL ||
      !json_object_object_get_ex (st->report, key, &o) ||
      !json_object_is_type (o, json_type_object) ||
      json_object_deep_copy (o, &copy, NULL) != 0)
    return NULL;
  return copy;
}

static struct json_object *
warnings_json_locked (struct agent_status *st, size_t n)
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
  a = warnings_json_locked (st, st->nr_warnings);
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
  json_object_object_add (o, "phase",
                          json_object_new_string (phase_names[st->phase]));
  json_object_object_add (o, "progress", json_object_new_int (st->progress));
  json_object_object_add (o, "message", string_or_null (st->message));
  json_object_object_add (o, "outcome",
                          json_object_new_string (outcome_names[st->outcome]));
  json_object_object_add (o, "reason", string_or_null (st->reason));
  json_object_object_add (o, "exitCode", st->ended
                          ? json_object_new_int (st->exit_code) : NULL);
  json_object_object_add (o, "accelerator", string_or_null (st->accel));
  json_object_object_add (o, "guest", report_object_copy (st, "guest"));
  json_object_object_add (o, "kubevirtHints",
                          report_object_copy (st, "kubevirt_hints"));
  json_object_object_add (o, "warnings",
                          warnings_json_locked (st, st->nr_warnings));
  if (st->warnings_dropped)
    json_object_object_add (o, "warningsDropped",
                            json_object_new_int64 ((int64_t)
                                                   st->warnings_dropped));
  /* DONE is where the run rests, not work it did: it has no duration. */
  for (int p = 0; p < AGENT_PHASE_DONE; p++)
    if (st->phase_started[p])
      json_object_object_add (secs, phase_names[p],
                              seconds_json (phase_seconds_locked (st, p)));
  json_object_object_add (o, "phaseSeconds", secs);
  json_object_object_add (o, "startTime", time_json (&st->start_time));
  json_object_object_add (o, "endTime",
                          st->ended ? time_json (&st->end_time) : NULL);
  pthread_mutex_unlock (&st->lock);
  return o;
}

/* The guest summary of the termination message, or NULL. */
static struct json_object *
guest_summary_locked (struct agent_status *st)
{
  static const char *const keys[] = {
    "type", "distro", "product", "arch", "firmware",
  };
  struct json_object *g, *o;
  int64_t major, minor;
  char version[64];

  if (st->report == NULL ||
      json_get_object (st->report, "guest", &g, NULL) < 0)
    return NULL;
  o = json_object_new_object ();
  if (o == NULL)
    return NULL;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    CLEANUP_FREE char *s = NULL;
    const char *val;

    if (json_get_string (g, keys[i], &val, NULL) < 0)
      continue;
    s = text_copy (val, STATUS_TEXT_MAX);
    if (s)
      json_object_object_add (o, keys[i], json_object_new_string (s));
  }
  if (json_get_int64 (g, "major_version", &major, NULL) == 0) {
    if (json_get_int64 (g, "minor_version", &minor, NULL) < 0)
      minor = 0;
    snprintf (version, sizeof version, "%" PRId64 ".%" PRId64, major, minor);
    json_object_object_add (o, "version", json_object_new_string (version));
  }
  return o;
}

static const char *
compact (struct json_object *o, size_t *len)
{
  const char *s = json_object_to_json_string_ext
    (o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  *len = s ? strlen (s) : SIZE_MAX;
  return s;
}

/* Set the warnings of O to the first K of the state's, noting how many
 * were left out.
 */
static void
set_warnings (struct json_object *o, struct agent_status *st, size_t k)
{
  size_t dropped = st->nr_warnings - k + st->warnings_dropped;

  json_object_object_add (o, "warnings", warnings_json_locked (st, k));
  if (dropped)
    json_object_object_add (o, "warningsDropped",
                            json_object_new_int64 ((int64_t) dropped));
  else
    json_object_object_del (o, "warningsDropped");
}

static bool
fits (struct json_object *o, size_t max)
{
  size_t len;

  compact (o, &len);
  return len <= max;
}

/* Set the message of O to the longest prefix of MESSAGE, marked as cut,
 * with which O fits in MAX (or just the mark).
 */
static int
cut_message (struct json_object *o, const char *message, size_t max)
{
  size_t lo = 0, hi = strlen (message);
  CLEANUP_FREE char *t = malloc (hi + sizeof TRUNCATION_MARK);

  if (t == NULL)
    return -ENOMEM;
  json_object_object_add (o, "message", json_object_new_string (message));
  if (fits (o, max))
    return 0;
  /* LO fits (or is 0), HI does not; both on character boundaries. */
  while (hi - lo > 1) {
    size_t mid = utf8_prefix (message, lo + (hi - lo) / 2);
    if (mid <= lo)
      mid = lo + utf8_char_len ((const unsigned char *) message + lo,
                                hi - lo);
    if (mid <= lo || mid >= hi)
      break;
    memcpy (t, message, mid);
    strcpy (t + mid, TRUNCATION_MARK);
    json_object_object_add (o, "message", json_object_new_string (t));
    if (fits (o, max))
      lo = mid;
    else
      hi = mid;
  }
  memcpy (t, message, lo);
  strcpy (t + lo, TRUNCATION_MARK);
  json_object_object_add (o, "message", json_object_new_string (t));
  return 0;
}

int
agent_status_termination_message (struct agent_status *st, size_t max,
                                  struct buf *out)
{
  CLEANUP_JSON struct json_object *o = json_object_new_object ();
  CLEANUP_FREE char *message = NULL;
  const char *s;
  size_t len;
  int r;

  if (o == NULL)
    return -ENOMEM;

  pthread_mutex_lock (&st->lock);
  json_object_object_add (o, "outcome",
                          json_object_new_string (outcome_names[st->outcome]));
  json_object_object_add (o, "reason", string_or_null (st->reason));
  json_object_object_add (o, "exitCode", st->ended
                          ? json_object_new_int (st->exit_code) : NULL);
  json_object_object_add (o, "message", string_or_null (st->message));
  json_object_object_add (o, "guest", guest_summary_locked (st));
  json_object_object_add (o, "kubevirtHints",
                          report_object_copy (st, "kubevirt_hints"));
  set_warnings (o, st, st->nr_warnings);

  /* Warnings go first, from the end: the outcome and the guest matter
   * more to whoever reads the Pod.  Binary search for how many fit, as
   * each try serialises the whole object.
   */
  if (!fits (o, max) && st->nr_warnings > 0) {
    size_t lo = 0, hi = st->nr_warnings; /* lo fits or is 0; hi does not */
    while (hi - lo > 1) {
      size_t mid = lo + (hi - lo) / 2;
      set_warnings (o, st, mid);
      if (fits (o, max))
        lo = mid;
      else
        hi = mid;
    }
    set_warnings (o, st, lo);
  }
  if (st->message)
    message = strdup (st->message);
  pthread_mutex_unlock (&st->lock);

  if (!fits (o, max))
    json_object_object_add (o, "guest", NULL);

  /* Then the message, cut at a character boundary; then the hints,
   * which a controller can also read from the report, with the message
   * cut again from the whole.
   */
  if (!fits (o, max) && message && (r = cut_message (o, message, max)) < 0)
    return r;
  if (!fits (o, max)) {
    json_object_object_del (o, "kubevirtHints");
    if (message && (r = cut_message (o, message, max)) < 0)
      return r;
  }

  /* A MAX too small for even that (or a huge reason): keep what says
   * how the run ended, which is what a controller acts on.
   */
  if (!fits (o, max)) {
    json_object_object_del (o, "guest");
    json_object_object_del (o, "warnings");
    json_object_object_del (o, "message");
  }
  if (!fits (o, max))
    json_object_object_del (o, "reason");
  if (!fits (o, max))
    json_object_object_del (o, "warningsDropped");

  s = compact (o, &len);
  if (s == NULL)
    return -ENOMEM;
  if (len > max)
    return -ENOSPC;
  return buf_append (out, s, len);
}

/* Prometheus label values escape backslash, double quote and newline
 * (exposition format 0.0.4, "Text format details").
 */
static int
prom_label (struct buf *out, const char *v)
{
  int r = 0;

  for (const char *p = v; *p && r == 0; p++) {
    switch (*p) {
    case '\\': r = buf_append (out, "\\\\", 2); break;
    case '"':  r = buf_append (out, "\\\"", 2); break;
    case '\n': r = buf_append (out, "\\n", 2); break;
    default:   r = buf_append (out, p, 1); break;
    }
  }
  return r;
}

static int
prom_header (struct buf *out, const char *name, const char *type,
             const char *help)
{
  return buf_printf (out, "# HELP %s %s\n# TYPE %s %s\n",
                     name, help, name, type);
}

/* NAME{LABEL="VALUE"} followed by the value in FMT. */
static int
prom_sample (struct buf *out, const char *name, const char *label,
             const char *value, const char *fmt, ...)
  __attribute__ ((format (printf, 5, 6)));

static int
prom_sample (struct buf *out, const char *name, const char *label,
             const char *value, const char *fmt, ...)
{
  CLEANUP_FREE char *v = NULL;
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&v, fmt, ap);
  va_end (ap);
  if (r < 0)
    return -ENOMEM;

  if ((r = buf_printf (out, "%s{%s=\"", name, label)) < 0 ||
      (r = prom_label (out, value)) < 0 ||
      (r = buf_printf (out, "\"} %s\n", v)) < 0)
    return r;
  return 0;
}

/* The accelerator label keeps to a fixed set, so a surprising value
 * cannot create new series.
 */
static const char *
accel_label (const char *accel)
{
  if (accel && strcmp (accel, "kvm") == 0)
    return "kvm";
  if (accel && strcmp (accel, "tcg") == 0)
    return "tcg";
  return "unknown";
}

int
agent_status_metrics (struct agent_status *st, struct buf *out)
{
  int r = 0;

  pthread_mutex_lock (&st->lock);
#define TRY(e) do { if ((r = (e)) < 0) goto out; } while (0)
  TRY (prom_header (out, "v2v_agent_phase", "gauge",
                    "The phase the conversion run is in (1) or not (0)."));
  for (int p = 0; p < AGENT_PHASE__COUNT; p++)
    TRY (prom_sample (out, "v2v_agent_phase", "phase", phase_names[p],
                      "%d", p == (int) st->phase));

  TRY (prom_header (out, "v2v_agent_progress_percent", "gauge",
                    "Progress of the conversion run, 0 to 100."));
  TRY (buf_printf (out, "v2v_agent_progress_percent %d\n", st->progress));

  TRY (prom_header (out, "v2v_agent_phase_duration_seconds", "gauge",
                    "Seconds spent in each phase that has started."));
  for (int p = 0; p < AGENT_PHASE_DONE; p++)
    if (st->phase_started[p])
      TRY (prom_sample (out, "v2v_agent_phase_duration_seconds", "phase",
                        phase_names[p], "%.6f",
                        phase_seconds_locked (st, p)));

  TRY (prom_header (out, "v2v_agent_conversions_total", "counter",
                    "Conversion runs that ended, by outcome."));
  for (int o = AGENT_OUTCOME_RUNNING + 1; o < AGENT_OUTCOME__COUNT; o++)
    TRY (prom_sample (out, "v2v_agent_conversions_total", "outcome",
                      outcome_names[o], "%" PRIu64, st->conversions[o]));

  TRY (prom_header (out, "v2v_agent_accelerator_info", "gauge",
                    "The accelerator the appliance uses (kvm, tcg or "
                    "unknown)."));
  TRY (prom_sample (out, "v2v_agent_accelerator_info", "accelerator",
                    accel_label (st->accel), "1"));

  TRY (prom_header (out, "v2v_agent_warnings", "gauge",
                    "Distinct warnings raised by the conversion run."));
  TRY (buf_printf (out, "v2v_agent_warnings %zu\n",
                   st->nr_warnings + st->warnings_dropped));
#undef TRY
 out:
  pthread_mutex_unlock (&st->lock);
  return r;
}

/* Append S as XML character data or attribute value (both quotes
 * escaped, so either context is safe).  XML 1.0 forbids most control
 * characters even as references, and invalid UTF-8 makes the whole
 * document unreadable, so both become '?'.
 */
static int
xml_text (struct buf *out, const char *s)
{
  size_t i = 0, len = strlen (s);
  int r = 0;

  while (i < len && r == 0) {
    const unsigned char *p = (const unsigned char *) s + i;
    size_t n = utf8_char_len (p, len - i);

    if (n == 0) {
      r = buf_append (out, "?", 1);
      i++;
      continue;
    }
    switch (*p) {
    case '&':  r = buf_append (out, "&amp;", 5); break;
    case '<':  r = buf_append (out, "&lt;", 4); break;
    case '>':  r = buf_append (out, "&gt;", 4); break;
    case '"':  r = buf_append (out, "&quot;", 6); break;
    case '\'': r = buf_append (out, "&apos;", 6); break;
    default:
      /* Control characters but tab and newlines, U+FFFE and U+FFFF. */
      if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') ||
          (n == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe))
        r = buf_append (out, "?", 1);
      else
        r = buf_append (out, p, n);
    }
    i += n;
  }
  return r;
}

/* <NAME>TEXT</NAME> at INDENT, or nothing when TEXT is NULL or empty. */
static int
xml_element (struct buf *out, int indent, const char *name, const char *text)
{
  int r;

  if (text == NULL || *text == '\0')
    return 0;
  if ((r = buf_printf (out, "%*s<%s>", indent, "", name)) < 0 ||
      (r = xml_text (out, text)) < 0 ||
      (r = buf_printf (out, "</%s>\n", name)) < 0)
    return r;
  return 0;
}

static const char *
get_str (struct json_object *o, const char *path)
{
  const char *s;

  return json_get_string (o, path, &s, NULL) == 0 ? s : NULL;
}

/* libguestfs's guestfs_inspect_get_package_management, for the distros
 * convert/ supports, when the report does not say.
 */
static const char *
package_management (const char *distro, int64_t major)
{
  static const char *const apt[] = { "debian", "ubuntu", "linuxmint", NULL };
  static const char *const zypper[] = { "opensuse", "sles", "suse", NULL };
  static const char *const el[] = {
    "rhel", "centos", "rocky", "almalinux", "oraclelinux", "scientificlinux",
    "redhat-based", "circle", NULL
  };

  if (distro == NULL)
    return NULL;
  for (size_t i = 0; apt[i]; i++)
    if (strcmp (distro, apt[i]) == 0)
      return "apt";
  for (size_t i = 0; zypper[i]; i++)
    if (strcmp (distro, zypper[i]) == 0)
      return "zypper";
  if (strcmp (distro, "fedora") == 0)
    return "dnf";
  if (strcmp (distro, "amazonlinux") == 0)
    return major >= 2022 ? "dnf" : "yum";
  for (size_t i = 0; el[i]; i++)
    if (strcmp (distro, el[i]) == 0)
      return major >= 8 ? "dnf" : "yum";
  if (strcmp (distro, "archlinux") == 0)
    return "pacman";
  if (strcmp (distro, "alpinelinux") == 0)
    return "apk";
  return NULL;
}

/* Called with the lock held. */
static int
inspection_xml_locked (struct agent_status *st, struct buf *out)
{
  struct json_object *g, *disks, *fstab, *win = NULL;
  int64_t major = 0, minor = 0;
  const char *firmware, *pm;
  int r;

  if (st->report == NULL ||
      json_get_object (st->report, "guest", &g, NULL) < 0)
    return -ENOENT;

#define TRY(e) do { if ((r = (e)) < 0) return r; } while (0)
  /* The layout of virt-v2v-inspector(1), so tools that read its output
   * can read ours: program, package and version first, then the disks,
   * the firmware outside <operatingsystem> (it is not part of the OS),
   * and the operating system with virt-inspector's element names.
   */
  TRY (buf_printf (out, "<?xml version='1.0' encoding='utf-8'?>\n"
                   "<v2v-inspection>\n"
                   "  <program>v2v-agent</program>\n"
                   "  <package>v2v-kubevirt</package>\n"));
  TRY (xml_element (out, 2, "version", V2V_VERSION));

  if (json_get_array (st->report, "disks", &disks, NULL) == 0) {
    size_t n = json_object_array_length (disks);
    TRY (buf_printf (out, "  <disks>\n"));
    for (size_t i = 0; i < n; i++) {
      struct json_object *d = json_object_array_get_idx (disks, i);
      int64_t index, size;

      if (json_get_int64 (d, "index", &index, NULL) < 0)
        index = (int64_t) i;
      TRY (buf_printf (out, "    <disk index='%" PRId64 "'>\n", index));
      if (json_get_int64 (d, "size", &size, NULL) == 0)
        TRY (buf_printf (out, "      <virtual-size>%" PRId64
                         "</virtual-size>\n", size));
      TRY (buf_printf (out, "    </disk>\n"));
    }
    TRY (buf_printf (out, "  </disks>\n"));
  }

  firmware = get_str (g, "firmware");
  if (firmware) {
    TRY (buf_printf (out, "  <firmware type='"));
    TRY (xml_text (out, firmware));
    TRY (buf_printf (out, "'/>\n"));
  }

  json_get_int64 (g, "major_version", &major, NULL);
  json_get_int64 (g, "minor_version", &minor, NULL);
  json_get_object (g, "windows", &win, NULL);

  TRY (buf_printf (out, "  <operatingsystem>\n"));
  TRY (xml_element (out, 4, "name", get_str (g, "type")));
  TRY (xml_element (out, 4, "distro", get_str (g, "distro")));
  TRY (xml_element (out, 4, "osinfo", get_str (g, "osinfo")));
  TRY (xml_element (out, 4, "arch", get_str (g, "arch")));
  TRY (buf_printf (out, "    <major_version>%" PRId64 "</major_version>\n"
                   "    <minor_version>%" PRId64 "</minor_version>\n",
                   major, minor));
  TRY (xml_element (out, 4, "package_format", get_str (g, "package_format")));
  pm = get_str (g, "package_management");
  if (pm == NULL)
    pm = package_management (get_str (g, "distro"), major);
  TRY (xml_element (out, 4, "package_management", pm));
  TRY (xml_element (out, 4, "product_name", get_str (g, "product")));
  if (win) {
    TRY (xml_element (out, 4, "product_variant", get_str (win, "variant")));
    TRY (xml_element (out, 4, "windows_systemroot",
                      get_str (win, "systemroot")));
  }
  TRY (xml_element (out, 4, "root", get_str (g, "root")));

  /* Mount points as virt-inspector gives them: device in an attribute,
   * path as text.  Entries that did not resolve to a migrated disk
   * (instance store) are not mounted in the converted guest.
   */
  TRY (buf_printf (out, "    <mountpoints>\n"));
  if (json_get_array (g, "fstab", &fstab, NULL) == 0) {
    size_t n = json_object_array_length (fstab);
    for (size_t i = 0; i < n; i++) {
      struct json_object *e = json_object_array_get_idx (fstab, i);
      const char *dev = get_str (e, "resolved");
      const char *mp = get_str (e, "mountpoint");

      if (dev == NULL || mp == NULL)
        continue;
      TRY (buf_printf (out, "      <mountpoint dev='"));
      TRY (xml_text (out, dev));
      TRY (buf_printf (out, "'>"));
      TRY (xml_text (out, mp));
      TRY (buf_printf (out, "</mountpoint>\n"));
    }
  }
  TRY (buf_printf (out, "    </mountpoints>\n"
                   "  </operatingsystem>\n"
                   "</v2v-inspection>\n"));
#undef TRY
  return 0;
}

int
agent_status_inspection_xml (struct agent_status *st, struct buf *out)
{
  int r;

  pthread_mutex_lock (&st->lock);
  r = inspection_xml_locked (st, out);
  pthread_mutex_unlock (&st->lock);
  return r;
}
