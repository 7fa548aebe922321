/* A guest model built by hand for the convert/ unit tests: no appliance,
 * just the filesystems that inspection would have found.
 */
#ifndef V2V_TEST_CONVERT_TESTLIB_H
#define V2V_TEST_CONVERT_TESTLIB_H

#include "internal.h"

/* The filesystems of the test guest, in guest->fs order.  EC2 names in
 * the comments are the ones that must resolve to each.
 */
enum {
  TFS_ROOT,          /* /dev/sda1: nvme0n1p1, xvda1; UUID, LABEL, PARTUUID */
  TFS_SWAP,          /* /dev/sda2: nvme0n1p2; UUID only */
  TFS_DATA,          /* /dev/sdb, whole disk: nvme1n1, xvdb; UUID, LABEL */
  TFS_PARTUUID_ONLY, /* /dev/sdc2: no UUID, no LABEL */
  TFS_LABEL_ONLY,    /* /dev/sdd1 */
  TFS_NOTHING,       /* /dev/sde1: no UUID, PARTUUID or LABEL */
  TFS_DISK26,        /* /dev/sdaa1: xvdaa1 */
  TFS_LV,            /* /dev/mapper/vg-root: on no disk position */
  TFS_COUNT
};

#define T_ROOT_UUID     "0b5e7c2a-3f4d-4e1a-9c8b-1d2e3f4a5b6c"
#define T_ROOT_LABEL    "cloudimg-rootfs"
#define T_ROOT_PARTUUID "5c3b7a10-01"
#define T_SWAP_UUID     "9f8e7d6c-5b4a-4938-8271-605f4e3d2c1b"
#define T_DATA_UUID     "11111111-2222-4333-8444-555555555555"
#define T_DATA_LABEL    "data"
#define T_C2_PARTUUID   "a1b2c3d4-e5f6-4789-abcd-ef0123456789"
#define T_D1_LABEL      "scratch"
#define T_AA1_UUID      "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define T_LV_UUID       "12345678-9abc-4def-8123-456789abcdef"

/* Fill GUEST (zeroed by the caller) with the filesystems above.  Free
 * with convert_internal_guest_free.
 */
extern void test_guest_init (struct guest *guest);

#endif /* V2V_TEST_CONVERT_TESTLIB_H */
