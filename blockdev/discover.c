/* Finding the disks and waiting until each one is ready. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "internal.h"

/* Disk indices above this are refused, so that a stray "block99999"
 * cannot make us wait for a hundred thousand missing disks.  KubeVirt
 * and EC2 both stop far below it.
 */
#define BLOCKDEV_MAX_INDEX 1023

#define DEFAULT_BLOCK_DIR "/dev"
#define DEFAULT_IMAGE_DIR "/mnt/disks"

bool
blockdev_internal_parse_index (const char *name, const char *prefix,
                               unsigned *ret_index)
{
  size_t plen = strlen (prefix);
  const char *p;
  unsigned long v = 0;

  if (strncmp (name, prefix, plen) != 0)
    return false;
  p = name + plen;
  if (!isdigit ((unsigned char) *p))
    return false;
  /* "block01" would alias "block1". */
  if (p[0] == '0' && p[1] != '\0')
    return false;
  for (; *p; p++) {
    if (!isdigit ((unsigned char) *p))
      return false;
    v = v * 10 + (unsigned long) (*p - '0');
    if (v > BLOCKDEV_MAX_INDEX)
      return false;
  }
  *ret_index = (unsigned) v;
  return true;
}

bool
blockdev_internal_is_nbd_uri (const char *path)
{
  static const char *const schemes[] = {
    "nbd://", "nbds://", "nbd+unix://", "nbds+unix://",
    "nbd+vsock://", "nbds+vsock://",
  };

  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
    if (strncmp (path, schemes[i], strlen (schemes[i])) == 0)
      return true;
  return false;
}

static int
list_add (struct blockdev_list *list, unsigned index, const char *path,
          struct v2v_error *err)
{
  struct blockdev_disk *disks, *d;
  char *copy = strdup (path);

  if (copy == NULL)
    return v2v_error_errno (err, -errno, "blockdev_discover: strdup");
  disks = reallocarray (list->disks, list->nr_disks + 1, sizeof *disks);
  if (disks == NULL) {
    free (copy);
    return v2v_error_errno (err, -errno, "blockdev_discover: realloc");
  }
  list->disks = disks;
  d = &disks[list->nr_disks++];
  memset (d, 0, sizeof *d);
  d->index = index;
  d->path = copy;
  d->is_nbd = blockdev_internal_is_nbd_uri (path);
  return 0;
}

/* Add DIR/PREFIXN for every entry called PREFIXN in DIR, or, if IMAGE,
 * DIR/PREFIXN/disk.img.  A directory that does not exist holds no disks
 * unless it was asked for (MUST_EXIST).
 */
static int
scan_dir (struct blockdev_list *list, const char *dir, const char *prefix,
          bool image, bool must_exist, struct v2v_error *err)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  int r = 0;

  if (d == NULL) {
    if (errno == ENOENT && !must_exist)
      return 0;
    return v2v_error_errno (err, -errno, "blockdev_discover: %s", dir);
  }
  while ((e = readdir (d)) != NULL) {
    CLEANUP_FREE char *path = NULL;
    unsigned index;

    if (!blockdev_internal_parse_index (e->d_name, prefix, &index))
      continue;
    path = blockdev_internal_asprintf (image ? "%s/%s/disk.img" : "%s/%s",
                                       dir, e->d_name);
    if (path == NULL) {
      r = v2v_error_errno (err, -ENOMEM, "blockdev_discover: asprintf");
      break;
    }
    r = list_add (list, index, path, err);
    if (r < 0)
      break;
  }
  closedir (d);
  return r;
}

static int
compare_index (const void *a, const void *b)
{
  const struct blockdev_disk *x = a, *y = b;

  return x->index < y->index ? -1 : x->index > y->index;
}

static void
sort_by_index (struct blockdev_list *list)
{
  /* qsort's base must not be NULL, even for no elements. */
  if (list->nr_disks > 1)
    qsort (list->disks, list->nr_disks, sizeof list->disks[0],
           compare_index);
}

/* Sort by index, refuse duplicates, and add the missing indices below
 * the highest one (or below EXPECTED) as BLOCK_DIR/blockN, to be waited
 * for: a pod's disks are numbered from 0 without gaps.
 */
static int
order_and_fill (struct blockdev_list *list, const char *block_dir,
                unsigned expected, struct v2v_error *err)
{
  unsigned want = expected;
  size_t nr_found = list->nr_disks;

  sort_by_index (list);
  for (size_t i = 1; i < list->nr_disks; i++)
    if (list->disks[i].index == list->disks[i - 1].index)
      return v2v_error_set (err, -EEXIST,
                            "blockdev_discover: disk %u is both %s and %s",
                            list->disks[i].index, list->disks[i - 1].path,
                            list->disks[i].path);
  if (nr_found > 0 && list->disks[nr_found - 1].index + 1 > want)
    want = list->disks[nr_found - 1].index + 1;
  if (want > BLOCKDEV_MAX_INDEX + 1)
    return v2v_error_set (err, -ERANGE,
                          "blockdev_discover: %u disks expected, "
                          "more than %d", want, BLOCKDEV_MAX_INDEX + 1);

  for (unsigned index = 0, i = 0; index < want; index++) {
    CLEANUP_FREE char *path = NULL;
    int r;

    if (i < nr_found && list->disks[i].index == index) {
      i++;
      continue;
    }
    path = blockdev_internal_asprintf ("%s/block%u", block_dir, index);
    if (path == NULL)
      return v2v_error_errno (err, -ENOMEM, "blockdev_discover: asprintf");
    r = list_add (list, index, path, err);
    if (r < 0)
      return r;
  }
  sort_by_index (list);
  return 0;
}

static const char *
file_type_name (mode_t mode)
{
  switch (mode & S_IFMT) {
  case S_IFDIR: return "directory";
  case S_IFCHR: return "character device";
  case S_IFIFO: return "FIFO";
  case S_IFSOCK: return "socket";
  case S_IFLNK: return "symbolic link";
  default: return "unknown file type";
  }
}

static bool
is_readonly_errno (int e)
{
  return e == EROFS || e == EACCES || e == EPERM;
}

/* One attempt at opening a local disk and reading its size.  Returns 0,
 * or -errno with a short message ("open: ...") in ERR.
 */
static int
check_local (struct blockdev_disk *d, bool need_write, struct v2v_error *err)
{
  CLEANUP_CLOSE int fd = -1;
  struct stat st;

  if (stat (d->path, &st) == -1)
    return v2v_error_errno (err, -errno, "stat");
  if (!S_ISBLK (st.st_mode) && !S_ISREG (st.st_mode))
    return v2v_error_set (err, -ENOTBLK,
                          "not a block device or regular file (%s)",
                          file_type_name (st.st_mode));
  fd = open (d->path, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return v2v_error_errno (err, -errno, "open");

  if (S_ISBLK (st.st_mode)) {
    uint64_t size;
    int logical, ro;
    unsigned physical;

    if (ioctl (fd, BLKGETSIZE64, &size) == -1)
      return v2v_error_errno (err, -errno, "ioctl BLKGETSIZE64");
    if (ioctl (fd, BLKSSZGET, &logical) == -1)
      return v2v_error_errno (err, -errno, "ioctl BLKSSZGET");
    if (ioctl (fd, BLKPBSZGET, &physical) == -1)
      return v2v_error_errno (err, -errno, "ioctl BLKPBSZGET");
    if (ioctl (fd, BLKROGET, &ro) == -1)
      return v2v_error_errno (err, -errno, "ioctl BLKROGET");
    d->size = size;
    d->logical_sector = (unsigned) logical;
    d->physical_sector = physical;
    d->readonly = ro != 0;
  }
  else {
    d->size = (uint64_t) st.st_size;
    d->logical_sector = d->physical_sector = 512;
    /* access() sees read-only mounts and immutable files, even for root. */
    d->readonly = access (d->path, W_OK) == -1 && is_readonly_errno (errno);
  }

  if (d->size == 0)
    return v2v_error_set (err, -EINVAL, "disk has zero size");

  /* The kernel may refuse a write open that BLKROGET did not predict
   * (a read-only mount, an immutable file, a write-protected device).
   */
  if (need_write && !d->readonly) {
    CLEANUP_CLOSE int wfd = open (d->path, O_RDWR | O_CLOEXEC);

    if (wfd == -1) {
      if (!is_readonly_errno (errno))
        return v2v_error_errno (err, -errno, "open for writing");
      d->readonly = true;
    }
  }
  return 0;
}

static int
check_nbd (struct blockdev_disk *d, struct v2v_error *err)
{
  CLEANUP_NBD struct nbd_handle *nbd = nbd_create ();
  int64_t size, minimum, preferred;
  int ro;

  if (nbd == NULL)
    return v2v_error_set (err, -ENOMEM, "%s", nbd_get_error ());
  if (nbd_connect_uri (nbd, d->path) == -1)
    return v2v_error_set (err, -(nbd_get_errno () ? : EIO),
                          "%s", nbd_get_error ());
  size = nbd_get_size (nbd);
  if (size == -1)
    return v2v_error_set (err, -(nbd_get_errno () ? : EIO),
                          "%s", nbd_get_error ());
  ro = nbd_is_read_only (nbd);
  if (ro == -1)
    return v2v_error_set (err, -(nbd_get_errno () ? : EIO),
                          "%s", nbd_get_error ());
  /* A server need not advertise block sizes; 0 means "not given". */
  minimum = nbd_get_block_size (nbd, LIBNBD_SIZE_MINIMUM);
  preferred = nbd_get_block_size (nbd, LIBNBD_SIZE_PREFERRED);

  d->size = (uint64_t) size;
  d->logical_sector = minimum > 0 ? (unsigned) minimum : 512;
  d->physical_sector = preferred > 0 && preferred <= 4096 &&
    preferred >= minimum ? (unsigned) preferred : d->logical_sector;
  d->readonly = ro != 0;
  nbd_shutdown (nbd, 0);

  if (d->size == 0)
    return v2v_error_set (err, -EINVAL, "disk has zero size");
  return 0;
}

/* The errors of a disk that may still be on its way: a device node or
 * socket not created yet, an attachment not finished (ENXIO), a volume
 * whose first reads fail (EIO), a server not listening yet.
 */
static bool
is_not_ready (int r)
{
  return r == -ENOENT || r == -ENXIO || r == -EIO || r == -ENOMEDIUM ||
    r == -ECONNREFUSED || r == -EAGAIN;
}

static void
format_duration (char *buf, size_t len, int64_t ms)
{
  if (ms % 1000 == 0)
    snprintf (buf, len, "%" PRId64 " s", ms / 1000);
  else
    snprintf (buf, len, "%.1f s", (double) ms / 1000);
}

/* Check D until it is ready, retrying with backoff until START_MS +
 * DEADLINE_MS on the options' clock.
 */
static int
wait_ready (struct blockdev_disk *d, const struct blockdev_options *opts,
            const struct backoff_clock *clock, int64_t start_ms,
            int64_t deadline_ms, struct v2v_error *err)
{
  struct backoff b;
  struct v2v_error attempt = { 0 };
  int64_t left = deadline_ms - (clock->now_ms (clock->opaque) - start_ms);
  int r;

  /* Even with no time left, each disk gets one attempt. */
  backoff_init (&b, BLOCKDEV_BACKOFF_INITIAL_MS, BLOCKDEV_BACKOFF_MAX_MS,
                left > 0 ? left : 1, BACKOFF_JITTER_NONE, clock);
  for (;;) {
    char limit[32];

    r = d->is_nbd ? check_nbd (d, &attempt)
                  : check_local (d, opts->need_write, &attempt);
    if (r == 0)
      break;
    if (!is_not_ready (r))
      return v2v_error_set (err, r, "blockdev_discover: %s: %s",
                            d->path, attempt.msg);
    if (opts->on_retry) {
      char msg[V2V_ERROR_MAX + 64];

      snprintf (msg, sizeof msg, "%s: %s (retrying)", d->path, attempt.msg);
      opts->on_retry (opts->on_retry_opaque, msg);
    }
    if (backoff_wait (&b) == -ETIMEDOUT) {
      format_duration (limit, sizeof limit, deadline_ms);
      return v2v_error_set (err, -ETIMEDOUT,
                            "blockdev_discover: %s: %s within %s (%s)",
                            d->path,
                            r == -ENOENT ? "did not appear" : "not ready",
                            limit, attempt.msg);
    }
  }

  if (opts->need_write && d->readonly)
    return v2v_error_set (err, -EROFS,
                          "blockdev_discover: %s: the disk is read-only, "
                          "but the conversion needs to write to it",
                          d->path);
  return 0;
}

static int
find_disks (const struct blockdev_options *opts, struct blockdev_list *list,
            struct v2v_error *err)
{
  const char *dir = opts->device_dir;
  const char *block_dir, *image_dir;
  int r;

  if (opts->explicit_disks && opts->explicit_disks[0]) {
    for (unsigned i = 0; opts->explicit_disks[i]; i++) {
      r = list_add (list, i, opts->explicit_disks[i], err);
      if (r < 0)
        return r;
    }
    return 0;
  }

  if (dir == NULL || *dir == '\0') {
    dir = getenv ("V2V_DEVICE_DIR");
    if (dir != NULL && *dir == '\0')
      dir = NULL;
  }
  block_dir = dir ? dir : DEFAULT_BLOCK_DIR;
  image_dir = dir ? dir : DEFAULT_IMAGE_DIR;

  r = scan_dir (list, block_dir, "block", false, dir != NULL, err);
  if (r < 0)
    return r;
  r = scan_dir (list, image_dir, "disk", true, false, err);
  if (r < 0)
    return r;
  if (list->nr_disks == 0 && opts->expected_disks == 0) {
    if (dir)
      return v2v_error_set (err, -ENOENT,
                            "blockdev_discover: no disks in %s "
                            "(no block[0-9]* and no disk[0-9]*/disk.img)",
                            dir);
    return v2v_error_set (err, -ENOENT,
                          "blockdev_discover: no disks "
                          "(no " DEFAULT_BLOCK_DIR "/block[0-9]* and no "
                          DEFAULT_IMAGE_DIR "/disk[0-9]*/disk.img)");
  }
  return order_and_fill (list, block_dir, opts->expected_disks, err);
}

int
blockdev_discover (const struct blockdev_options *opts,
                   struct blockdev_list **ret_list, struct v2v_error *err)
{
  const struct backoff_clock *clock =
    opts->clock ? opts->clock : &backoff_real_clock;
  int64_t deadline_ms =
    opts->deadline_ms > 0 ? opts->deadline_ms : BLOCKDEV_DEFAULT_DEADLINE_MS;
  int64_t start_ms = clock->now_ms (clock->opaque);
  struct blockdev_list *list;
  int r;

  list = calloc (1, sizeof *list);
  if (list == NULL)
    return v2v_error_errno (err, -errno, "blockdev_discover: calloc");

  r = find_disks (opts, list, err);
  for (size_t i = 0; r == 0 && i < list->nr_disks; i++)
    r = wait_ready (&list->disks[i], opts, clock, start_ms, deadline_ms,
                    err);
  if (r < 0) {
    blockdev_list_free (list);
    return r;
  }
  *ret_list = list;
  return 0;
}
