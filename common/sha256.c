#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cleanup.h"
#include "sha256.h"

static void
to_hex (const unsigned char *md, unsigned len, char hex[SHA256_HEX_LEN])
{
  for (unsigned i = 0; i < len && i < 32; i++)
    snprintf (hex + 2 * i, 3, "%02x", md[i]);
  hex[64] = '\0';
}

void
sha256_hex_buffer (const void *data, size_t len, char hex[SHA256_HEX_LEN])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;

  EVP_Digest (data, len, md, &mdlen, EVP_sha256 (), NULL);
  to_hex (md, mdlen, hex);
}

int
sha256_hex_file (const char *path, char hex[SHA256_HEX_LEN])
{
  CLEANUP_CLOSE int fd = open (path, O_RDONLY | O_CLOEXEC);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  char buf[1 << 16];
  ssize_t n;
  int r = 0;

  if (fd < 0)
    return -errno;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  if (ctx == NULL)
    return -ENOMEM;
  EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL);
  while ((n = read (fd, buf, sizeof buf)) > 0)
    EVP_DigestUpdate (ctx, buf, (size_t) n);
  if (n < 0)
    r = -errno;
  else {
    EVP_DigestFinal_ex (ctx, md, &mdlen);
    to_hex (md, mdlen, hex);
  }
  EVP_MD_CTX_free (ctx);
  return r;
}
