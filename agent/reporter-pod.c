/* The Pod's annotations and the --status-url POST: the latest status,
 * coalesced.  See reporter.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "reporter-internal.h"

char *
reporter_internal_pod_path (struct reporter *r)
{
  char *p;

  if (asprintf (&p, "/api/v1/namespaces/%s/pods/%s", r->pod_namespace,
                r->pod_name) < 0)
    return NULL;
  return p;
}

void
reporter_internal_send_annotations (struct reporter *r)
{
  CLEANUP_JSON struct json_object *s = agent_status_to_json (r->st);
  CLEANUP_JSON struct json_object *patch = json_object_new_object ();
  struct json_object *meta = json_object_new_object ();
  struct json_object *ann = json_object_new_object ();
  CLEANUP_FREE char *path = reporter_internal_pod_path (r);
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
  reporter_internal_kube_send
    (r, "annotating the pod", "PATCH", path, "application/merge-patch+json",
     json_object_to_json_string_ext (patch, JSON_C_TO_STRING_PLAIN |
                                     JSON_C_TO_STRING_NOSLASHESCAPE),
     &status);
}

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

void
reporter_internal_send_status_url (struct reporter *r)
{
  CLEANUP_JSON struct json_object *s = agent_status_to_json (r->st);
  long status;

  if (s == NULL)
    return;
  const char *body =
    json_object_to_json_string_ext (s, JSON_C_TO_STRING_PLAIN |
                                    JSON_C_TO_STRING_NOSLASHESCAPE);
  if (reporter_internal_send (r, "--status-url", perform_status_post,
                              (void *) body, &status) == REPORTER_REJECTED)
    log_warn ("--status-url: the server answered HTTP %ld", status);
}
