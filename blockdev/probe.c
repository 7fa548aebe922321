/* Probing the disks with libblkid.
 *
 * Local disks are probed in place.  libblkid cannot read from NBD, so
 * for an NBD disk we create a sparse memory file of the disk's size and
 * copy into it only what libblkid will look at: the first and last
 * window of the disk (partition tables, GPT backup header, whole-disk
 * signatures) and then the first and last window of each partition.
 * The rest reads as zeros and costs no memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define GPT_ESP_GUID       "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
#define GPT_BIOS_BOOT_GUID "21686148-6449-6e6f-744e-656564454649"
#define MBR_ESP_ID         0xef
#define MBR_ACTIVE_FLAG    0x80
/* Bytes of MBR boot code before the disk signature and partition table. */
#define MBR_BOOT_CODE_LEN  440

/* NBD reads are aligned to this, so that servers with a minimum block
 * size larger than a sector are happy.
 */
#define NBD_ALIGN (64 * 1024)

struct source {
  const struct blockdev_disk *disk;
  int fd;                       /* the disk, or the memory file */
  struct nbd_handle *nbd;       /* NULL for a local disk */
  char *buf;                    /* BLOCKDEV_PROBE_WINDOW bytes, for NBD */
};

static void
source_close (struct source *src)
{
  if (src->fd >= 0)
    close (src->fd);
  src->fd = -1;
  nbd_close (src->nbd);
  src->nbd = NULL;
  free (src->buf);
  src->buf = NULL;
}

static int
source_open (struct source *src, const struct blockdev_disk *d,
             struct v2v_error *err)
{
  src->disk = d;
  src->fd = -1;
  src->nbd = NULL;
  src->buf = NULL;

  if (!d->is_nbd) {
    src->fd = open (d->path, O_RDONLY | O_CLOEXEC);
    if (src->fd == -1)
      return v2v_error_errno (err, -errno, "blockdev_probe: %s: open",
                              d->path);
    return 0;
  }

  src->buf = malloc (BLOCKDEV_PROBE_WINDOW);
  if (src->buf == NULL)
    return v2v_error_errno (err, -errno, "blockdev_probe: malloc");
  src->nbd = nbd_create ();
  if (src->nbd == NULL) {
    v2v_error_set (err, -ENOMEM, "blockdev_probe: %s: %s",
                   d->path, nbd_get_error ());
    source_close (src);
    return -ENOMEM;
  }
  if (nbd_connect_uri (src->nbd, d->path) == -1) {
    int r = -(nbd_get_errno () ? : EIO);

    v2v_error_set (err, r, "blockdev_probe: %s: %s", d->path,
                   nbd_get_error ());
    source_close (src);
    return r;
  }
  src->fd = memfd_create ("blockdev-nbd", MFD_CLOEXEC);
  if (src->fd == -1 || ftruncate (src->fd, (off_t) d->size) == -1) {
    int r = v2v_error_errno (err, -errno, "blockdev_probe: %s: memfd",
                             d->path);
    source_close (src);
    return r;
  }
  return 0;
}

/* For an NBD disk, copy bytes [OFFSET, OFFSET + LEN) of the disk (widened
 * to NBD_ALIGN, clipped to the disk) into the memory file.  Nothing to do
 * for a local disk.  Returns 0 or -errno for a read error.
 */
static int
source_fill (struct source *src, uint64_t offset, uint64_t len)
{
  uint64_t size = src->disk->size, end;

  if (src->nbd == NULL || offset >= size)
    return 0;
  end = len > size - offset ? size : offset + len;
  offset -= offset % NBD_ALIGN;
  if (end % NBD_ALIGN && end - end % NBD_ALIGN + NBD_ALIGN <= size)
    end = end - end % NBD_ALIGN + NBD_ALIGN;

  while (offset < end) {
    size_t n = end - offset > BLOCKDEV_PROBE_WINDOW
      ? BLOCKDEV_PROBE_WINDOW : (size_t) (end - offset);
    ssize_t w;

    if (nbd_pread (src->nbd, src->buf, n, offset, 0) == -1)
      return -(nbd_get_errno () ? : EIO);
    w = pwrite (src->fd, src->buf, n, (off_t) offset);
    if (w == -1)
      return -errno;
    if ((size_t) w != n)
      return -EIO;
    offset += n;
  }
  return 0;
}

/* Fill the first and last window of [OFFSET, OFFSET + LEN). */
static int
source_fill_ends (struct source *src, uint64_t offset, uint64_t len)
{
  int r;

  r = source_fill (src, offset, len < BLOCKDEV_PROBE_WINDOW
                                ? len : BLOCKDEV_PROBE_WINDOW);
  if (r == 0 && len > BLOCKDEV_PROBE_WINDOW)
    r = source_fill (src, offset + len - BLOCKDEV_PROBE_WINDOW,
                     BLOCKDEV_PROBE_WINDOW);
  return r;
}

static int
pread_full (int fd, void *buf, size_t len, off_t offset)
{
  char *p = buf;

  while (len > 0) {
    ssize_t n = pread (fd, p, len, offset);

    if (n == -1) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (n == 0)
      return -EIO;
    p += n;
    len -= (size_t) n;
    offset += n;
  }
  return 0;
}

static bool
all_zero (const unsigned char *buf, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (buf[i])
      return false;
  return true;
}

/* Copy libblkid's value NAME into *RET (left NULL if absent). */
static int
lookup (blkid_probe pr, const char *name, char **ret)
{
  const char *v;

  if (blkid_probe_lookup_value (pr, name, &v, NULL) != 0)
    return 0;
  *ret = strdup (v);
  return *ret ? 0 : -ENOMEM;
}

/* Set up a probe for the filesystem signatures of bytes [OFFSET, OFFSET +
 * SIZE) of the source.
 */
static blkid_probe
new_probe (const struct source *src, uint64_t offset, uint64_t size,
           bool partitions)
{
  CLEANUP_BLKID_PROBE blkid_probe pr = blkid_new_probe ();

  if (pr == NULL)
    return NULL;
  if (blkid_probe_set_device (pr, src->fd, (blkid_loff_t) offset,
                              (blkid_loff_t) size) != 0)
    return NULL;
  blkid_probe_set_sectorsize (pr, src->disk->logical_sector);
  blkid_probe_enable_superblocks (pr, 1);
  blkid_probe_set_superblocks_flags (pr, BLKID_SUBLKS_TYPE |
                                     BLKID_SUBLKS_UUID |
                                     BLKID_SUBLKS_LABEL);
  blkid_probe_enable_partitions (pr, partitions);
  if (partitions)
    blkid_probe_set_partitions_flags (pr, BLKID_PARTS_ENTRY_DETAILS);
  return TAKE_PTR (pr);
}

static int
probe_partition_fs (struct source *src, struct blockdev_partition *p,
                    struct blockdev_evidence *ev)
{
  CLEANUP_BLKID_PROBE blkid_probe pr = NULL;
  int r;

  r = source_fill_ends (src, p->start, p->size);
  if (r < 0) {
    ev->read_error = true;
    ev->read_errno = -r;
    return 0;
  }
  pr = new_probe (src, p->start, p->size, false);
  if (pr == NULL)
    return -ENOMEM;
  switch (blkid_do_safeprobe (pr)) {
  case 0:
    if (lookup (pr, "TYPE", &p->fstype) < 0 ||
        lookup (pr, "UUID", &p->uuid) < 0 ||
        lookup (pr, "LABEL", &p->label) < 0)
      return -ENOMEM;
    break;
  case 1:                       /* nothing found */
  case -2:                      /* leftover signatures: say nothing */
    break;
  default:
    ev->read_error = true;
    ev->read_errno = errno ? errno : EIO;
  }
  return 0;
}

static int
probe_partitions (struct source *src, blkid_probe pr,
                  struct blockdev_disk *d, struct blockdev_evidence *ev)
{
  blkid_partlist ls = blkid_probe_get_partitions (pr);
  bool gpt = strcmp (d->pttype, "gpt") == 0;
  bool dos = strcmp (d->pttype, "dos") == 0;
  int n;

  if (ls == NULL)
    return 0;
  n = blkid_partlist_numof_partitions (ls);
  if (n <= 0)
    return 0;
  d->partitions = calloc ((size_t) n, sizeof d->partitions[0]);
  if (d->partitions == NULL)
    return -ENOMEM;

  for (int i = 0; i < n; i++) {
    blkid_partition par = blkid_partlist_get_partition (ls, i);
    struct blockdev_partition *p = &d->partitions[d->nr_partitions];
    const char *s;
    int r;

    if (par == NULL)
      continue;
    d->nr_partitions++;
    p->number = blkid_partition_get_partno (par);
    /* libblkid counts partitions in 512-byte sectors whatever the
     * sector size of the disk.
     */
    p->start = (uint64_t) blkid_partition_get_start (par) * 512;
    p->size = (uint64_t) blkid_partition_get_size (par) * 512;
    p->extended = blkid_partition_is_extended (par) != 0;

    s = blkid_partition_get_type_string (par);
    if (s)
      p->type = strdup (s);
    else if (asprintf (&p->type, "0x%02x",
                       (unsigned) blkid_partition_get_type (par)) == -1)
      p->type = NULL;
    if (p->type == NULL)
      return -ENOMEM;
    s = blkid_partition_get_uuid (par);
    if (s && (p->partuuid = strdup (s)) == NULL)
      return -ENOMEM;

    if (gpt) {
      p->esp = strcasecmp (p->type, GPT_ESP_GUID) == 0;
      p->bios_boot = strcasecmp (p->type, GPT_BIOS_BOOT_GUID) == 0;
    }
    else if (dos) {
      p->esp = blkid_partition_get_type (par) == MBR_ESP_ID;
      p->bootable =
        (blkid_partition_get_flags (par) & MBR_ACTIVE_FLAG) != 0;
    }

    if (p->start >= d->size || p->size > d->size - p->start) {
      if (ev->past_end_partition == 0)
        ev->past_end_partition = p->number;
      continue;
    }
    if (!p->extended && p->size > 0) {
      r = probe_partition_fs (src, p, ev);
      if (r < 0)
        return r;
    }
  }
  return 0;
}

static uint64_t
le64 (const unsigned char *p)
{
  uint64_t v = 0;

  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

/* A GPT disk whose copy stopped early still has its primary header and
 * table, so libblkid and the conversion are happy, but the backup header
 * that the primary one points at (normally the last sector) is gone.
 * Say so: the user should know the copy is short.  A disk that grew (the
 * backup before the end, as after an EBS volume resize) is normal.
 * Returns 0 or -ENOMEM.
 */
static int
check_gpt_backup (struct blockdev_disk *d, const unsigned char *head,
                  size_t head_len)
{
  const unsigned char *hdr = head + d->logical_sector;
  uint64_t sectors = d->size / d->logical_sector, backup;

  if (head_len < 2 * (size_t) d->logical_sector ||
      memcmp (hdr, "EFI PART", 8) != 0)
    return 0;
  backup = le64 (hdr + 32);
  if (backup < sectors)
    return 0;
  d->warning = blockdev_internal_asprintf (
    "the GPT backup header should be at sector %" PRIu64 " but the disk "
    "has only %" PRIu64 " sectors: the image looks truncated (%" PRIu64
    " bytes short); the partitions are whole, so the conversion goes on, "
    "but check that this copy of the disk is complete",
    backup, sectors, (backup + 1 - sectors) * d->logical_sector);
  return d->warning ? 0 : -ENOMEM;
}

/* Probe one disk.  Fails only if it cannot be opened or memory runs out;
 * read errors make the disk "unreadable".
 */
static int
probe_disk (struct blockdev_disk *d, struct v2v_error *err)
{
  struct source src = { .fd = -1 };
  struct blockdev_evidence ev = { 0 };
  CLEANUP_FREE unsigned char *head = NULL;
  CLEANUP_BLKID_PROBE blkid_probe pr = NULL;
  size_t head_len;
  int r;

  blockdev_internal_disk_clear (d);
  if (d->size == 0)
    return v2v_error_set (err, -EINVAL,
                          "blockdev_probe: %s: size unknown "
                          "(call blockdev_discover first)", d->path);
  r = source_open (&src, d, err);
  if (r < 0)
    return r;

  head_len = d->size < BLOCKDEV_PROBE_WINDOW ? (size_t) d->size
                                             : BLOCKDEV_PROBE_WINDOW;
  head = malloc (head_len);
  if (head == NULL) {
    r = -ENOMEM;
    goto out;
  }
  r = source_fill_ends (&src, 0, d->size);
  if (r == 0)
    r = pread_full (src.fd, head, head_len, 0);
  if (r != 0) {
    ev.read_error = true;
    ev.read_errno = -r;
    goto classify;
  }
  ev.head_all_zero = all_zero (head, head_len);

  pr = new_probe (&src, 0, d->size, true);
  if (pr == NULL) {
    r = -ENOMEM;
    goto out;
  }
  switch (blkid_do_safeprobe (pr)) {
  case 0:
    break;
  case 1:
    goto classify;
  case -2:
    ev.ambivalent = true;
    goto classify;
  default:
    ev.read_error = true;
    ev.read_errno = errno ? errno : EIO;
    goto classify;
  }
  if ((r = lookup (pr, "PTTYPE", &d->pttype)) < 0 ||
      (r = lookup (pr, "PTUUID", &d->ptuuid)) < 0 ||
      (r = lookup (pr, "TYPE", &d->fstype)) < 0 ||
      (r = lookup (pr, "UUID", &d->uuid)) < 0 ||
      (r = lookup (pr, "LABEL", &d->label)) < 0)
    goto out;
  if (d->pttype && head_len >= 512)
    ev.mbr_boot_code = !all_zero (head, MBR_BOOT_CODE_LEN);
  if (d->pttype && strcmp (d->pttype, "gpt") == 0 &&
      (r = check_gpt_backup (d, head, head_len)) < 0)
    goto out;
  /* A protective MBR alone is a damaged GPT: its one partition (type
   * 0xee, the whole disk) is not worth listing.
   */
  if (d->pttype && strcmp (d->pttype, "PMBR") != 0) {
    r = probe_partitions (&src, pr, d, &ev);
    if (r < 0)
      goto out;
  }

 classify:
  r = blockdev_internal_classify (d, &ev);
 out:
  source_close (&src);
  if (r < 0)
    return v2v_error_errno (err, r, "blockdev_probe: %s", d->path);
  return 0;
}

int
blockdev_probe (struct blockdev_list *list, struct v2v_error *err)
{
  for (size_t i = 0; i < list->nr_disks; i++) {
    int r = probe_disk (&list->disks[i], err);

    if (r < 0)
      return r;
  }
  return 0;
}
