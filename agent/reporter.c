/* The status reporter thread; see reporter.h. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cleanup.h"
#include "http.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "reporter.h"
#include "retry.h"
#include "timeutil.h"

#define REPORTER_MAX_EVENTS   64        /* queued, not yet sent */
#define REPORTER_MAX_SEEN     32        /* Events remembered for counts */
#define REPORTER_TIMEOUT_MS   10000     /* one request */
#define REPORTER_BACKOFF_MS   250
#define REPORTER_BACKOFF_CAP_MS 10000
#define REPORTER_ITEM_DEADLINE_MS (120 * 1000)

struct event {
  bool warning;
  char *reason;
  char *message;
};

/* An Event already created, so that a repeat bumps its count. */
struct seen_event {
  bool warning;
  char *reason, *message;
  char name[96];
  char first[32];               /* firstTimestamp */
  int count;
};

struct reporter {
  struct reporter_options opts;
  char *pod_name, *pod_namespace, *pod_uid, *node_name, *status_url;
  struct agent_status *st;

  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;          /* work queued, or finishing */
  pthread_cond_t idle;          /* the queue drained */
  struct event queue[REPORTER_MAX_EVENTS];
  size_t head, count;
  unsigned dropped;
  bool annotations_dirty, status_dirty;
  bool busy;                    /* the thread is sending an item */
  bool stop;                    /* give up now: the finish deadline passed */
  int64_t finish_deadline;      /* monotonic ms, or 0 while running */

  struct seen_event seen[REPORTER_MAX_SEEN];
  size_t nr_seen;
  bool uid_looked_up;
};

/* Wait for DELAY_MS on the reporter's condition variable, so that the
 * finish deadline cuts a backoff short.  Called with the lock held.
 */
static void
timed_wait (struct reporter *r, int64_t delay_ms)
{
  struct timespec ts = timespec_after_ms (CLOCK_MONOTONIC, delay_ms);

  pthread_cond_timedwait (&r->cond, &r->lock, &ts);
}

/* The deadline for the item being sent: its own, or the finish deadline
 * if that comes first.
 */
static int64_t
item_deadline (struct reporter *r, int64_t start)
{
  int64_t d = start + r->opts.item_deadline_ms;

  pthread_mutex_lock (&r->lock);
  if (r->finish_deadline && r->finish_deadline < d)
    d = r->finish_deadline;
  pthread_mutex_unlock (&r->lock);
  return d;
}

enum send_result { SENT, REJECTED, GAVE_UP };

/* One request, retried while worth it.  PERFORM does one attempt and
 * returns 0 with *STATUS, or -errno.  On REJECTED, *STATUS is the 4xx.
 */
typedef int (*perform_fn) (struct reporter *r, void *arg,
                           struct http_response *resp, struct v2v_error *err);

struct send {
  struct reporter *r;
  const char *what;
  perform_fn perform;
  void *arg;
  long *ret_status;
  int64_t start;
  enum send_result result;
};

static int
send_attempt (void *opaque, struct retry_attempt *a, struct v2v_error *err)
{
  struct send *s = opaque;
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  char why[256];
  int rc = s->perform (s->r, s->arg, &resp, err);

  *s->ret_status = rc == 0 ? resp.status : 0;
  if (rc == 0 && resp.status >= 200 && resp.status < 300) {
    s->result = SENT;
    return 0;
  }
  a->again = retry_http_retryable (rc, resp.status);
  if (rc == 0)
    kube_status_message (resp.body.data, why, sizeof why);
  if (!a->again) {
    if (rc == 0)
      log_debug ("%s: HTTP %ld: %s", s->what, resp.status, why);
    else
      log_warn ("%s: %s (not retried)", s->what, err->msg);
    s->result = REJECTED;
    return rc < 0 ? rc : -EIO;
  }
  s->result = GAVE_UP;          /* unless a later attempt does better */
  if (rc < 0)
    return rc;
  a->retry_after_ms = resp.retry_after_ms;
  return v2v_error_set (err, -EIO, "HTTP %ld: %s", resp.status, why);
}

/* Wait between attempts, unless that would pass the item's deadline or
 * the reporter is told to stop.
 */
static int
send_wait (void *opaque, const struct v2v_error *err, int64_t delay)
{
  struct send *s = opaque;
  struct reporter *r = s->r;

  if (now_ms () + delay >= item_deadline (r, s->start) || r->stop)
    return -ETIMEDOUT;
  log_debug ("%s: %s (retrying in %" PRIi64 " ms)", s->what, err->msg,
             delay);
  pthread_mutex_lock (&r->lock);
  if (!r->stop)
    timed_wait (r, delay);
  pthread_mutex_unlock (&r->lock);
  return 0;
}

static enum send_result
send_retrying (struct reporter *r, const char *what, perform_fn perform,
               void *arg, long *ret_status)
{
  struct send s = { r, what, perform, arg, ret_status, now_ms (), GAVE_UP };
  /* No deadline of its own: send_wait applies the item's, which the
   * finish deadline can bring forward while it waits.
   */
  struct retry_policy policy = {
    .initial_ms = REPORTER_BACKOFF_MS, .cap_ms = REPORTER_BACKOFF_CAP_MS,
    .jitter = BACKOFF_JITTER_FULL, .wait = send_wait, .opaque = &s,
  };
  struct v2v_error err = { 0 };

  retry_run (&policy, send_attempt, &s, &err);
  if (s.result == GAVE_UP)
    log_warn ("%s: %s", what, err.msg);
  return s.result;
}

/* --- Pod annotations ----------------------------------------------- */

static int
perform_kube (struct reporter *r, void *arg, struct http_response *resp,
              struct v2v_error *err)
{
  const char *const *req = arg;  /* method, path, content type, body */

  return kube_request (r->opts.kube, req[0], req[1], req[2], req[3],
                       REPORTER_TIMEOUT_MS, resp, err);
}

static enum send_result
kube_send (struct reporter *r, const char *what, const char *method,
           const char *path, const char *ctype, const char *body,
           long *status)
{
  const char *req[4] = { method, path, ctype, body };

  return send_retrying (r, what, perform_kube, req, status);
}

static char *
pod_path (struct reporter *r)
{
  char *p;

  if (asprintf (&p, "/api/v1/namespaces/%s/pods/%s", r->pod_namespace,
                r->pod_name) < 0)
    return NULL;
  return p;
}

static void
send_annotations (struct reporter *r)
{
  CLEANUP_JSON struct json_object *s = agent_status_to_json (r->st);
  CLEANUP_JSON struct json_object *patch = json_object_new_object ();
  struct json_object *meta = json_object_new_object ();
  struct json_object *ann = json_object_new_object ();
  CLEANUP_FREE char *path = pod_path (r);
  struct json_object *v;
  char key[128];
  long status;

  if (s == NULL || path == NULL)
    return;
  json_object_object_add (patch, "metadata", meta);
  json_object_object_add (meta, "annotations", ann);
#define ANN(name, val)                                                  \
  do {                                                                  \
    snprintf (key, sizeof key, REPORTER_ANNOTATION_PREFIX "%s", name);  \
    json_object_object_add (ann, key, (val));                           \
  } while (0)
  ANN ("phase", json_object_get (json_object_object_get (s, "phase")));
  ANN ("progress", json_object_new_string
       (json_object_get_string (json_object_object_get (s, "progress"))));
  if (json_object_object_get_ex (s, "message", &v) && v)
    ANN ("message", json_object_get (v));
  if (json_object_object_get_ex (s, "outcome", &v) &&
      strcmp (json_object_get_string (v), "Running") != 0) {
    /* The short result: what a controller needs to decide, no more. */
    struct json_object *res = json_object_new_object ();
    static const char *const keys[] = { "outcome", "reason", "exitCode",
                                        "message", "kubevirtHints" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
      if (json_object_object_get_ex (s, keys[i], &v))
        json_object_object_add (res, keys[i], json_object_get (v));
    ANN ("result", json_object_new_string
         (json_object_to_json_string_ext (res, JSON_C_TO_STRING_PLAIN |
                                          JSON_C_TO_STRING_NOSLASHESCAPE)));
    json_object_put (res);
  }
#undef ANN
  kube_send (r, "annotating the pod", "PATCH", path,
             "application/merge-patch+json",
             json_object_to_json_string_ext (patch, JSON_C_TO_STRING_PLAIN |
                                             JSON_C_TO_STRING_NOSLASHESCAPE),
             &status);
}

/* Events name their Pod by uid too; the downward API may not give it. */
static void
lookup_uid (struct reporter *r)
{
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  CLEANUP_JSON struct json_object *pod = NULL;
  CLEANUP_FREE char *path = pod_path (r);
  const char *uid;

  r->uid_looked_up = true;
  if (r->pod_uid || path == NULL ||
      kube_request (r->opts.kube, "GET", path, NULL, NULL,
                    REPORTER_TIMEOUT_MS, &resp, NULL) < 0 ||
      resp.status != 200 ||
      json_parse (resp.body.data, resp.body.len, 0, &pod, NULL) < 0 ||
      json_get_string (pod, "metadata.uid", &uid, NULL) < 0)
    return;
  r->pod_uid = strdup (uid);
}

/* --- Events -------------------------------------------------------- */

static struct json_object *
event_body (struct reporter *r, const struct seen_event *se,
            const char *now)
{
  struct json_object *ev = json_object_new_object ();
  struct json_object *meta = json_object_new_object ();
  struct json_object *io = json_object_new_object ();
  struct json_object *src = json_object_new_object ();

  json_object_object_add (ev, "apiVersion", json_object_new_string ("v1"));
  json_object_object_add (ev, "kind", json_object_new_string ("Event"));
  json_object_object_add (meta, "name", json_object_new_string (se->name));
  json_object_object_add (meta, "namespace",
                          json_object_new_string (r->pod_namespace));
  json_object_object_add (ev, "metadata", meta);
  json_object_object_add (io, "apiVersion", json_object_new_string ("v1"));
  json_object_object_add (io, "kind", json_object_new_string ("Pod"));
  json_object_object_add (io, "name", json_object_new_string (r->pod_name));
  json_object_object_add (io, "namespace",
                          json_object_new_string (r->pod_namespace));
  if (r->pod_uid)
    json_object_object_add (io, "uid", json_object_new_string (r->pod_uid));
  json_object_object_add (ev, "involvedObject", io);
  json_object_object_add (ev, "reason", json_object_new_string (se->reason));
  json_object_object_add (ev, "message", json_object_new_string (se->message));
  json_object_object_add (ev, "type", json_object_new_string
                          (se->warning ? "Warning" : "Normal"));
  json_object_object_add (ev, "count", json_object_new_int (se->count));
  json_object_object_add (ev, "firstTimestamp",
                          json_object_new_string (se->first));
  json_object_object_add (ev, "lastTimestamp", json_object_new_string (now));
  json_object_object_add (src, "component",
                          json_object_new_string ("v2v-agent"));
  if (r->node_name)
    json_object_object_add (src, "host",
                            json_object_new_string (r->node_name));
  json_object_object_add (ev, "source", src);
  json_object_object_add (ev, "reportingComponent",
                          json_object_new_string ("v2v-agent"));
  json_object_object_add (ev, "reportingInstance",
                          json_object_new_string (r->pod_name));
  return ev;
}

static void
send_event (struct reporter *r, const struct event *e)
{
  struct seen_event *se = NULL;
  char now[32], path[512], what[160];
  long status;
  enum send_result res;

  if (!r->uid_looked_up)
    lookup_uid (r);
  time_format_rfc3339 (time (NULL), now, sizeof now);
  snprintf (what, sizeof what, "event %s", e->reason);

  for (size_t i = 0; i < r->nr_seen; i++)
    if (r->seen[i].warning == e->warning &&
        strcmp (r->seen[i].reason, e->reason) == 0 &&
        strcmp (r->seen[i].message, e->message) == 0)
      se = &r->seen[i];

  if (se) {
    /* A repeat: bump the count of the Event already there. */
    CLEANUP_JSON struct json_object *patch = json_object_new_object ();
    se->count++;
    json_object_object_add (patch, "count", json_object_new_int (se->count));
    json_object_object_add (patch, "lastTimestamp",
                            json_object_new_string (now));
    snprintf (path, sizeof path, "/api/v1/namespaces/%s/events/%s",
              r->pod_namespace, se->name);
    res = kube_send (r, what, "PATCH", path, "application/merge-patch+json",
                     json_object_to_json_string_ext (patch,
                                                     JSON_C_TO_STRING_PLAIN),
                     &status);
    if (res != REJECTED || status != 404)
      return;
    /* Events expire (an hour by default): create it again. */
  }
  else {
    uint64_t rnd = 0;
    if (r->nr_seen == REPORTER_MAX_SEEN) {
      free (r->seen[0].reason);
      free (r->seen[0].message);
      memmove (&r->seen[0], &r->seen[1],
               (REPORTER_MAX_SEEN - 1) * sizeof r->seen[0]);
      r->nr_seen--;
    }
    se = &r->seen[r->nr_seen];
    memset (se, 0, sizeof *se);
    se->warning = e->warning;
    se->reason = strdup (e->reason);
    se->message = strdup (e->message);
    if (se->reason == NULL || se->message == NULL) {
      free (se->reason);
      free (se->message);
      return;
    }
    r->nr_seen++;
    se->count = 1;
    /* A fixed name rather than generateName, so that a POST retried
     * after a lost answer finds its own Event (409) instead of making
     * a second one.
     */
    if (getrandom (&rnd, sizeof rnd, 0) != sizeof rnd)
      rnd = (uint64_t) now_ms () * 2654435761u;
    snprintf (se->name, sizeof se->name, "%.63s.%016" PRIx64,
              r->pod_name, rnd);
  }
  snprintf (se->first, sizeof se->first, "%s", now);
  se->count = se->count < 1 ? 1 : se->count;
  CLEANUP_JSON struct json_object *body = event_body (r, se, now);
  snprintf (path, sizeof path, "/api/v1/namespaces/%s/events",
            r->pod_namespace);
  res = kube_send (r, what, "POST", path, "application/json",
                   json_object_to_json_string_ext (body,
                                                   JSON_C_TO_STRING_PLAIN |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE),
                   &status);
  if (res == REJECTED && status != 409 && status != 0)
    log_warn ("%s: the API server refused it (HTTP %ld)", what, status);
}

/* --- --status-url -------------------------------------------------- */

static int
perform_status_post (struct reporter *r, void *arg,
                     struct http_response *resp, struct v2v_error *err)
{
  const char *body = arg;
  static const char *const headers[] = { "Content-Type: application/json",
                                         NULL };
  struct http_request req = {
    .method = "POST",
    .url = r->status_url,
    .headers = headers,
    .body = body,
    .body_len = strlen (body),
    .timeout_ms = REPORTER_TIMEOUT_MS,
    .max_response = 64 * 1024,
  };

  return http_perform (&req, resp, err);
}

static void
send_status_url (struct reporter *r)
{
  CLEANUP_JSON struct json_object *s = agent_status_to_json (r->st);
  long status;

  if (s == NULL)
    return;
  const char *body =
    json_object_to_json_string_ext (s, JSON_C_TO_STRING_PLAIN |
                                    JSON_C_TO_STRING_NOSLASHESCAPE);
  if (send_retrying (r, "--status-url", perform_status_post, (void *) body,
                     &status) == REJECTED)
    log_warn ("--status-url: the server answered HTTP %ld", status);
}

/* --- The thread ---------------------------------------------------- */

static void *
reporter_thread (void *arg)
{
  struct reporter *r = arg;

  pthread_mutex_lock (&r->lock);
  for (;;) {
    while (!r->stop && r->count == 0 && !r->annotations_dirty &&
           !r->status_dirty && r->finish_deadline == 0)
      pthread_cond_wait (&r->cond, &r->lock);
    if (r->stop || (r->count == 0 && !r->annotations_dirty &&
                    !r->status_dirty))
      break;

    r->busy = true;
    if (r->count > 0) {
      struct event e = r->queue[r->head];
      r->head = (r->head + 1) % REPORTER_MAX_EVENTS;
      r->count--;
      pthread_mutex_unlock (&r->lock);
      send_event (r, &e);
      free (e.reason);
      free (e.message);
    }
    else if (r->annotations_dirty) {
      r->annotations_dirty = false;
      pthread_mutex_unlock (&r->lock);
      send_annotations (r);
    }
    else {
      r->status_dirty = false;
      pthread_mutex_unlock (&r->lock);
      send_status_url (r);
    }
    pthread_mutex_lock (&r->lock);
    r->busy = false;
    pthread_cond_broadcast (&r->idle);
  }
  r->busy = false;
  pthread_cond_broadcast (&r->idle);
  pthread_mutex_unlock (&r->lock);
  return NULL;
}

int
reporter_start (const struct reporter_options *opts, struct agent_status *st,
                struct reporter **ret, struct v2v_error *err)
{
  struct reporter *r;
  pthread_condattr_t ca;
  int e;

  if (opts->kube && (opts->pod_name == NULL || opts->pod_namespace == NULL))
    return v2v_error_set (err, -EINVAL, "reporting to Kubernetes needs the "
                          "pod's name and namespace (POD_NAME and "
                          "POD_NAMESPACE from the downward API)");
  if ((r = calloc (1, sizeof *r)) == NULL)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  r->opts = *opts;
  if (r->opts.item_deadline_ms <= 0)
    r->opts.item_deadline_ms = REPORTER_ITEM_DEADLINE_MS;
  r->st = st;
#define DUP(f) \
  if (opts->f && (r->f = strdup (opts->f)) == NULL) goto nomem
  DUP (pod_name); DUP (pod_namespace); DUP (pod_uid); DUP (node_name);
  DUP (status_url);
#undef DUP
  pthread_mutex_init (&r->lock, NULL);
  pthread_condattr_init (&ca);
  pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
  pthread_cond_init (&r->cond, &ca);
  pthread_cond_init (&r->idle, NULL);
  pthread_condattr_destroy (&ca);
  if ((e = pthread_create (&r->thread, NULL, reporter_thread, r)) != 0) {
    pthread_mutex_destroy (&r->lock);
    pthread_cond_destroy (&r->cond);
    pthread_cond_destroy (&r->idle);
    errno = e;
    goto nomem;
  }
  *ret = r;
  return 0;

nomem:
  free (r->pod_name); free (r->pod_namespace); free (r->pod_uid);
  free (r->node_name); free (r->status_url);
  free (r);
  return v2v_error_errno (err, -ENOMEM, "starting the status reporter");
}

void
reporter_event (struct reporter *r, bool warning, const char *reason,
                const char *message)
{
  if (r == NULL || r->opts.kube == NULL)
    return;
  pthread_mutex_lock (&r->lock);
  if (r->count == REPORTER_MAX_EVENTS) {
    /* A stuck API server must not make the agent grow without bound:
     * the oldest queued Event goes.
     */
    struct event *old = &r->queue[r->head];
    free (old->reason);
    free (old->message);
    r->head = (r->head + 1) % REPORTER_MAX_EVENTS;
    r->count--;
    r->dropped++;
  }
  struct event *e = &r->queue[(r->head + r->count) % REPORTER_MAX_EVENTS];
  e->warning = warning;
  e->reason = strdup (reason);
  e->message = strdup (message);
  if (e->reason && e->message)
    r->count++;
  else {
    free (e->reason);
    free (e->message);
  }
  pthread_cond_signal (&r->cond);
  pthread_mutex_unlock (&r->lock);
}

void
reporter_update (struct reporter *r)
{
  if (r == NULL)
    return;
  pthread_mutex_lock (&r->lock);
  if (r->opts.kube)
    r->annotations_dirty = true;
  if (r->status_url)
    r->status_dirty = true;
  pthread_cond_signal (&r->cond);
  pthread_mutex_unlock (&r->lock);
}

unsigned
reporter_finish (struct reporter *r, int64_t deadline_ms)
{
  unsigned dropped;

  if (r == NULL)
    return 0;
  pthread_mutex_lock (&r->lock);
  r->finish_deadline = now_ms () + (deadline_ms > 0 ? deadline_ms : 1);
  pthread_cond_broadcast (&r->cond);
  while ((r->busy || r->count > 0 || r->annotations_dirty ||
          r->status_dirty) && now_ms () < r->finish_deadline) {
    /* r->idle uses CLOCK_REALTIME; wake at least every 100 ms. */
    struct timespec ts = timespec_after_ms (CLOCK_REALTIME, 100);
    pthread_cond_timedwait (&r->idle, &r->lock, &ts);
  }
  dropped = r->dropped + r->count + r->annotations_dirty + r->status_dirty;
  r->stop = true;
  pthread_cond_broadcast (&r->cond);
  pthread_mutex_unlock (&r->lock);
  /* A request in flight ends within REPORTER_TIMEOUT_MS. */
  pthread_join (r->thread, NULL);

  for (size_t i = 0; i < r->count; i++) {
    struct event *e = &r->queue[(r->head + i) % REPORTER_MAX_EVENTS];
    free (e->reason);
    free (e->message);
  }
  for (size_t i = 0; i < r->nr_seen; i++) {
    free (r->seen[i].reason);
    free (r->seen[i].message);
  }
  if (dropped)
    log_warn ("status reporting: %u update(s) could not be sent before the "
              "deadline; the outcome is in the termination message and "
              "this log", dropped);
  pthread_mutex_destroy (&r->lock);
  pthread_cond_destroy (&r->cond);
  pthread_cond_destroy (&r->idle);
  free (r->pod_name); free (r->pod_namespace); free (r->pod_uid);
  free (r->node_name); free (r->status_url);
  free (r);
  return dropped;
}
