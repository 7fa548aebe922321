#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

void
v2v_error_format (struct v2v_error *err, int code, bool with_errno,
                  const char *fmt, ...)
{
  va_list ap;

  if (err == NULL)
    return;

  err->code = code;
  va_start (ap, fmt);
  vsnprintf (err->msg, sizeof err->msg, fmt, ap);
  va_end (ap);
  if (with_errno) {
    size_t len = strlen (err->msg);
    snprintf (err->msg + len, sizeof err->msg - len, ": %s", strerror (-code));
  }
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
