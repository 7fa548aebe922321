/* One error convention: functions return 0 or -errno (or a module enum),
 * and fill a caller-provided struct v2v_error with a message that names
 * the operation, like libnbd's "nbd_pread: ..." prefix.  Library code
 * never logs; the top level logs the error once.
 */
#ifndef V2V_COMMON_ERROR_H
#define V2V_COMMON_ERROR_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#define V2V_ERROR_MAX 1024

struct v2v_error {
  int code;                     /* negative errno, or a module code */
  char msg[V2V_ERROR_MAX];
};

/* Fill ERR (which may be NULL) with CODE and the message; with WITH_ERRNO,
 * ": strerror(-code)" is appended.  Use the two macros below.
 */
extern void v2v_error_format (struct v2v_error *err, int code,
                              bool with_errno, const char *fmt, ...)
  __attribute__ ((format (printf, 4, 5)));

/* Set ERR (which may be NULL) and evaluate to CODE, so callers can write
 * "return v2v_error_set (err, -ENOENT, "open %s", path);".
 *
 * Macros, like systemd's log_error_errno, so that the compiler and the
 * static analyzers see that the result is CODE: after a callee's
 * "if (r < 0) return r;" they know it failed, rather than suspecting
 * that it returned success without setting its outputs.
 */
#define v2v_error_set(err, code, ...)                                   \
  ({                                                                    \
    int v2v_error_code_ = (code);                                       \
    v2v_error_format ((err), v2v_error_code_, false, __VA_ARGS__);      \
    v2v_error_code_;                                                    \
  })

/* As v2v_error_set, for CODE a negative errno, appending
 * ": strerror(-code)".  A CODE that is not negative (errno left at 0 by
 * a call that failed without setting it) becomes -EIO, so that an error
 * is never returned as success.
 */
#define v2v_error_errno(err, code, ...)                                 \
  ({                                                                    \
    int v2v_error_code_ = (code);                                       \
    if (v2v_error_code_ >= 0)                                           \
      v2v_error_code_ = -EIO;                                           \
    v2v_error_format ((err), v2v_error_code_, true, __VA_ARGS__);       \
    v2v_error_code_;                                                    \
  })

/* Prepend "PREFIX: " to an error already set, to add context on the way up. */
extern void v2v_error_prefix (struct v2v_error *err, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

extern void v2v_error_clear (struct v2v_error *err);

#endif /* V2V_COMMON_ERROR_H */
