/* The termination message of a run (see status.h): what Kubernetes
 * keeps of the container's end, at most 4096 bytes, always valid JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "status-internal.h"
#include "utf8.h"

/* Appended to a message cut short to fit the termination message. */
#define TRUNCATION_MARK "..."

/* The guest summary of the termination message, or NULL. */
static struct json_object *
guest_summary_locked (struct agent_status *st)
{
  const struct agent_report_guest *g;
  struct json_object *o;
  char version[64];

  if (st->report == NULL || !st->report->has_guest)
    return NULL;
  g = &st->report->guest;
  o = json_object_new_object ();
  if (o == NULL)
    return NULL;
#define ADD(k, v) \
  if (v) json_object_object_add (o, k, json_object_new_string (v))
  ADD ("type", g->type);
  ADD ("distro", g->distro);
  ADD ("product", g->product);
  ADD ("arch", g->arch);
  ADD ("firmware", g->firmware);
#undef ADD
  if (g->has_version) {
    snprintf (version, sizeof version, "%" PRId64 ".%" PRId64, g->major,
              g->minor);
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

  json_object_object_add (o, "warnings",
                          agent_status_internal_warnings_json (st, k));
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
    size_t mid = utf8_prefix_len (message, lo + (hi - lo) / 2);
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
  agent_status_internal_add_outcome (st, o);
  json_object_object_add (o, "message",
                          agent_status_internal_string_or_null (st->message));
  json_object_object_add (o, "guest", guest_summary_locked (st));
  json_object_object_add (o, "kubevirtHints", agent_status_internal_json_copy
                          (st->report ? st->report->hints_json : NULL));
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
