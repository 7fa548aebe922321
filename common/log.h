/* Logging for the two programs' top levels.  Library code does not call
 * this: it returns errors, and main() or the phase runner logs them once.
 *
 * On a TTY the output is human-readable text; otherwise each record is
 * one JSON object on a line of stderr: {"time","level","phase","msg",...}.
 */
#ifndef V2V_COMMON_LOG_H
#define V2V_COMMON_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Format chosen from isatty(stderr) unless forced; V2V_LOG_FORMAT=json|text
 * overrides.  LEVEL below which records are dropped.
 */
extern void log_init (enum log_level level);
extern void log_set_json (bool json);
extern bool log_is_json (void);
/* The phase name is added to every record until changed.  Not copied. */
extern void log_set_phase (const char *phase);

extern void log_msg (enum log_level level, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

#define log_debug(...) log_msg (LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg (LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg (LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg (LOG_ERROR, __VA_ARGS__)

/* An http_trace_fn (common/http.h) that logs each request at debug
 * level: "HTTP POST https://host/path: 200 in 0.012 s".
 */
extern void log_http_trace (const char *method, const char *url, long status,
                            double seconds);

/* Append S to OUT (size OUTLEN) as a JSON string body, escaped, always
 * NUL-terminated and truncated if needed.  Returns the length written.
 */
extern size_t log_json_escape (char *out, size_t outlen, const char *s);

#endif /* V2V_COMMON_LOG_H */
