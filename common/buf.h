/* A growable byte buffer with a hard cap, for anything outside input can
 * grow (HTTP bodies, guest files).  Like curl's dynbuf "toobig".
 */
#ifndef V2V_COMMON_BUF_H
#define V2V_COMMON_BUF_H

#include <stddef.h>

struct buf {
  char *data;                   /* always NUL-terminated when non-NULL */
  size_t len;
  size_t cap;
  size_t max;                   /* appends past this fail with -E2BIG */
};

extern void buf_init (struct buf *b, size_t max);
/* Returns 0, -E2BIG past the cap (buffer unchanged), or -ENOMEM. */
extern int buf_append (struct buf *b, const void *data, size_t len);
extern int buf_printf (struct buf *b, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
/* Hand the data to the caller, who frees it; the buffer becomes empty. */
extern char *buf_steal (struct buf *b);
extern void buf_free (struct buf *b);

#endif /* V2V_COMMON_BUF_H */
