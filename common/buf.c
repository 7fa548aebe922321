#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_init (struct buf *b, size_t max)
{
  b->data = NULL;
  b->len = b->cap = 0;
  b->max = max;
}

int
buf_append (struct buf *b, const void *data, size_t len)
{
  size_t need;

  /* NEED + 1 (for the NUL) must not wrap either, even with MAX at
   * SIZE_MAX, where MAX + 1 would be 0.
   */
  if (__builtin_add_overflow (b->len, len, &need) || need > b->max ||
      need == SIZE_MAX)
    return -E2BIG;
  if (need + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need + 1)
      ncap = ncap > SIZE_MAX / 2 ? need + 1 : ncap * 2;
    if (ncap - 1 > b->max)
      ncap = b->max + 1;
    char *p = realloc (b->data, ncap);
    if (p == NULL)
      return -ENOMEM;
    b->data = p;
    b->cap = ncap;
  }
  memcpy (b->data + b->len, data, len);
  b->len = need;
  b->data[b->len] = '\0';
  return 0;
}

int
buf_printf (struct buf *b, const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&s, fmt, ap);
  va_end (ap);
  if (r < 0)
    return -ENOMEM;
  r = buf_append (b, s, (size_t) r);
  free (s);
  return r;
}

char *
buf_steal (struct buf *b)
{
  char *p = b->data;

  if (p == NULL)
    p = calloc (1, 1);
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}

void
buf_free (struct buf *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
