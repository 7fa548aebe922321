#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static int
error_vset (struct v2v_error *err, int code, int with_errno,
            const char *fmt, va_list ap)
  __attribute__ ((format (printf, 4, 0)));

static int
error_vset (struct v2v_error *err, int code, int with_errno,
            const char *fmt, va_list ap)
{
  if (err == NULL)
    return code;

  err->code = code;
  vsnprintf (err->msg, sizeof err->msg, fmt, ap);
  if (with_errno && code < 0) {
    size_t len = strlen (err->msg);
    snprintf (err->msg + len, sizeof err->msg - len, ": %s", strerror (-code));
  }
  return code;
}

int
v2v_error_set (struct v2v_error *err, int code, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  error_vset (err, code, 0, fmt, ap);
  va_end (ap);
  return code;
}

int
v2v_error_errno (struct v2v_error *err, int code, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  error_vset (err, code, 1, fmt, ap);
  va_end (ap);
  return code;
}

void
v2v_error_prefix (struct v2v_error *err, const char *fmt, ...)
{
  char prefix[256];
  size_t plen, mlen;
  va_list ap;

  if (err == NULL)
    return;
  va_start (ap, fmt);
  vsnprintf (prefix, sizeof prefix - 2, fmt, ap);
  va_end (ap);
  strcat (prefix, ": ");
  plen = strlen (prefix);
  mlen = strnlen (err->msg, sizeof err->msg - 1);
  /* Keep the prefix whole; the old message is truncated if need be. */
  if (plen + mlen > sizeof err->msg - 1)
    mlen = sizeof err->msg - 1 - plen;
  memmove (err->msg + plen, err->msg, mlen);
  memcpy (err->msg, prefix, plen);
  err->msg[plen + mlen] = '\0';
}

void
v2v_error_clear (struct v2v_error *err)
{
  if (err) {
    err->code = 0;
    err->msg[0] = '\0';
  }
}
