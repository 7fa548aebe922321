#include <errno.h>
#include <time.h>

#include "timeutil.h"

int64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

struct timespec
timespec_after_ms (clockid_t clock, int64_t ms)
{
  struct timespec ts;

  clock_gettime (clock, &ts);
  if (ms < 0)
    ms = 0;
  ts.tv_sec += (time_t) (ms / 1000);
  ts.tv_nsec += (long) (ms % 1000) * 1000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  return ts;
}

double
timespec_diff_s (const struct timespec *a, const struct timespec *b)
{
  return (double) (a->tv_sec - b->tv_sec) +
    (double) (a->tv_nsec - b->tv_nsec) / 1e9;
}

int
time_format_rfc3339 (time_t t, char *out, size_t outlen)
{
  struct tm tm;

  if (outlen > 0)
    out[0] = '\0';
  if (gmtime_r (&t, &tm) == NULL ||
      strftime (out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    if (outlen > 0)
      out[0] = '\0';
    return -EINVAL;
  }
  return 0;
}
