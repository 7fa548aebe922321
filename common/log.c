#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "string-table.h"

static enum log_level min_level = LOG_INFO;
static int json_mode = -1;      /* -1: decide from isatty on first use */
static const char *cur_phase;

static const char *const log_level_table[] = {
  [LOG_DEBUG] = "debug", [LOG_INFO] = "info",
  [LOG_WARN] = "warning", [LOG_ERROR] = "error",
};
DEFINE_PRIVATE_STRING_TABLE_LOOKUP (log_level, enum log_level, "unknown")

void
log_init (enum log_level level)
{
  const char *fmt = getenv ("V2V_LOG_FORMAT");

  min_level = level;
  if (fmt && strcmp (fmt, "json") == 0)
    json_mode = 1;
  else if (fmt && strcmp (fmt, "text") == 0)
    json_mode = 0;
  else
    json_mode = !isatty (STDERR_FILENO);
}

void
log_set_json (bool json)
{
  json_mode = json;
}

bool
log_is_json (void)
{
  if (json_mode == -1)
    log_init (min_level);
  return json_mode;
}

void
log_set_phase (const char *phase)
{
  cur_phase = phase;
}

size_t
log_json_escape (char *out, size_t outlen, const char *s)
{
  size_t n = 0;

  if (outlen == 0)
    return 0;
  for (; *s; s++) {
    unsigned char c = *s;
    char tmp[8];
    const char *rep = tmp;

    switch (c) {
    case '"':  rep = "\\\""; break;
    case '\\': rep = "\\\\"; break;
    case '\n': rep = "\\n"; break;
    case '\r': rep = "\\r"; break;
    case '\t': rep = "\\t"; break;
    default:
      if (c < 0x20)
        snprintf (tmp, sizeof tmp, "\\u%04x", c);
      else {
        tmp[0] = c;
        tmp[1] = '\0';
      }
    }
    size_t len = strlen (rep);
    if (n + len >= outlen)
      break;
    memcpy (out + n, rep, len);
    n += len;
  }
  out[n] = '\0';
  return n;
}

void
log_msg (enum log_level level, const char *fmt, ...)
{
  char msg[4096], esc[8192], ts[64];
  struct timespec now;
  struct tm tm;
  va_list ap;

  if (level < min_level)
    return;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);

  if (!log_is_json ()) {
    if (level >= LOG_WARN)
      fprintf (stderr, "v2v: %s: %s\n", log_level_to_string (level), msg);
    else
      fprintf (stderr, "v2v: %s\n", msg);
    return;
  }

  clock_gettime (CLOCK_REALTIME, &now);
  gmtime_r (&now.tv_sec, &tm);
  snprintf (ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
            tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
  log_json_escape (esc, sizeof esc, msg);
  fprintf (stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"phase\":\"%s\","
           "\"msg\":\"%s\"}\n",
           ts, log_level_to_string (level), cur_phase ? cur_phase : "", esc);
}

void
log_http_trace (const char *method, const char *url, long status,
                double seconds)
{
  if (status)
    log_debug ("HTTP %s %s: %ld in %.3f s", method, url, status, seconds);
  else
    log_debug ("HTTP %s %s: no response after %.3f s", method, url, seconds);
}
