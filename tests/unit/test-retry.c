#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "retry.h"

/* A clock that only moves when something sleeps on it. */
struct fake {
  int64_t now;
  int64_t slept[64];
  size_t nslept;
};

static struct fake f;

static int64_t
fake_now (void *opaque)
{
  return ((struct fake *) opaque)->now;
}

static void
fake_sleep (void *opaque, int64_t ms)
{
  struct fake *fk = opaque;

  if (fk->nslept < sizeof fk->slept / sizeof fk->slept[0])
    fk->slept[fk->nslept++] = ms;
  fk->now += ms;
}

static uint64_t
fake_random (void *opaque)
{
  (void) opaque;
  return 0;
}

static const struct backoff_clock fake_clock = {
  .now_ms = fake_now, .sleep_ms = fake_sleep, .random = fake_random,
  .opaque = &f,
};

/* An attempt that fails with CODES[i] on call i (0 ends the list: the
 * call succeeds), retryable unless the code is -EPERM.
 */
struct script {
  int codes[16];
  int64_t retry_after_ms;       /* on every retryable failure, or -1 */
  unsigned calls;
  unsigned numbers[16];
};

static int
scripted (void *opaque, struct retry_attempt *a, struct v2v_error *err)
{
  struct script *s = opaque;
  int code = s->codes[s->calls];

  s->numbers[s->calls++] = a->number;
  if (code == 0)
    return 0;
  a->again = code != -EPERM;
  if (a->again)
    a->retry_after_ms = s->retry_after_ms;
  return v2v_error_set (err, code, "try %u failed", s->calls);
}

static struct retry_policy
policy (int64_t deadline_ms)
{
  return (struct retry_policy) {
    .initial_ms = 100, .cap_ms = 1000, .deadline_ms = deadline_ms,
    .jitter = BACKOFF_JITTER_NONE, .clock = &fake_clock,
  };
}

static void
setup (void)
{
  memset (&f, 0, sizeof f);
}

TestSuite (retry, .init = setup);

Test (retry, first_success_is_one_call)
{
  struct script s = { .codes = { 0 }, .retry_after_ms = -1 };
  struct retry_policy p = policy (10000);

  cr_assert_eq (retry_run (&p, scripted, &s, NULL), 0);
  cr_assert_eq (s.calls, 1);
  cr_assert_eq (f.nslept, 0);
}

Test (retry, retries_with_backoff_until_success)
{
  struct script s = { .codes = { -EIO, -ETIMEDOUT, -EIO, 0 },
                      .retry_after_ms = -1 };
  struct retry_policy p = policy (10000);

  cr_assert_eq (retry_run (&p, scripted, &s, NULL), 0);
  cr_assert_eq (s.calls, 4);
  cr_assert_eq (f.nslept, 3);
  cr_assert_eq (f.slept[0], 100);
  cr_assert_eq (f.slept[1], 200);
  cr_assert_eq (f.slept[2], 400);
  for (unsigned i = 0; i < 4; i++)
    cr_assert_eq (s.numbers[i], i + 1);
}

Test (retry, not_retryable_returns_at_once)
{
  struct script s = { .codes = { -EIO, -EPERM, 0 }, .retry_after_ms = -1 };
  struct retry_policy p = policy (10000);
  struct v2v_error err = { 0 };

  cr_assert_eq (retry_run (&p, scripted, &s, &err), -EPERM);
  cr_assert_eq (s.calls, 2);
  cr_assert_str_eq (err.msg, "try 2 failed", "no give-up note");
}

Test (retry, deadline_gives_up_with_last_error)
{
  struct script s = { .retry_after_ms = -1 };
  struct retry_policy p = policy (1000);
  struct v2v_error err = { 0 };

  for (size_t i = 0; i < 16; i++)
    s.codes[i] = -ECONNREFUSED;
  cr_assert_eq (retry_run (&p, scripted, &s, &err), -ECONNREFUSED);
  cr_assert_eq (err.code, -ECONNREFUSED);
  /* 100 + 200 + 400 + 300 (cut to the deadline), then a last try. */
  cr_assert_eq (s.calls, 5);
  cr_assert_eq (f.now, 1000);
  cr_assert_str_eq (err.msg, "try 5 failed (gave up after 5 attempts in "
                    "1.0 s)");
}

Test (retry, retry_after_raises_the_delay)
{
  struct script s = { .codes = { -EIO, 0 }, .retry_after_ms = 700 };
  struct retry_policy p = policy (10000);

  cr_assert_eq (retry_run (&p, scripted, &s, NULL), 0);
  cr_assert_eq (f.slept[0], 700);
}

Test (retry, retry_after_past_deadline_gives_up)
{
  struct script s = { .codes = { -EIO, 0 }, .retry_after_ms = 50000 };
  struct retry_policy p = policy (10000);
  struct v2v_error err = { 0 };

  cr_assert_eq (retry_run (&p, scripted, &s, &err), -EIO);
  cr_assert_eq (s.calls, 1);
  cr_assert_eq (f.nslept, 0, "no pointless wait");
  cr_assert_not_null (strstr (err.msg, "(gave up after 1 attempt in "),
                      "%s", err.msg);
}

static int
again_with_zero (void *opaque, struct retry_attempt *a, struct v2v_error *err)
{
  (void) opaque;
  (void) err;
  a->again = true;
  return 0;
}

Test (retry, again_with_success_code_is_eio)
{
  struct retry_policy p = policy (150);

  cr_assert_eq (retry_run (&p, again_with_zero, NULL, NULL), -EIO);
}

struct hooks {
  char logged[4][64];
  int64_t delays[4];
  unsigned nlogged, nwaits, veto_after;
};

static void
on_retry (void *opaque, const struct v2v_error *err, int64_t delay_ms)
{
  struct hooks *h = opaque;

  if (h->nlogged < 4) {
    snprintf (h->logged[h->nlogged], sizeof h->logged[0], "%.63s", err->msg);
    h->delays[h->nlogged] = delay_ms;
  }
  h->nlogged++;
}

static int
wait_hook (void *opaque, const struct v2v_error *err, int64_t delay_ms)
{
  struct hooks *h = opaque;

  (void) delay_ms;
  cr_assert_str_eq (err->msg, h->nwaits == 0 ? "try 1 failed"
                    : h->nwaits == 1 ? "try 2 failed" : "try 3 failed");
  return ++h->nwaits > h->veto_after ? -ECANCELED : 0;
}

Test (retry, on_retry_sees_each_error_before_the_wait)
{
  struct script s = { .codes = { -EIO, -EIO, 0 }, .retry_after_ms = -1 };
  struct retry_policy p = policy (10000);
  struct hooks h = { 0 };

  p.on_retry = on_retry;
  p.opaque = &h;
  cr_assert_eq (retry_run (&p, scripted, &s, NULL), 0);
  cr_assert_eq (h.nlogged, 2);
  cr_assert_str_eq (h.logged[0], "try 1 failed");
  cr_assert_str_eq (h.logged[1], "try 2 failed");
  cr_assert_eq (h.delays[0], 100);
  cr_assert_eq (h.delays[1], 200);
}

Test (retry, wait_hook_replaces_sleep_and_can_give_up)
{
  struct script s = { .retry_after_ms = -1 };
  struct retry_policy p = policy (0);
  struct hooks h = { .veto_after = 2 };
  struct v2v_error err = { 0 };

  for (size_t i = 0; i < 16; i++)
    s.codes[i] = -EIO;
  p.wait = wait_hook;
  p.opaque = &h;
  cr_assert_eq (retry_run (&p, scripted, &s, &err), -EIO);
  cr_assert_eq (s.calls, 3);
  cr_assert_eq (f.nslept, 0, "the clock's sleep is not used");
  cr_assert_not_null (strstr (err.msg, "try 3 failed (gave up after 3 "
                              "attempts in "), "%s", err.msg);
}

Test (retry, http_retryable)
{
  const int yes_r[] = { -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH,
                        -ECONNRESET, -EIO };
  const int no_r[] = { -EINVAL, -E2BIG, -EPROTO, -ENOMEM };
  const long yes_s[] = { 408, 429, 500, 502, 503, 504 };
  const long no_s[] = { 200, 201, 204, 301, 400, 401, 403, 404, 409, 422,
                        501, 505 };

  for (size_t i = 0; i < sizeof yes_r / sizeof yes_r[0]; i++)
    cr_assert (retry_http_retryable (yes_r[i], 0), "%d", yes_r[i]);
  for (size_t i = 0; i < sizeof no_r / sizeof no_r[0]; i++)
    cr_assert_not (retry_http_retryable (no_r[i], 503), "%d", no_r[i]);
  for (size_t i = 0; i < sizeof yes_s / sizeof yes_s[0]; i++)
    cr_assert (retry_http_retryable (0, yes_s[i]), "%ld", yes_s[i]);
  for (size_t i = 0; i < sizeof no_s / sizeof no_s[0]; i++)
    cr_assert_not (retry_http_retryable (0, no_s[i]), "%ld", no_s[i]);
}
