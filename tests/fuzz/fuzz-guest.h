/* A guest model for the convert/ fuzz targets, built by hand as the unit
 * tests build theirs (tests/unit/convert-testlib.c): the filesystems
 * inspection would have found on an EC2 guest with 27 disks, so that
 * device names, UUIDs, LABELs and PARTUUIDs in the input can resolve.
 * No appliance: guest.g is NULL, and nothing here may reach it.
 */
#ifndef V2V_FUZZ_GUEST_H
#define V2V_FUZZ_GUEST_H

#include <stdlib.h>
#include <string.h>

#include "internal.h"

static struct guest fuzz_guest;
static struct changelog fuzz_log;
static struct convert_ctx fuzz_ctx = { .guest = &fuzz_guest, .log = &fuzz_log };

static inline void
fuzz_fs (struct guest_fs *fs, const char *device, int disk, int part,
         const char *uuid, const char *label, const char *partuuid)
{
  fs->device = strdup (device);
  fs->disk_index = disk;
  fs->partnum = part;
  fs->fstype = strdup ("ext4");
  fs->uuid = uuid ? strdup (uuid) : NULL;
  fs->label = label ? strdup (label) : NULL;
  fs->partuuid = partuuid ? strdup (partuuid) : NULL;
}

static inline void
fuzz_guest_init (void)
{
  struct guest_fs *fs = calloc (6, sizeof *fs);

  if (fs == NULL)
    abort ();
  fuzz_fs (&fs[0], "/dev/sda1", 0, 1, "0b5e7c2a-3f4d-4e1a-9c8b-1d2e3f4a5b6c",
           "cloudimg-rootfs", "5c3b7a10-01");
  fuzz_fs (&fs[1], "/dev/sda15", 0, 15, "7B77-95E7", "UEFI", NULL);
  fuzz_fs (&fs[2], "/dev/sdb", 1, 0, "11111111-2222-4333-8444-555555555555",
           "data", NULL);
  fuzz_fs (&fs[3], "/dev/sdc2", 2, 2, NULL, NULL, "a1b2c3d4-02");
  fuzz_fs (&fs[4], "/dev/sde1", 4, 1, NULL, NULL, NULL);
  fuzz_fs (&fs[5], "/dev/sdaa1", 26, 1, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
           NULL, NULL);
  fuzz_guest.fs = fs;
  fuzz_guest.nr_fs = 6;
  fuzz_guest.nr_disks = 27;
}

/* The input as a C string (guest files are read whole, then handled as
 * strings); NULL if out of memory.  Caller frees.
 */
static inline char *
fuzz_string (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);

  if (s) {
    memcpy (s, data, size);
    s[size] = '\0';
  }
  return s;
}

/* Warnings pile up in the changelog; drop them after each input. */
static inline void
fuzz_log_reset (void)
{
  convert_internal_changelog_free (&fuzz_log);
  memset (&fuzz_log, 0, sizeof fuzz_log);
}

#endif /* V2V_FUZZ_GUEST_H */
