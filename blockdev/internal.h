/* Declarations shared by the files of blockdev/ and its unit tests.
 * Not part of the module's interface: convert/ and agent/ include
 * blockdev.h only.
 */
#ifndef V2V_BLOCKDEV_INTERNAL_H
#define V2V_BLOCKDEV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <blkid.h>
#include <libnbd.h>

#include "blockdev.h"
#include "cleanup.h"
#include "error.h"

DEFINE_CLEANUP_FUNC (blkid_probe, blkid_free_probe)
#define CLEANUP_BLKID_PROBE __attribute__ ((cleanup (blkid_free_probe_cleanup)))

DEFINE_CLEANUP_FUNC (struct nbd_handle *, nbd_close)
#define CLEANUP_NBD __attribute__ ((cleanup (nbd_close_cleanup)))

/* How much is read for probing at the start and end of a disk and at the
 * start of each partition of an NBD disk.  Every signature libblkid
 * looks for near the start of a filesystem (btrfs at 64 KiB being the
 * deepest common one) lies within it.
 */
#define BLOCKDEV_PROBE_WINDOW (1024 * 1024)

/* The file names blockdev_overlay_create uses inside TMPDIR. */
#define BLOCKDEV_JOURNAL_NAME "blockdev-journal.json"
#define BLOCKDEV_OVERLAY_FMT  "blockdev-overlay-%u.qcow2"

/* discover.c */

/* If NAME is PREFIX followed by decimal digits only (no sign, no leading
 * zero unless the number is 0), set *RET_INDEX and return true.
 */
extern bool blockdev_internal_parse_index (const char *name,
                                           const char *prefix,
                                           unsigned *ret_index);

/* nbd://, nbds://, nbd+unix://, nbds+unix://, nbd+vsock://... */
extern bool blockdev_internal_is_nbd_uri (const char *path);

/* classify.c */

/* What probing saw beyond the fields of struct blockdev_disk. */
struct blockdev_evidence {
  bool read_error;              /* an I/O error while probing */
  int read_errno;
  bool ambivalent;              /* libblkid found conflicting signatures */
  bool mbr_boot_code;           /* bytes 0..439 of an MBR are not zero */
  bool head_all_zero;           /* the first window read is all zero */
  int past_end_partition;       /* number of a partition past the end, or 0 */
};

/* Set DISK->class and DISK->reason from its probed fields and EV.
 * Returns 0 or -ENOMEM.
 */
extern int blockdev_internal_classify (struct blockdev_disk *disk,
                                       const struct blockdev_evidence *ev);

/* list.c */

extern void blockdev_internal_disk_clear (struct blockdev_disk *disk);

/* asprintf that returns the string, or NULL if memory runs out. */
extern char *blockdev_internal_asprintf (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));

/* journal.c */

enum blockdev_journal_state {
  BLOCKDEV_JOURNAL_PREPARED,    /* overlays made; no device written */
  BLOCKDEV_JOURNAL_COMMITTING,  /* some devices may have been written */
};

struct blockdev_journal_disk {
  unsigned index;
  char *path;
  char *overlay;
  bool committed;
};

struct blockdev_journal {
  enum blockdev_journal_state state;
  size_t nr_disks;
  struct blockdev_journal_disk *disks;
};

/* Read DIR/blockdev-journal.json.  Returns 0 and sets *RET_JOURNAL (the
 * caller frees it with blockdev_internal_journal_free), -ENOENT if there
 * is none, or -errno (-EINVAL if it cannot be parsed).
 */
extern int blockdev_internal_journal_read (const char *dir,
                                           struct blockdev_journal **ret_journal,
                                           struct v2v_error *err);

/* Replace DIR/blockdev-journal.json atomically and durably (write a
 * temporary file, fsync, rename, fsync the directory).
 */
extern int blockdev_internal_journal_write (const char *dir,
                                            const struct blockdev_journal *j,
                                            struct v2v_error *err);

/* Remove the journal and fsync DIR. */
extern int blockdev_internal_journal_remove (const char *dir,
                                             struct v2v_error *err);

extern void blockdev_internal_journal_free (struct blockdev_journal *j);

#endif /* V2V_BLOCKDEV_INTERNAL_H */
