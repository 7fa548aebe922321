/* blockdev: discover, wait for, probe and protect the disks of a
 * conversion pod.
 *
 * In a conversion pod every pre-bound PVC is a raw block device
 * /dev/block0 ... /dev/blockN (or, for filesystem PVCs, an image at
 * /mnt/disks/diskN/disk.img).  Standalone, the disks are image files or
 * nbd:// and nbd+unix:// URIs.  This module turns all of them into one
 * ordered, probed list for convert/, and puts a copy-on-write overlay in
 * front of each disk so that the devices stay untouched until every disk
 * has been converted.  See docs/blockdev.md.
 *
 * The data path is:
 *
 *   blockdev_discover        find the disks, wait until each is ready
 *   blockdev_probe           partition tables, filesystems, classification
 *   blockdev_check_bootable  fail early if no disk could hold an OS
 *   blockdev_overlay_create  one qcow2 overlay per disk
 *     ... conversion writes to disk->overlay ...
 *   blockdev_overlay_commit  or blockdev_overlay_discard
 *
 * Every function that can fail returns 0 or a negative errno and fills
 * the caller's struct v2v_error with a message naming the operation and
 * the path.  Nothing here logs.
 */
#ifndef V2V_BLOCKDEV_H
#define V2V_BLOCKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "error.h"
#include "string-table.h"

struct json_object;

/* The readiness deadline when blockdev_options.deadline_ms is 0. */
#define BLOCKDEV_DEFAULT_DEADLINE_MS (5 * 60 * 1000)

/* The readiness backoff: 0.5 s doubling to a 30 s cap. */
#define BLOCKDEV_BACKOFF_INITIAL_MS 500
#define BLOCKDEV_BACKOFF_MAX_MS     (30 * 1000)

enum blockdev_class {
  BLOCKDEV_BOOTABLE_CANDIDATE,  /* boot markers, or something an OS lives on */
  BLOCKDEV_DATA,                /* signatures, but nothing an OS lives on */
  BLOCKDEV_BLANK,               /* all zero, or no signature at all */
  BLOCKDEV_UNREADABLE,          /* read errors, or a damaged table */
};

struct blockdev_partition {
  int number;
  uint64_t start, size;         /* bytes */
  char *type;                   /* GPT type GUID, or MBR id like "0x83" */
  /* NULL if absent.  FSTYPE is libblkid's name: ext4, xfs, vfat,
   * crypto_LUKS, LVM2_member, swap, BitLocker, ...
   */
  char *fstype, *uuid, *label, *partuuid;
  bool esp, bios_boot;
  bool bootable;                /* MBR active flag (0x80) */
  bool extended;                /* MBR extended container */
};

struct blockdev_disk {
  unsigned index;               /* disk index N: blockN, diskN, or position */
  char *path;                   /* as given: /dev/block0, image, or NBD URI */
  bool is_nbd;
  uint64_t size;                /* bytes */
  unsigned logical_sector, physical_sector;
  bool readonly;
  char *pttype;                 /* "dos", "gpt", other libblkid names, NULL */
  char *ptuuid;                 /* NULL if absent */
  size_t nr_partitions;
  struct blockdev_partition *partitions;
  char *fstype, *uuid, *label;  /* whole-disk filesystem, if any */
  enum blockdev_class class;
  char *reason;                 /* why this class, e.g. "ESP on partition 1" */
  /* A problem that does not stop the conversion but that the user
   * should hear of (a GPT whose backup header is past the end), or NULL.
   */
  char *warning;
  char *overlay;                /* qcow2 overlay, or NULL when writing directly */
  /* Set by blockdev_overlay_commit once this disk's overlay is written
   * into it, even if a later disk then fails.
   */
  bool committed;
};

struct blockdev_list {
  size_t nr_disks;
  struct blockdev_disk *disks;  /* ordered by index */
  char *overlay_dir;            /* set by blockdev_overlay_create */
};

struct blockdev_options {
  /* Where to look for blockN and diskN/disk.img.  NULL: $V2V_DEVICE_DIR,
   * else /dev for blockN and /mnt/disks for diskN/disk.img.
   */
  const char *device_dir;
  /* NULL-terminated paths or NBD URIs; may be NULL.  When non-empty they
   * are the disks, in this order, and DEVICE_DIR is not looked at.
   */
  char *const *explicit_disks;
  /* How many disks there must be (0: as many as found).  Indices below
   * this that are missing from DEVICE_DIR are waited for.
   */
  unsigned expected_disks;
  int64_t deadline_ms;          /* readiness deadline; 0: the default */
  bool need_write;              /* fail on read-only disks */
  /* For tests: the clock and sleep the readiness backoff uses.  NULL for
   * the real monotonic clock and nanosleep.
   */
  const struct backoff_clock *clock;
  /* Called, if not NULL, with the error of each attempt that will be
   * retried, so the caller can log it ("nothing here logs").
   */
  void (*on_retry) (void *opaque, const char *msg);
  void *on_retry_opaque;
};

/* Find the disks and wait until each one can be opened and has a size.
 *
 * Order: OPTS->explicit_disks if any (index = position); otherwise the
 * blockN entries and diskN/disk.img images of the device directory,
 * ordered numerically (block2 before block10), with every index from 0
 * to the highest (or to expected_disks - 1) required.
 *
 * A disk that is not ready (ENOENT, ENXIO, EIO on open or size; ENOENT or
 * ECONNREFUSED for an NBD socket) is retried with exponential backoff,
 * 0.5 s doubling to 30 s, until the deadline.  Fails with -ETIMEDOUT if a
 * disk never becomes ready, -ENOTBLK if it is not a block device or
 * regular file, -EINVAL for zero size, -EROFS if it is read-only and
 * OPTS->need_write, -ENOENT if the directory holds no disks at all.
 *
 * On success *RET_LIST holds the disks with index, path, is_nbd, size,
 * sector sizes and readonly filled in; free it with blockdev_list_free.
 */
extern int blockdev_discover (const struct blockdev_options *opts,
                              struct blockdev_list **ret_list,
                              struct v2v_error *err);

/* Probe every disk with libblkid (NBD disks through libnbd: the first
 * and last MiB and the start of each partition are read into a sparse
 * memory file that libblkid probes).  Fills in pttype, partitions,
 * whole-disk filesystem, class and reason.
 *
 * A disk that cannot be read is classed BLOCKDEV_UNREADABLE, not an
 * error: the function fails (-errno) only when a disk cannot be opened
 * at all or memory runs out.
 */
extern int blockdev_probe (struct blockdev_list *list, struct v2v_error *err);

/* Succeeds if at least one disk is BLOCKDEV_BOOTABLE_CANDIDATE.
 * Otherwise fails with -ENOENT and "no operating system found: N disks
 * are blank or unrecognised", where N counts the blank and unreadable
 * disks (disks holding only data are counted after it).
 */
extern int blockdev_check_bootable (const struct blockdev_list *list,
                                    struct v2v_error *err);

/* Create TMPDIR/blockdev-overlay-N.qcow2 for every disk with
 * "qemu-img create -f qcow2 -b PATH -F raw", set disk->overlay and
 * list->overlay_dir, and write the journal TMPDIR/blockdev-journal.json
 * (state "prepared").  TMPDIR must survive a restart of the agent if an
 * interrupted commit is to be finished by the next run.
 *
 * Leftovers of an earlier run that never began to commit are removed
 * first (its devices are untouched).  If TMPDIR holds the journal of a
 * commit that began but did not finish, fails with -EBUSY and names the
 * disks: call blockdev_overlay_recover.  On failure no overlay is left.
 */
extern int blockdev_overlay_create (struct blockdev_list *list,
                                    const char *tmpdir,
                                    struct v2v_error *err);

/* Write every overlay into its device with "qemu-img commit", which costs
 * time in proportion to the clusters written, not to the disk size.
 * The journal is marked "committing" before the first device is touched
 * and each disk is marked once its device is flushed, so an interrupted
 * commit is detected by the next run.  When all disks are committed the
 * overlays and the journal are removed and disk->overlay is NULL.
 *
 * On failure (-errno), ERR names the disk that failed and lists the disks
 * committed and not committed; the journal and overlays are kept.
 */
extern int blockdev_overlay_commit (struct blockdev_list *list,
                                    struct v2v_error *err);

/* Remove the overlays and the journal, leaving the devices untouched,
 * and set disk->overlay to NULL.  If a commit has begun, nothing is
 * removed, so that the next run can finish it.  Accepts a list without
 * overlays.
 */
extern void blockdev_overlay_discard (struct blockdev_list *list);

/* Look in TMPDIR for the journal of an earlier run.
 *
 * Returns 0 if there is none, or if that run never began to commit (its
 * overlays are removed: the devices are untouched).
 *
 * If a commit began and did not finish: with FINISH false, fails with
 * -EBUSY and "an earlier commit was interrupted: committed: ...; not
 * committed: ...".  With FINISH true, commits the overlays not yet
 * committed into the disks of LIST (matched by index and path; -ESTALE
 * if they differ), removes the journal and overlays, and returns 1.
 *
 * If RET_SUMMARY is not NULL and the function returns 1, it is set to a
 * sentence saying what was finished, which the caller frees.
 */
extern int blockdev_overlay_recover (struct blockdev_list *list,
                                     const char *tmpdir, bool finish,
                                     char **ret_summary,
                                     struct v2v_error *err);

/* "bootable-candidate", "data", "blank" or "unreadable"; from_string
 * gives the class or -EINVAL. */
DECLARE_STRING_TABLE_LOOKUP (blockdev_class, enum blockdev_class);

/* A JSON array with one object per disk (see docs/blockdev.md).  Returns
 * a new reference that the caller releases with json_object_put, or NULL
 * if memory runs out.
 */
extern struct json_object *blockdev_list_to_json (const struct blockdev_list *list);

/* Free the list and everything in it.  Does not touch overlays: call
 * blockdev_overlay_commit or blockdev_overlay_discard first.  Accepts NULL.
 */
extern void blockdev_list_free (struct blockdev_list *list);

#endif /* V2V_BLOCKDEV_H */
