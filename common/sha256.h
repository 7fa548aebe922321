#ifndef V2V_COMMON_SHA256_H
#define V2V_COMMON_SHA256_H

#include <stddef.h>

#define SHA256_HEX_LEN 65       /* 64 hex digits and a NUL */

/* Hex SHA-256 of LEN bytes at DATA into HEX. */
extern void sha256_hex_buffer (const void *data, size_t len,
                               char hex[SHA256_HEX_LEN]);
/* Hex SHA-256 of the whole file at PATH.  Returns 0 or -errno. */
extern int sha256_hex_file (const char *path, char hex[SHA256_HEX_LEN]);

#endif /* V2V_COMMON_SHA256_H */
