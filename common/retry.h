/* retry: the one retry loop.  An attempt function is called until it
 * succeeds, fails in a way not worth retrying, or the policy's deadline
 * passes, waiting between attempts as backoff.h says (exponential, with
 * a cap, jitter and the server's Retry-After).  Like nbdkit's retry
 * filter, the error being retried is handed to a hook before each wait,
 * for the caller to log.  retry_http_retryable is the one answer to "is
 * this HTTP exchange worth another try".
 *
 *   static int
 *   attempt (void *opaque, struct retry_attempt *a, struct v2v_error *err)
 *   {
 *     int r = http_perform (opaque, &resp, err);
 *     a->again = retry_http_retryable (r, resp.status);
 *     ...
 *   }
 *
 *   struct retry_policy p = { .initial_ms = 200, .cap_ms = 10000,
 *                             .deadline_ms = 120000,
 *                             .jitter = BACKOFF_JITTER_FULL };
 *   r = retry_run (&p, attempt, &req, err);
 */
#ifndef V2V_COMMON_RETRY_H
#define V2V_COMMON_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "backoff.h"
#include "error.h"

struct retry_policy {
  int64_t initial_ms;           /* the first delay */
  int64_t cap_ms;               /* no delay beyond this, but Retry-After */
  int64_t deadline_ms;          /* from the first attempt; 0: none */
  enum backoff_jitter jitter;
  const struct backoff_clock *clock;    /* NULL: backoff_real_clock */

  /* Both optional, both given OPAQUE and the error about to be retried.
   * ON_RETRY is called before waiting DELAY_MS.  WAIT replaces the
   * clock's sleep (ON_RETRY is still called first); it returns 0 once
   * DELAY_MS has passed, or a negative number to give up at once (a stop
   * request, a deadline of the caller's own).
   */
  void (*on_retry) (void *opaque, const struct v2v_error *err,
                    int64_t delay_ms);
  int (*wait) (void *opaque, const struct v2v_error *err, int64_t delay_ms);
  void *opaque;
};

/* What one attempt says about itself, besides its result. */
struct retry_attempt {
  bool again;                   /* worth another try (default false) */
  int64_t retry_after_ms;       /* the server's Retry-After, or -1 */
  unsigned number;              /* read-only: 1 for the first attempt */
};

/* One attempt: returns 0 or -errno with ERR set.  To be retried it sets
 * A->again and returns a negative code (0 is taken as -EIO).
 */
typedef int (*retry_fn) (void *opaque, struct retry_attempt *a,
                         struct v2v_error *err);

/* Call FN (FN_OPAQUE) as P says.  Returns FN's result once it does not
 * ask for another try.  On giving up, returns FN's last (negative)
 * result with " (gave up after N attempts in S s)" added to ERR's
 * message.  ERR may be NULL.
 */
extern int retry_run (const struct retry_policy *p, retry_fn fn,
                      void *fn_opaque, struct v2v_error *err);

/* Is an HTTP exchange worth another try?  R is http_perform's result:
 * a transport error (R < 0) is retryable if it may pass (-ETIMEDOUT,
 * -ECONNREFUSED, -EHOSTUNREACH, -ECONNRESET, -EIO; not TLS, bad input
 * or a too-large body); a response (R == 0) if STATUS is 408, 429, 500,
 * 502, 503 or 504.
 */
extern bool retry_http_retryable (int r, long status);

#endif /* V2V_COMMON_RETRY_H */
