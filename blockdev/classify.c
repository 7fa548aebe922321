/* Classifying a probed disk.
 *
 * "bootable-candidate" is deliberately generous: it only has to be right
 * when it says no, because blockdev_check_bootable stops the conversion
 * when no disk is a candidate.  Inspection in convert/ decides which
 * candidate really holds the OS.  A disk is a candidate if it carries a
 * boot marker (an ESP, a BIOS boot partition, an active MBR partition or
 * boot code in the MBR) or any filesystem or container an OS can live on,
 * because phony guests and partitionless root filesystems have no
 * markers at all.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* libblkid's names for what a root filesystem can be, or be inside. */
static const char *const os_fstypes[] = {
  "ext2", "ext3", "ext4", "ext4dev", "xfs", "btrfs", "jfs", "reiserfs",
  "f2fs", "bcachefs", "zfs_member", "ntfs", "BitLocker", "crypto_LUKS",
  "LVM2_member", "linux_raid_member", "ufs",
};

static bool
is_os_fstype (const char *fstype)
{
  if (fstype == NULL)
    return false;
  for (size_t i = 0; i < sizeof os_fstypes / sizeof os_fstypes[0]; i++)
    if (strcmp (fstype, os_fstypes[i]) == 0)
      return true;
  return false;
}

static int
set_class (struct blockdev_disk *disk, enum blockdev_class class,
           const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

static int
set_class (struct blockdev_disk *disk, enum blockdev_class class,
           const char *fmt, ...)
{
  va_list ap;
  char *reason;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&reason, fmt, ap);
  va_end (ap);
  if (r == -1)
    return -ENOMEM;
  free (disk->reason);
  disk->reason = reason;
  disk->class = class;
  return 0;
}

/* The first partition for which PRED holds, or NULL. */
static const struct blockdev_partition *
find_partition (const struct blockdev_disk *disk,
                bool (*pred) (const struct blockdev_partition *))
{
  for (size_t i = 0; i < disk->nr_partitions; i++)
    if (pred (&disk->partitions[i]))
      return &disk->partitions[i];
  return NULL;
}

static bool
part_is_esp (const struct blockdev_partition *p)
{
  return p->esp;
}

static bool
part_is_bios_boot (const struct blockdev_partition *p)
{
  return p->bios_boot;
}

static bool
part_has_os_fs (const struct blockdev_partition *p)
{
  return is_os_fstype (p->fstype);
}

static bool
part_is_active (const struct blockdev_partition *p)
{
  return p->bootable;
}

static bool
part_has_fs (const struct blockdev_partition *p)
{
  return p->fstype != NULL;
}

int
blockdev_internal_classify (struct blockdev_disk *disk,
                            const struct blockdev_evidence *ev)
{
  const struct blockdev_partition *p;

  if (ev->read_error)
    return set_class (disk, BLOCKDEV_UNREADABLE, "read error: %s",
                      strerror (ev->read_errno));
  if (ev->ambivalent)
    return set_class (disk, BLOCKDEV_UNREADABLE,
                      "conflicting signatures (libblkid found more than "
                      "one filesystem or partition table)");
  /* libblkid reports "PMBR" when the protective MBR is there but neither
   * GPT header is valid, which is what a truncated GPT disk looks like.
   */
  if (disk->pttype && strcmp (disk->pttype, "PMBR") == 0)
    return set_class (disk, BLOCKDEV_UNREADABLE,
                      "protective MBR without a valid GPT "
                      "(truncated or damaged)");
  if (ev->past_end_partition)
    return set_class (disk, BLOCKDEV_UNREADABLE,
                      "partition %d extends past the end of the disk "
                      "(truncated)", ev->past_end_partition);

  if ((p = find_partition (disk, part_is_esp)) != NULL)
    return set_class (disk, BLOCKDEV_BOOTABLE_CANDIDATE,
                      "ESP on partition %d", p->number);
  if ((p = find_partition (disk, part_is_bios_boot)) != NULL)
    return set_class (disk, BLOCKDEV_BOOTABLE_CANDIDATE,
                      "BIOS boot partition %d", p->number);
  if ((p = find_partition (disk, part_is_active)) != NULL)
    return set_class (disk, BLOCKDEV_BOOTABLE_CANDIDATE,
                      "active partition %d", p->number);
  if (disk->pttype && ev->mbr_boot_code)
    return set_class (disk, BLOCKDEV_BOOTABLE_CANDIDATE,
                      "boot code in the MBR");
  if ((p = find_partition (disk, part_has_os_fs)) != NULL)
    return set_class (disk, BLOCKDEV_BOOTABLE_CANDIDATE,
                      "%s on partition %d", p->fstype, p->number);
  if (is_os_fstype (disk->fstype))
    return set_class (disk, BLOCKDEV_BOOTABLE_CANDIDATE,
                      "whole-disk %s", disk->fstype);

  if (disk->fstype)
    return set_class (disk, BLOCKDEV_DATA, "whole-disk %s", disk->fstype);
  if ((p = find_partition (disk, part_has_fs)) != NULL)
    return set_class (disk, BLOCKDEV_DATA,
                      "nothing an OS lives on (%s on partition %d)",
                      p->fstype, p->number);
  if (disk->pttype)
    return set_class (disk, BLOCKDEV_DATA,
                      "%s partition table with %zu partitions and no "
                      "recognised filesystem", disk->pttype,
                      disk->nr_partitions);

  if (ev->head_all_zero)
    return set_class (disk, BLOCKDEV_BLANK,
                      "no signature; the first MiB is all zero");
  return set_class (disk, BLOCKDEV_BLANK,
                    "no partition table or filesystem signature");
}

int
blockdev_check_bootable (const struct blockdev_list *list,
                         struct v2v_error *err)
{
  size_t unrecognised = 0, data = 0;

  for (size_t i = 0; i < list->nr_disks; i++) {
    switch (list->disks[i].class) {
    case BLOCKDEV_BOOTABLE_CANDIDATE:
      return 0;
    case BLOCKDEV_DATA:
      data++;
      break;
    case BLOCKDEV_BLANK:
    case BLOCKDEV_UNREADABLE:
      unrecognised++;
    }
  }
  /* The wording is the issue's: it is what the user reads in the
   * termination message, before any appliance has been started.
   */
  if (data)
    return v2v_error_set (err, -ENOENT,
                          "no operating system found: %zu disks are blank "
                          "or unrecognised, %zu hold only data",
                          unrecognised, data);
  return v2v_error_set (err, -ENOENT,
                        "no operating system found: %zu disks are blank "
                        "or unrecognised", unrecognised);
}
