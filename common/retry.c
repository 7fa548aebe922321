#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "retry.h"

int
retry_run (const struct retry_policy *p, retry_fn fn, void *fn_opaque,
           struct v2v_error *err)
{
  struct v2v_error local = { 0 };
  struct v2v_error *e = err ? err : &local;
  struct backoff b;
  unsigned number = 0;

  backoff_init (&b, p->initial_ms, p->cap_ms, p->deadline_ms, p->jitter,
                p->clock);
  for (;;) {
    struct retry_attempt a = { .retry_after_ms = -1, .number = ++number };
    int64_t delay_ms;
    int r = fn (fn_opaque, &a, e);

    if (!a.again)
      return r;
    if (r >= 0)
      r = e->code = -EIO;
    if (a.retry_after_ms >= 0)
      backoff_set_minimum (&b, a.retry_after_ms);
    if (backoff_next (&b, &delay_ms) == 0) {
      if (p->on_retry)
        p->on_retry (p->opaque, e, delay_ms);
      if (p->wait ? p->wait (p->opaque, e, delay_ms) == 0
          : (b.clock->sleep_ms (b.clock->opaque, delay_ms), true))
        continue;
    }
    size_t len = strlen (e->msg);
    snprintf (e->msg + len, sizeof e->msg - len,
              " (gave up after %u attempt%s in %.1f s)", number,
              number == 1 ? "" : "s",
              (double) backoff_elapsed_ms (&b) / 1000);
    return r;
  }
}

bool
retry_http_retryable (int r, long status)
{
  if (r < 0)
    return r == -ETIMEDOUT || r == -ECONNREFUSED || r == -EHOSTUNREACH ||
      r == -ECONNRESET || r == -EIO;
  return status == 408 || status == 429 || status == 500 || status == 502 ||
    status == 503 || status == 504;
}
