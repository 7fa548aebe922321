/* Time helpers: the monotonic clock for durations and deadlines (it
 * never jumps with the wall clock), absolute wake-up times for
 * pthread_cond_timedwait and clock_nanosleep, and RFC 3339 timestamps
 * for what people and the API server read.
 */
#ifndef V2V_COMMON_TIMEUTIL_H
#define V2V_COMMON_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds, and in seconds. */
extern int64_t now_ms (void);
extern double now_s (void);

/* The time on CLOCK (CLOCK_MONOTONIC or CLOCK_REALTIME) MS milliseconds
 * from now, normalised (tv_nsec below 10^9).  A negative MS is 0.
 */
extern struct timespec timespec_after_ms (clockid_t clock, int64_t ms);

/* A - B in seconds. */
extern double timespec_diff_s (const struct timespec *a,
                               const struct timespec *b);

/* T as "2026-12-03T10:13:09Z" (UTC, whole seconds) in OUT, which should
 * hold RFC3339_MAX bytes.  Returns 0, or -EINVAL if T cannot be shown
 * (OUT is then "").
 */
#define RFC3339_MAX 32
extern int time_format_rfc3339 (time_t t, char *out, size_t outlen);

#endif /* V2V_COMMON_TIMEUTIL_H */
