/* One error convention: functions return 0 or -errno (or a module enum),
 * and fill a caller-provided struct v2v_error with a message that names
 * the operation, like libnbd's "nbd_pread: ..." prefix.  Library code
 * never logs; the top level logs the error once.
 */
#ifndef V2V_COMMON_ERROR_H
#define V2V_COMMON_ERROR_H

#include <stddef.h>

#define V2V_ERROR_MAX 1024

struct v2v_error {
  int code;                     /* negative errno, or a module code */
  char msg[V2V_ERROR_MAX];
};

/* Set ERR (which may be NULL) and return CODE, so callers can write
 * "return v2v_error_set (err, -ENOENT, "open %s", path);".
 */
extern int v2v_error_set (struct v2v_error *err, int code,
                          const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

/* As v2v_error_set, appending ": strerror(-code)". */
extern int v2v_error_errno (struct v2v_error *err, int code,
                            const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

/* Prepend "PREFIX: " to an error already set, to add context on the way up. */
extern void v2v_error_prefix (struct v2v_error *err, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

extern void v2v_error_clear (struct v2v_error *err);

#endif /* V2V_COMMON_ERROR_H */
