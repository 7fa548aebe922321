#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <criterion/criterion.h>

#include "backoff.h"

/* A clock that only moves when something sleeps on it. */
struct fake {
  int64_t now;
  int64_t slept[64];
  size_t nslept;
  uint64_t random;
};

static int64_t
fake_now (void *opaque)
{
  return ((struct fake *) opaque)->now;
}

static void
fake_sleep (void *opaque, int64_t ms)
{
  struct fake *f = opaque;

  if (f->nslept < sizeof f->slept / sizeof f->slept[0])
    f->slept[f->nslept++] = ms;
  f->now += ms;
}

static uint64_t
fake_random (void *opaque)
{
  return ((struct fake *) opaque)->random;
}

static struct fake f;
static const struct backoff_clock fake_clock = {
  .now_ms = fake_now, .sleep_ms = fake_sleep, .random = fake_random,
  .opaque = &f,
};

/* Blockdev readiness: 0.5 s doubling to a 30 s cap, 5 min deadline. */
static void
init_readiness (struct backoff *b, enum backoff_jitter jitter)
{
  backoff_init (b, 500, 30000, 300000, jitter, &fake_clock);
}

Test (backoff, sequence_doubles_to_cap)
{
  const int64_t want[] = {
    500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
  };
  struct backoff b;
  int64_t d;

  init_readiness (&b, BACKOFF_JITTER_NONE);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    cr_assert_eq (backoff_next (&b, &d), 0);
    cr_assert_eq (d, want[i], "delay %zu: %" PRId64 " != %" PRId64,
                  i, d, want[i]);
  }
  cr_assert_eq (b.attempts, 9);
}

Test (backoff, next_does_not_sleep)
{
  struct backoff b;
  int64_t d;

  init_readiness (&b, BACKOFF_JITTER_NONE);
  backoff_next (&b, &d);
  cr_assert_eq (f.nslept, 0);
  cr_assert_eq (f.now, 0);
}

Test (backoff, wait_sleeps_the_delay)
{
  struct backoff b;

  init_readiness (&b, BACKOFF_JITTER_NONE);
  cr_assert_eq (backoff_wait (&b), 0);
  cr_assert_eq (backoff_wait (&b), 0);
  cr_assert_eq (f.nslept, 2);
  cr_assert_eq (f.slept[0], 500);
  cr_assert_eq (f.slept[1], 1000);
  cr_assert_eq (backoff_elapsed_ms (&b), 1500);
}

Test (backoff, deadline_is_etimedout)
{
  struct backoff b;
  int64_t sum = 0;
  int r;

  init_readiness (&b, BACKOFF_JITTER_NONE);
  while ((r = backoff_wait (&b)) == 0)
    cr_assert_lt (f.nslept, 64, "never timed out");
  cr_assert_eq (r, -ETIMEDOUT);
  for (size_t i = 0; i < f.nslept; i++)
    sum += f.slept[i];
  cr_assert_eq (sum, 300000);
  cr_assert_eq (f.now, 300000);
}

/* 0.5+1+2+4+8+16 s and eight 30 s waits make 271.5 s; the ninth wait is
 * cut to the 28.5 s left so the last attempt happens at the deadline.
 */
Test (backoff, last_delay_is_cut_to_the_deadline)
{
  struct backoff b;

  init_readiness (&b, BACKOFF_JITTER_NONE);
  while (backoff_wait (&b) == 0)
    ;
  cr_assert_eq (f.nslept, 15);
  cr_assert_eq (f.slept[13], 30000);
  cr_assert_eq (f.slept[14], 28500);
}

Test (backoff, time_spent_trying_counts_against_deadline)
{
  struct backoff b;
  int64_t d = -1;

  init_readiness (&b, BACKOFF_JITTER_NONE);
  f.now += 300000;              /* one very slow attempt */
  cr_assert_eq (backoff_next (&b, &d), -ETIMEDOUT);
  cr_assert_eq (d, -1);
  cr_assert_eq (b.attempts, 0);
}

Test (backoff, no_deadline_never_times_out)
{
  struct backoff b;

  backoff_init (&b, 500, 30000, 0, BACKOFF_JITTER_NONE, &fake_clock);
  for (int i = 0; i < 1000; i++)
    cr_assert_eq (backoff_wait (&b), 0);
  cr_assert_eq (backoff_elapsed_ms (&b), 500 + 1000 + 2000 + 4000 + 8000 +
                16000 + (int64_t) 994 * 30000);
}

Test (backoff, retry_after_raises_next_delay_only)
{
  struct backoff b;
  int64_t d;

  init_readiness (&b, BACKOFF_JITTER_NONE);
  backoff_set_minimum (&b, 5000);
  cr_assert_eq (backoff_next (&b, &d), 0);
  cr_assert_eq (d, 5000);
  cr_assert_eq (backoff_next (&b, &d), 0);
  cr_assert_eq (d, 1000);
}

Test (backoff, retry_after_may_exceed_cap)
{
  struct backoff b;
  int64_t d;

  init_readiness (&b, BACKOFF_JITTER_NONE);
  backoff_set_minimum (&b, 45000);
  cr_assert_eq (backoff_next (&b, &d), 0);
  cr_assert_eq (d, 45000);
}

Test (backoff, retry_after_below_delay_is_ignored)
{
  struct backoff b;
  int64_t d;

  init_readiness (&b, BACKOFF_JITTER_NONE);
  backoff_set_minimum (&b, 100);
  cr_assert_eq (backoff_next (&b, &d), 0);
  cr_assert_eq (d, 500);
}

Test (backoff, retry_after_larger_of_two_wins)
{
  struct backoff b;
  int64_t d;

  init_readiness (&b, BACKOFF_JITTER_NONE);
  backoff_set_minimum (&b, 7000);
  backoff_set_minimum (&b, 3000);
  cr_assert_eq (backoff_next (&b, &d), 0);
  cr_assert_eq (d, 7000);
}

Test (backoff, retry_after_past_deadline_is_etimedout)
{
  struct backoff b;
  int64_t d = -1;

  init_readiness (&b, BACKOFF_JITTER_NONE);
  f.now = 290000;
  backoff_set_minimum (&b, 20000);
  cr_assert_eq (backoff_next (&b, &d), -ETIMEDOUT);
  cr_assert_eq (d, -1);
}

Test (backoff, retry_after_is_not_jittered_below)
{
  struct backoff b;
  int64_t d;

  init_readiness (&b, BACKOFF_JITTER_FULL);
  f.random = 0;
  backoff_set_minimum (&b, 2000);
  cr_assert_eq (backoff_next (&b, &d), 0);
  cr_assert_eq (d, 2000);
}

Test (backoff, full_jitter_lower_bound_is_zero)
{
  struct backoff b;
  int64_t d;

  init_readiness (&b, BACKOFF_JITTER_FULL);
  f.random = 0;
  cr_assert_eq (backoff_next (&b, &d), 0);
  cr_assert_eq (d, 0);
}

Test (backoff, full_jitter_upper_bound_is_delay)
{
  struct backoff b;
  int64_t d;

  init_readiness (&b, BACKOFF_JITTER_FULL);
  f.random = 500;               /* 500 % 501 */
  cr_assert_eq (backoff_next (&b, &d), 0);
  cr_assert_eq (d, 500);
  f.random = 1001 + 1000;       /* 2001 % 1001 */
  cr_assert_eq (backoff_next (&b, &d), 0);
  cr_assert_eq (d, 1000);
}

Test (backoff, full_jitter_still_doubles)
{
  struct backoff b;
  int64_t d;

  init_readiness (&b, BACKOFF_JITTER_FULL);
  f.random = UINT64_MAX;
  for (int i = 0; i < 20; i++) {
    cr_assert_eq (backoff_next (&b, &d), 0);
    cr_assert_geq (d, 0);
    cr_assert_leq (d, i < 6 ? 500 << i : 30000);
  }
}

Test (backoff, equal_jitter_bounds)
{
  struct backoff b;
  int64_t d;

  init_readiness (&b, BACKOFF_JITTER_EQUAL);
  f.random = 0;
  cr_assert_eq (backoff_next (&b, &d), 0);
  cr_assert_eq (d, 250);
  f.random = 500;               /* 500 + 500 % 501 */
  cr_assert_eq (backoff_next (&b, &d), 0);
  cr_assert_eq (d, 1000);
}

Test (backoff, init_clamps_bad_values)
{
  struct backoff b;
  int64_t d;

  backoff_init (&b, 0, -5, -1, BACKOFF_JITTER_NONE, &fake_clock);
  cr_assert_eq (b.cap_ms, 1);
  cr_assert_eq (b.initial_ms, 1);
  cr_assert_eq (b.deadline_ms, 0);
  cr_assert_eq (backoff_next (&b, &d), 0);
  cr_assert_eq (d, 1);

  backoff_init (&b, 60000, 30000, 0, BACKOFF_JITTER_NONE, &fake_clock);
  cr_assert_eq (backoff_next (&b, &d), 0);
  cr_assert_eq (d, 30000);
}

Test (backoff, huge_cap_does_not_overflow)
{
  struct backoff b;
  int64_t d = 0;

  backoff_init (&b, 1, INT64_MAX, 0, BACKOFF_JITTER_FULL, &fake_clock);
  f.random = UINT64_MAX;
  for (int i = 0; i < 100; i++) {
    cr_assert_eq (backoff_next (&b, &d), 0);
    cr_assert_geq (d, 0);
  }
}

Test (backoff, real_clock_sleeps)
{
  struct backoff b;
  struct timespec t0, t1;
  int64_t ms;

  backoff_init (&b, 20, 20, 10000, BACKOFF_JITTER_NONE, NULL);
  cr_assert_eq (b.clock, &backoff_real_clock);
  clock_gettime (CLOCK_MONOTONIC, &t0);
  cr_assert_eq (backoff_wait (&b), 0);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  cr_assert_geq (ms, 20);
  cr_assert_geq (backoff_elapsed_ms (&b), 20);
}

Test (backoff, real_random_stays_in_bounds)
{
  struct backoff b;
  int64_t d;
  bool varied = false, first = true;
  int64_t prev = 0;

  backoff_init (&b, 30000, 30000, 0, BACKOFF_JITTER_EQUAL, NULL);
  for (int i = 0; i < 200; i++) {
    cr_assert_eq (backoff_next (&b, &d), 0);
    cr_assert_geq (d, 15000);
    cr_assert_leq (d, 30000);
    if (!first && d != prev)
      varied = true;
    prev = d;
    first = false;
  }
  cr_assert (varied, "200 jittered delays were all %" PRId64, prev);
}
