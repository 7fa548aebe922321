#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fileio.h"

int
read_file_bounded (const char *path, size_t max, char **ret_data,
                   size_t *ret_len, struct v2v_error *err)
{
  CLEANUP_CLOSE int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct buf b;
  char chunk[8192], *data;
  size_t len;
  ssize_t n;
  int r;

  if (fd == -1)
    return v2v_error_errno (err, -errno, "open %s", path);
  buf_init (&b, max);
  for (;;) {
    n = read (fd, chunk, sizeof chunk);
    if (n == -1 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if ((r = buf_append (&b, chunk, (size_t) n)) < 0) {
      buf_free (&b);
      if (r == -E2BIG)
        return v2v_error_set (err, -E2BIG, "%s: larger than %zu bytes",
                              path, max);
      return v2v_error_errno (err, r, "read %s", path);
    }
  }
  if (n == -1) {
    r = -errno;
    buf_free (&b);
    return v2v_error_errno (err, r, "read %s", path);
  }
  len = b.len;
  /* For an empty file buf_steal allocates "", which can fail. */
  if ((data = buf_steal (&b)) == NULL)
    return v2v_error_errno (err, -ENOMEM, "read %s", path);
  *ret_data = data;
  if (ret_len)
    *ret_len = len;
  return 0;
}
