/* UTF-8 as strict JSON and XML readers want it (RFC 3629): guest files
 * and error messages can hold any bytes, and json-c writes them through
 * as they are.
 */
#ifndef V2V_COMMON_UTF8_H
#define V2V_COMMON_UTF8_H

#include <stddef.h>

/* The length of the valid UTF-8 character at P (no overlong forms, no
 * surrogates, nothing past U+10FFFF), looking at most AVAIL bytes; 0 if
 * P does not start one.
 */
extern size_t utf8_char_len (const unsigned char *p, size_t avail);

/* A copy of at most MAX bytes of S as valid UTF-8: invalid bytes become
 * '?', and the cut never splits a character.  The caller frees it.
 * NULL stays NULL; returns NULL on out of memory too.
 */
extern char *utf8_copy_valid (const char *s, size_t max);

/* The length of the longest prefix of S that is at most MAX bytes and
 * does not split a character (an invalid byte counts as one).
 */
extern size_t utf8_prefix_len (const char *s, size_t max);

#endif /* V2V_COMMON_UTF8_H */
