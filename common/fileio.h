/* Whole-file reads with a cap, for files whose size we do not control
 * (kubeconfig, tokens, CA bundles, journals): the contents are read
 * through a struct buf (buf.h), so a file that grows past MAX is refused
 * instead of exhausting memory, whatever fstat said.
 */
#ifndef V2V_COMMON_FILEIO_H
#define V2V_COMMON_FILEIO_H

#include <stddef.h>

#include "error.h"

/* Read PATH (following symlinks: Secret volumes are links) whole.  On
 * success *RET_DATA is NUL-terminated (it may hold other NULs), the
 * caller frees it, and *RET_LEN (RET_LEN may be NULL) is its length.
 * Returns 0, or with ERR set:
 *   -E2BIG  "PATH: larger than MAX bytes"
 *   -errno  "open PATH: <strerror>" or "read PATH: <strerror>"
 */
extern int read_file_bounded (const char *path, size_t max, char **ret_data,
                              size_t *ret_len, struct v2v_error *err);

#endif /* V2V_COMMON_FILEIO_H */
