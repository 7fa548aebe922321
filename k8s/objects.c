/* Kubernetes objects by path, with retries; see kube.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "kube.h"
#include "retry.h"

#define KUBE_OBJ_TIMEOUT_MS 15000

struct request {
  struct kube_config *cfg;
  const char *method, *path, *ctype, *body;
  struct http_response *resp;
};

static int
attempt (void *opaque, struct retry_attempt *a, struct v2v_error *err)
{
  struct request *q = opaque;
  struct http_response *resp = q->resp;
  char msg[256];
  int r;

  http_response_free (resp);
  memset (resp, 0, sizeof *resp);
  r = kube_request (q->cfg, q->method, q->path, q->ctype, q->body,
                    KUBE_OBJ_TIMEOUT_MS, resp, err);
  a->again = retry_http_retryable (r, resp->status);
  if (r < 0 || !a->again)
    return r;
  kube_status_message (resp->body.data, msg, sizeof msg);
  a->retry_after_ms = resp->retry_after_ms;
  return v2v_error_set (err, -EIO, "%s %s: HTTP %ld: %s", q->method,
                        q->path, resp->status, msg);
}

/* One request, retried while it is worth it.  *RESP holds the final
 * answer when 0 is returned.
 */
static int
request_retrying (struct kube_config *cfg, const char *method,
                  const char *path, const char *ctype, const char *body,
                  struct http_response *resp, struct v2v_error *err)
{
  static const struct retry_policy policy = {
    .initial_ms = 200, .cap_ms = 10000,
    .deadline_ms = KUBE_RETRY_DEADLINE_MS, .jitter = BACKOFF_JITTER_FULL,
  };
  struct request q = { cfg, method, path, ctype, body, resp };

  return retry_run (&policy, attempt, &q, err);
}

/* The errno for a final status, with the server's message in ERR. */
static int
status_error (const char *method, const char *path,
              const struct http_response *resp, struct v2v_error *err)
{
  char msg[512];
  int code;

  switch (resp->status) {
  case 404: code = -ENOENT; break;
  case 409: code = -EEXIST; break;
  case 401: case 403: code = -EACCES; break;
  case 400: case 422: code = -EINVAL; break;
  default: code = -EIO; break;
  }
  kube_status_message (resp->body.data, msg, sizeof msg);
  return v2v_error_set (err, code, "%s %s: HTTP %ld: %s", method, path,
                        resp->status, msg);
}

static int
parse_body (const struct http_response *resp, struct json_object **ret,
            struct v2v_error *err)
{
  if (ret == NULL)
    return 0;
  return json_parse (resp->body.data ? resp->body.data : "",
                     resp->body.len, 0, ret, err);
}

int
kube_get (struct kube_config *cfg, const char *path, struct json_object **ret,
          struct v2v_error *err)
{
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  int r = request_retrying (cfg, "GET", path, NULL, NULL, &resp, err);

  if (r < 0)
    return r;
  if (resp.status != 200)
    return status_error ("GET", path, &resp, err);
  return parse_body (&resp, ret, err);
}

int
kube_create (struct kube_config *cfg, const char *path,
             struct json_object *obj, struct json_object **ret,
             struct v2v_error *err)
{
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  const char *body =
    json_object_to_json_string_ext (obj, JSON_C_TO_STRING_PLAIN |
                                    JSON_C_TO_STRING_NOSLASHESCAPE);
  int r = request_retrying (cfg, "POST", path, "application/json", body,
                            &resp, err);

  if (r < 0)
    return r;
  if (resp.status != 200 && resp.status != 201 && resp.status != 202)
    return status_error ("POST", path, &resp, err);
  return parse_body (&resp, ret, err);
}

int
kube_delete (struct kube_config *cfg, const char *path,
             struct v2v_error *err)
{
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  CLEANUP_FREE char *p = NULL;

  if (asprintf (&p, "%s%spropagationPolicy=Background", path,
                strchr (path, '?') ? "&" : "?") < 0)
    return v2v_error_set (err, -ENOMEM, "out of memory");
  int r = request_retrying (cfg, "DELETE", p, NULL, NULL, &resp, err);
  if (r < 0)
    return r;
  if (resp.status == 404 || resp.status == 200 || resp.status == 202)
    return 0;
  return status_error ("DELETE", path, &resp, err);
}

int
kube_merge_patch (struct kube_config *cfg, const char *path,
                  struct json_object *patch, struct v2v_error *err)
{
  CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
  const char *body =
    json_object_to_json_string_ext (patch, JSON_C_TO_STRING_PLAIN |
                                    JSON_C_TO_STRING_NOSLASHESCAPE);
  int r = request_retrying (cfg, "PATCH", path,
                            "application/merge-patch+json", body, &resp, err);

  if (r < 0)
    return r;
  if (resp.status != 200)
    return status_error ("PATCH", path, &resp, err);
  return 0;
}

char *
kube_label_selector (const char *const *kv)
{
  struct buf b;

  buf_init (&b, 4096);
  for (size_t i = 0; kv[i] && kv[i + 1]; i += 2) {
    /* Label keys and values are [A-Za-z0-9._/-]; only '/' and ','
     * and '=' need encoding in a query.
     */
    if (i > 0)
      buf_append (&b, "%2C", 3);
    for (const char *p = kv[i]; *p; p++)
      if (*p == '/')
        buf_append (&b, "%2F", 3);
      else
        buf_append (&b, p, 1);
    buf_append (&b, "%3D", 3);
    buf_append (&b, kv[i + 1], strlen (kv[i + 1]));
  }
  if (b.data == NULL)
    buf_append (&b, "", 0);
  return buf_steal (&b);
}
