/* UTF-8 checks and copies: see utf8.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

size_t
utf8_char_len (const unsigned char *p, size_t avail)
{
  uint32_t c;
  size_t n;

  if (avail == 0)
    return 0;
  if (p[0] < 0x80)
    return 1;
  if (p[0] >= 0xc2 && p[0] <= 0xdf) { n = 2; c = p[0] & 0x1f; }
  else if (p[0] >= 0xe0 && p[0] <= 0xef) { n = 3; c = p[0] & 0x0f; }
  else if (p[0] >= 0xf0 && p[0] <= 0xf4) { n = 4; c = p[0] & 0x07; }
  else
    return 0;
  if (avail < n)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (p[i] & 0x3f);
  }
  if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
      (n == 4 && (c < 0x10000 || c > 0x10ffff)))
    return 0;
  return n;
}

char *
utf8_copy_valid (const char *s, size_t max)
{
  size_t len, i = 0, o = 0;
  char *r;

  if (s == NULL)
    return NULL;
  len = strlen (s);
  r = malloc ((len < max ? len : max) + 1);
  if (r == NULL)
    return NULL;
  while (i < len) {
    size_t n = utf8_char_len ((const unsigned char *) s + i, len - i);
    size_t w = n ? n : 1;

    if (o + w > max)
      break;
    if (n)
      memcpy (r + o, s + i, n);
    else
      r[o] = '?';
    o += w;
    i += w;
  }
  r[o] = '\0';
  return r;
}

size_t
utf8_prefix_len (const char *s, size_t max)
{
  size_t i = 0, len = strlen (s);

  while (i < len) {
    size_t n = utf8_char_len ((const unsigned char *) s + i, len - i);
    if (n == 0)
      n = 1;
    if (i + n > max)
      break;
    i += n;
  }
  return i;
}

