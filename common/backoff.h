/* The one place retries live: exponential backoff from an initial delay,
 * doubling up to a cap, with optional jitter, a total deadline and a
 * server-supplied minimum (HTTP Retry-After).  Like nbdkit's retry
 * filter, callers log the error they are retrying before waiting.
 *
 *   struct backoff b;
 *
 *   backoff_init (&b, 500, 30000, 300000, BACKOFF_JITTER_NONE, NULL);
 *   while ((r = try_once (err)) == -EAGAIN) {
 *     log_warn ("%s (retrying)", err->msg);
 *     if (backoff_wait (&b) == -ETIMEDOUT)
 *       break;
 *   }
 *
 * The clock, sleep and random number source are function pointers so
 * that unit tests can run without waiting.
 */
#ifndef V2V_COMMON_BACKOFF_H
#define V2V_COMMON_BACKOFF_H

#include <stdint.h>

enum backoff_jitter {
  BACKOFF_JITTER_NONE,          /* delay = d */
  BACKOFF_JITTER_FULL,          /* delay uniform in [0, d] */
  BACKOFF_JITTER_EQUAL,         /* delay uniform in [d/2, d] */
};

struct backoff_clock {
  int64_t (*now_ms) (void *opaque);     /* monotonic milliseconds */
  void (*sleep_ms) (void *opaque, int64_t ms);
  uint64_t (*random) (void *opaque);    /* uniform over all 64 bits */
  void *opaque;
};

/* CLOCK_MONOTONIC, nanosleep (resumed after signals) and getrandom. */
extern const struct backoff_clock backoff_real_clock;

struct backoff {
  int64_t initial_ms;           /* first delay */
  int64_t cap_ms;               /* no delay (before Retry-After) beyond this */
  int64_t deadline_ms;          /* total time from backoff_init; 0: none */
  enum backoff_jitter jitter;
  const struct backoff_clock *clock;

  /* Read-only for callers: the number of delays handed out. */
  unsigned attempts;

  /* Private. */
  int64_t start_ms;
  int64_t next_ms;              /* the next delay before jitter */
  int64_t min_ms;               /* Retry-After for the next delay, or 0 */
};

/* Start the clock.  CLOCK may be NULL for backoff_real_clock; it is not
 * copied.  CAP_MS is at least 1 ms and INITIAL_MS is clamped to [1, CAP_MS],
 * so that a mistake cannot turn into a busy loop.
 */
extern void backoff_init (struct backoff *b, int64_t initial_ms,
                          int64_t cap_ms, int64_t deadline_ms,
                          enum backoff_jitter jitter,
                          const struct backoff_clock *clock);

/* The next delay must be at least MIN_MS (a server's Retry-After), even
 * past the cap.  Applies to the next delay only; the larger of two calls
 * wins.
 */
extern void backoff_set_minimum (struct backoff *b, int64_t min_ms);

/* Compute the next delay without sleeping.  The last delay is shortened
 * so that the final attempt happens at the deadline, never after it.
 * Returns 0 and sets *RET_DELAY_MS, or -ETIMEDOUT if the deadline has
 * been reached or a Retry-After minimum would pass it.
 */
extern int backoff_next (struct backoff *b, int64_t *ret_delay_ms);

/* backoff_next, then sleep for the delay.  Returns 0 or -ETIMEDOUT. */
extern int backoff_wait (struct backoff *b);

/* Milliseconds since backoff_init, for "gave up after N s" messages. */
extern int64_t backoff_elapsed_ms (const struct backoff *b);

#endif /* V2V_COMMON_BACKOFF_H */
