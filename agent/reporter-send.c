/* One reporter request, retried while worth it; see reporter-internal.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "cleanup.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "reporter-internal.h"

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

enum reporter_send_result
reporter_internal_send (struct reporter *r, const char *what,
                        reporter_perform_fn perform, void *arg,
                        long *ret_status)
{
  int64_t start = reporter_internal_now_ms ();
  struct backoff b;
  struct v2v_error err = { 0 };
  char why[256];

  backoff_init (&b, REPORTER_BACKOFF_MS, REPORTER_BACKOFF_CAP_MS, 0,
                BACKOFF_JITTER_FULL, NULL);
  for (;;) {
    CLEANUP_HTTP_RESPONSE struct http_response resp = { 0 };
    int64_t delay, deadline;
    int rc = perform (r, arg, &resp, &err);

    *ret_status = rc == 0 ? resp.status : 0;
    if (rc == 0 && resp.status >= 200 && resp.status < 300)
      return REPORTER_SENT;
    if (rc == 0 && !kube_status_retryable (resp.status)) {
      kube_status_message (resp.body.data, why, sizeof why);
      log_debug ("%s: HTTP %ld: %s", what, resp.status, why);
      return REPORTER_REJECTED;
    }
    if (rc < 0 && rc != -ETIMEDOUT && rc != -ECONNREFUSED &&
        rc != -EHOSTUNREACH && rc != -ECONNRESET && rc != -EIO) {
      log_warn ("%s: %s (not retried)", what, err.msg);
      return REPORTER_REJECTED;
    }
    if (rc == 0) {
      kube_status_message (resp.body.data, why, sizeof why);
      snprintf (err.msg, sizeof err.msg, "HTTP %ld: %s", resp.status, why);
      if (resp.retry_after_ms >= 0)
        backoff_set_minimum (&b, resp.retry_after_ms);
    }

    deadline = item_deadline (r, start);
    if (backoff_next (&b, &delay) < 0)
      delay = 0;
    if (reporter_internal_now_ms () + delay >= deadline || r->stop) {
      log_warn ("%s: gave up after %u attempts in %.1f s: %s", what,
                b.attempts + 1,
                (reporter_internal_now_ms () - start) / 1000.0, err.msg);
      return REPORTER_GAVE_UP;
    }
    log_debug ("%s: %s (retrying in %" PRIi64 " ms)", what, err.msg, delay);
    pthread_mutex_lock (&r->lock);
    if (!r->stop)
      reporter_internal_timed_wait (r, delay);
    pthread_mutex_unlock (&r->lock);
  }
}

static int
perform_kube (struct reporter *r, void *arg, struct http_response *resp,
              struct v2v_error *err)
{
  const char *const *req = arg;  /* method, path, content type, body */

  return kube_request (r->opts.kube, req[0], req[1], req[2], req[3],
                       REPORTER_TIMEOUT_MS, resp, err);
}

enum reporter_send_result
reporter_internal_kube_send (struct reporter *r, const char *what,
                             const char *method, const char *path,
                             const char *ctype, const char *body,
                             long *status)
{
  const char *req[4] = { method, path, ctype, body };

  return reporter_internal_send (r, what, perform_kube, req, status);
}
