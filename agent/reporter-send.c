/* One reporter request, retried while worth it; see reporter-internal.h. */
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
#include "retry.h"
#include "timeutil.h"

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

struct send {
  struct reporter *r;
  const char *what;
  reporter_perform_fn perform;
  void *arg;
  long *ret_status;
  int64_t start;
  enum reporter_send_result result;
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
    s->result = REPORTER_SENT;
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
    s->result = REPORTER_REJECTED;
    return rc < 0 ? rc : -EIO;
  }
  s->result = REPORTER_GAVE_UP;  /* unless a later attempt does better */
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
    reporter_internal_timed_wait (r, delay);
  pthread_mutex_unlock (&r->lock);
  return 0;
}

enum reporter_send_result
reporter_internal_send (struct reporter *r, const char *what,
                        reporter_perform_fn perform, void *arg,
                        long *ret_status)
{
  struct send s = { r, what, perform, arg, ret_status, now_ms (),
                    REPORTER_GAVE_UP };
  /* No deadline of its own: send_wait applies the item's, which the
   * finish deadline can bring forward while it waits.
   */
  struct retry_policy policy = {
    .initial_ms = REPORTER_BACKOFF_MS, .cap_ms = REPORTER_BACKOFF_CAP_MS,
    .jitter = BACKOFF_JITTER_FULL, .wait = send_wait, .opaque = &s,
  };
  struct v2v_error err = { 0 };

  retry_run (&policy, send_attempt, &s, &err);
  if (s.result == REPORTER_GAVE_UP)
    log_warn ("%s: %s", what, err.msg);
  return s.result;
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
