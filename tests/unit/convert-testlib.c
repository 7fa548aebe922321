#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "convert-testlib.h"

static char *
copy_or_null (const char *s)
{
  char *d;

  if (s == NULL)
    return NULL;
  d = strdup (s);
  cr_assert_not_null (d);
  return d;
}

static void
set_fs (struct guest_fs *fs, const char *device, int disk, int part,
        const char *fstype, const char *uuid, const char *label,
        const char *partuuid)
{
  fs->device = copy_or_null (device);
  fs->disk_index = disk;
  fs->partnum = part;
  fs->fstype = copy_or_null (fstype);
  fs->uuid = copy_or_null (uuid);
  fs->label = copy_or_null (label);
  fs->partuuid = copy_or_null (partuuid);
}

void
test_guest_init (struct guest *guest)
{
  struct guest_fs *fs = calloc (TFS_COUNT, sizeof *fs);

  cr_assert_not_null (fs);
  set_fs (&fs[TFS_ROOT], "/dev/sda1", 0, 1, "ext4", T_ROOT_UUID,
          T_ROOT_LABEL, T_ROOT_PARTUUID);
  set_fs (&fs[TFS_SWAP], "/dev/sda2", 0, 2, "swap", T_SWAP_UUID, NULL, NULL);
  set_fs (&fs[TFS_DATA], "/dev/sdb", 1, 0, "xfs", T_DATA_UUID, T_DATA_LABEL,
          NULL);
  set_fs (&fs[TFS_PARTUUID_ONLY], "/dev/sdc2", 2, 2, "ext4", NULL, NULL,
          T_C2_PARTUUID);
  set_fs (&fs[TFS_LABEL_ONLY], "/dev/sdd1", 3, 1, "ext4", NULL, T_D1_LABEL,
          NULL);
  set_fs (&fs[TFS_NOTHING], "/dev/sde1", 4, 1, "ext2", NULL, NULL, NULL);
  set_fs (&fs[TFS_DISK26], "/dev/sdaa1", 26, 1, "ext4", T_AA1_UUID, NULL,
          NULL);
  set_fs (&fs[TFS_LV], "/dev/mapper/vg-root", -1, 0, "ext4", T_LV_UUID, NULL,
          NULL);
  guest->fs = fs;
  guest->nr_fs = TFS_COUNT;
  guest->nr_disks = 27;
}
