#include <errno.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>

#include "backoff.h"
#include "timeutil.h"

static int64_t
real_now_ms (void *opaque)
{
  (void) opaque;
  return now_ms ();
}

static void
real_sleep_ms (void *opaque, int64_t ms)
{
  struct timespec until;

  (void) opaque;
  if (ms <= 0)
    return;
  /* An absolute wake-up time makes resuming after a signal exact. */
  until = timespec_after_ms (CLOCK_MONOTONIC, ms);
  while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL)
         == EINTR)
    ;
}

static uint64_t
real_random (void *opaque)
{
  uint64_t r;
  struct timespec ts;

  (void) opaque;
  if (getrandom (&r, sizeof r, GRND_NONBLOCK) == (ssize_t) sizeof r)
    return r;
  /* Jitter only has to differ between processes, not be secret. */
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ((uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec)
    * UINT64_C (0x9e3779b97f4a7c15);
}

const struct backoff_clock backoff_real_clock = {
  .now_ms = real_now_ms,
  .sleep_ms = real_sleep_ms,
  .random = real_random,
};

void
backoff_init (struct backoff *b, int64_t initial_ms, int64_t cap_ms,
              int64_t deadline_ms, enum backoff_jitter jitter,
              const struct backoff_clock *clock)
{
  if (cap_ms < 1)
    cap_ms = 1;
  if (initial_ms < 1)
    initial_ms = 1;
  if (initial_ms > cap_ms)
    initial_ms = cap_ms;
  if (deadline_ms < 0)
    deadline_ms = 0;

  b->initial_ms = initial_ms;
  b->cap_ms = cap_ms;
  b->deadline_ms = deadline_ms;
  b->jitter = jitter;
  b->clock = clock ? clock : &backoff_real_clock;
  b->attempts = 0;
  b->start_ms = b->clock->now_ms (b->clock->opaque);
  b->next_ms = initial_ms;
  b->min_ms = 0;
}

void
backoff_set_minimum (struct backoff *b, int64_t min_ms)
{
  if (min_ms > b->min_ms)
    b->min_ms = min_ms;
}

int64_t
backoff_elapsed_ms (const struct backoff *b)
{
  return b->clock->now_ms (b->clock->opaque) - b->start_ms;
}

/* A delay uniform in [LO, HI], 0 <= LO <= HI. */
static int64_t
backoff_uniform (const struct backoff *b, int64_t lo, int64_t hi)
{
  uint64_t span = (uint64_t) (hi - lo) + 1;
  uint64_t r = b->clock->random (b->clock->opaque);

  /* span is 0 only if it wrapped, i.e. the whole 64-bit range. */
  return lo + (int64_t) (span ? r % span : r);
}

int
backoff_next (struct backoff *b, int64_t *ret_delay_ms)
{
  int64_t d = b->next_ms, delay;

  switch (b->jitter) {
  case BACKOFF_JITTER_FULL:
    delay = backoff_uniform (b, 0, d);
    break;
  case BACKOFF_JITTER_EQUAL:
    delay = backoff_uniform (b, d / 2, d);
    break;
  case BACKOFF_JITTER_NONE:
  default:
    delay = d;
  }
  if (delay < b->min_ms)
    delay = b->min_ms;

  if (b->deadline_ms > 0) {
    int64_t remaining = b->deadline_ms - backoff_elapsed_ms (b);

    /* Waiting the server's minimum would take us past the deadline, and
     * retrying earlier is pointless.
     */
    if (remaining <= 0 || b->min_ms > remaining)
      return -ETIMEDOUT;
    if (delay > remaining)
      delay = remaining;
  }

  b->next_ms = d > b->cap_ms / 2 ? b->cap_ms : d * 2;
  b->min_ms = 0;
  b->attempts++;
  *ret_delay_ms = delay;
  return 0;
}

int
backoff_wait (struct backoff *b)
{
  int64_t delay;
  int r;

  r = backoff_next (b, &delay);
  if (r < 0)
    return r;
  b->clock->sleep_ms (b->clock->opaque, delay);
  return 0;
}
