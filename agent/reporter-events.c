/* Events on the Pod: created under a fixed name, and a repeat of the
 * same type, reason and message bumps its count.  See reporter.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cleanup.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "reporter-internal.h"
#include "timeutil.h"

/* Events name their Pod by uid too; the downward API may not give it. */
static void
lookup_uid (struct reporter *r)
{
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  CLEANUP_JSON struct json_object *pod = NULL;
  CLEANUP_FREE char *path = reporter_internal_pod_path (r);
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

void
reporter_internal_send_event (struct reporter *r, const struct event *e)
{
  struct seen_event *se = NULL;
  char now[32], path[512], what[160];
  long status;
  enum reporter_send_result res;

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
    res = reporter_internal_kube_send
      (r, what, "PATCH", path, "application/merge-patch+json",
       json_object_to_json_string_ext (patch, JSON_C_TO_STRING_PLAIN),
       &status);
    if (res != REPORTER_REJECTED || status != 404)
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
  res = reporter_internal_kube_send
    (r, what, "POST", path, "application/json",
     json_object_to_json_string_ext (body, JSON_C_TO_STRING_PLAIN |
                                     JSON_C_TO_STRING_NOSLASHESCAPE),
     &status);
  if (res == REPORTER_REJECTED && status != 409 && status != 0)
    log_warn ("%s: the API server refused it (HTTP %ld)", what, status);
}
