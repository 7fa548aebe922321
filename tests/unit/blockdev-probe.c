/* blockdev_probe and classification, on small images written by the
 * test: MBR bytes by hand, GPT with sfdisk, filesystems with mkfs on a
 * file, blank, random.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "blockdev-testlib.h"
#include "cleanup.h"
#include "internal.h"

#define MiB (1024 * 1024)

TestSuite (probe, .init = blockdev_test_setup,
           .fini = blockdev_test_teardown);

static char *
image (const char *name, uint64_t size)
{
  char *path = blockdev_test_path (name);

  blockdev_test_file (path, size);
  return path;
}

/* A GPT disk of 64 MiB with an ESP (1..17 MiB) and a Linux partition. */
static char *
gpt_esp_image (const char *name)
{
  char *path = image (name, 64 * MiB);

  blockdev_test_sfdisk (path, "label: gpt\n"
                       "start=2048, size=32768, type=U\n"
                       "type=L\n");
  return path;
}

static void
assert_class (const struct blockdev_disk *d, enum blockdev_class class,
              const char *reason)
{
  cr_assert_eq (d->class, class, "%s: class %s, want %s (%s)", d->path,
                blockdev_class_to_string (d->class),
                blockdev_class_to_string (class), d->reason);
  cr_assert_str_eq (d->reason, reason);
}

Test (probe, mbr_with_active_partition)
{
  CLEANUP_FREE char *path = image ("mbr.img", 16 * MiB);
  struct blockdev_list *list;
  const struct blockdev_disk *d;

  blockdev_test_mbr (path, 0x83, 2048, 8192, 1, 0);
  list = blockdev_test_probe (path);
  d = &list->disks[0];
  cr_assert_str_eq (d->pttype, "dos");
  cr_assert_str_eq (d->ptuuid, "12345678");
  cr_assert_eq (d->nr_partitions, 1);
  cr_assert_eq (d->partitions[0].number, 1);
  cr_assert_eq (d->partitions[0].start, 2048 * 512);
  cr_assert_eq (d->partitions[0].size, 8192 * 512);
  cr_assert_str_eq (d->partitions[0].type, "0x83");
  cr_assert_str_eq (d->partitions[0].partuuid, "12345678-01");
  cr_assert (d->partitions[0].bootable);
  cr_assert_not (d->partitions[0].esp);
  assert_class (d, BLOCKDEV_BOOTABLE_CANDIDATE, "active partition 1");
  blockdev_list_free (list);
}

Test (probe, mbr_with_boot_code)
{
  CLEANUP_FREE char *path = image ("mbr.img", 16 * MiB);
  struct blockdev_list *list;

  blockdev_test_mbr (path, 0x07, 2048, 8192, 0, 1);
  list = blockdev_test_probe (path);
  assert_class (&list->disks[0], BLOCKDEV_BOOTABLE_CANDIDATE,
                "boot code in the MBR");
  blockdev_list_free (list);
}

Test (probe, mbr_without_markers_or_filesystems_is_data)
{
  CLEANUP_FREE char *path = image ("mbr.img", 16 * MiB);
  struct blockdev_list *list;

  blockdev_test_mbr (path, 0x83, 2048, 8192, 0, 0);
  list = blockdev_test_probe (path);
  assert_class (&list->disks[0], BLOCKDEV_DATA,
                "dos partition table with 1 partitions and no recognised "
                "filesystem");
  blockdev_list_free (list);
}

Test (probe, mbr_esp_type_ef)
{
  CLEANUP_FREE char *path = image ("mbr.img", 16 * MiB);
  struct blockdev_list *list;

  blockdev_test_mbr (path, 0xef, 2048, 8192, 0, 0);
  list = blockdev_test_probe (path);
  cr_assert (list->disks[0].partitions[0].esp);
  assert_class (&list->disks[0], BLOCKDEV_BOOTABLE_CANDIDATE,
                "ESP on partition 1");
  blockdev_list_free (list);
}

Test (probe, mbr_with_ext4_partition)
{
  CLEANUP_FREE char *path = image ("mbr.img", 16 * MiB);
  struct blockdev_list *list;
  const struct blockdev_partition *p;

  blockdev_test_mbr (path, 0x83, 2048, 8192, 0, 0);
  blockdev_test_run ("mkfs.ext4", "-q", "-F", "-L", "root",
                     "-U", "6f0ba4b4-1c5e-4f0e-9d7e-1f2a3b4c5d6e",
                     "-E", "offset=1048576", path, "4M", NULL);
  list = blockdev_test_probe (path);
  p = &list->disks[0].partitions[0];
  cr_assert_str_eq (p->fstype, "ext4");
  cr_assert_str_eq (p->label, "root");
  cr_assert_str_eq (p->uuid, "6f0ba4b4-1c5e-4f0e-9d7e-1f2a3b4c5d6e");
  cr_assert_null (list->disks[0].fstype);
  assert_class (&list->disks[0], BLOCKDEV_BOOTABLE_CANDIDATE,
                "ext4 on partition 1");
  blockdev_list_free (list);
}

Test (probe, mbr_partition_past_the_end_is_unreadable)
{
  CLEANUP_FREE char *path = image ("mbr.img", 4 * MiB);
  struct blockdev_list *list;

  /* A 16 MiB partition on a 4 MiB disk: a truncated copy. */
  blockdev_test_mbr (path, 0x83, 2048, 32768, 1, 0);
  list = blockdev_test_probe (path);
  assert_class (&list->disks[0], BLOCKDEV_UNREADABLE,
                "partition 1 extends past the end of the disk (truncated)");
  blockdev_list_free (list);
}

Test (probe, gpt_with_esp)
{
  CLEANUP_FREE char *path = gpt_esp_image ("gpt.img");
  struct blockdev_list *list;
  const struct blockdev_disk *d;

  blockdev_test_run ("mkfs.vfat", "-n", "EFI", "--offset=2048", path,
                     "16384", NULL);
  list = blockdev_test_probe (path);
  d = &list->disks[0];
  cr_assert_str_eq (d->pttype, "gpt");
  cr_assert_not_null (d->ptuuid);
  cr_assert_eq (d->nr_partitions, 2);
  cr_assert_str_eq (d->partitions[0].type,
                    "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
  cr_assert (d->partitions[0].esp);
  cr_assert_str_eq (d->partitions[0].fstype, "vfat");
  cr_assert_str_eq (d->partitions[0].label, "EFI");
  cr_assert_not_null (d->partitions[0].partuuid);
  cr_assert_eq (d->partitions[0].start, 1 * MiB);
  cr_assert_eq (d->partitions[0].size, 16 * MiB);
  cr_assert_str_eq (d->partitions[1].type,
                    "0fc63daf-8483-4772-8e79-3d69d8477de4");
  cr_assert_not (d->partitions[1].esp);
  assert_class (d, BLOCKDEV_BOOTABLE_CANDIDATE, "ESP on partition 1");
  blockdev_list_free (list);
}

Test (probe, gpt_with_bios_boot)
{
  CLEANUP_FREE char *path = image ("gpt.img", 16 * MiB);
  struct blockdev_list *list;

  blockdev_test_sfdisk (path, "label: gpt\n"
                       "start=2048, size=2048, "
                       "type=21686148-6449-6e6f-744e-656564454649\n"
                       "type=L\n");
  list = blockdev_test_probe (path);
  cr_assert (list->disks[0].partitions[0].bios_boot);
  assert_class (&list->disks[0], BLOCKDEV_BOOTABLE_CANDIDATE,
                "BIOS boot partition 1");
  blockdev_list_free (list);
}

Test (probe, gpt_swap_only_is_data)
{
  CLEANUP_FREE char *path = image ("gpt.img", 16 * MiB);
  CLEANUP_FREE char *swap = image ("swap.img", 8 * MiB);
  struct blockdev_list *list;

  blockdev_test_sfdisk (path, "label: gpt\nstart=2048, type=S\n");
  /* This mkswap has no --offset: make it aside and copy it in. */
  blockdev_test_run ("mkswap", swap, NULL);
  blockdev_test_copy_into (swap, path, 1 * MiB);
  list = blockdev_test_probe (path);
  cr_assert_str_eq (list->disks[0].partitions[0].fstype, "swap");
  assert_class (&list->disks[0], BLOCKDEV_DATA,
                "nothing an OS lives on (swap on partition 1)");
  blockdev_list_free (list);
}

Test (probe, truncated_gpt_is_unreadable)
{
  CLEANUP_FREE char *path = gpt_esp_image ("gpt.img");
  struct blockdev_list *list;

  /* Cut a good 64 MiB GPT disk to 8 MiB, losing the backup header and
   * the end of the partitions.
   */
  cr_assert_eq (truncate (path, 8 * MiB), 0);
  list = blockdev_test_probe (path);
  cr_assert_str_eq (list->disks[0].pttype, "PMBR");
  cr_assert_eq (list->disks[0].nr_partitions, 0);
  assert_class (&list->disks[0], BLOCKDEV_UNREADABLE,
                "protective MBR without a valid GPT (truncated or damaged)");
  blockdev_list_free (list);
}

Test (probe, gpt_without_backup_header_warns)
{
  CLEANUP_FREE char *path = gpt_esp_image ("gpt.img");
  struct blockdev_list *list;
  const struct blockdev_disk *d;

  /* The last 33 sectors (backup table and header) cut off: the primary
   * table is still valid, so the disk converts, with a warning.
   */
  cr_assert_eq (truncate (path, 64 * MiB - 33 * 512), 0);
  list = blockdev_test_probe (path);
  d = &list->disks[0];
  cr_assert_str_eq (d->pttype, "gpt");
  cr_assert_eq (d->class, BLOCKDEV_BOOTABLE_CANDIDATE);
  cr_assert_str_eq (d->warning,
                    "the GPT backup header should be at sector 131071 but "
                    "the disk has only 131039 sectors: the image looks "
                    "truncated (16896 bytes short); the partitions are "
                    "whole, so the conversion goes on, but check that this "
                    "copy of the disk is complete");
  blockdev_list_free (list);
}

Test (probe, gpt_whole_or_grown_has_no_warning)
{
  CLEANUP_FREE char *path = gpt_esp_image ("gpt.img");
  struct blockdev_list *list;

  list = blockdev_test_probe (path);
  cr_assert_null (list->disks[0].warning);
  blockdev_list_free (list);
  /* A volume made larger than its snapshot: the backup is before the
   * end, which is normal and fixed by growpart at first boot.
   */
  cr_assert_eq (truncate (path, 80 * MiB), 0);
  list = blockdev_test_probe (path);
  cr_assert_str_eq (list->disks[0].pttype, "gpt");
  cr_assert_null (list->disks[0].warning);
  blockdev_list_free (list);
}

Test (probe, whole_disk_ext4)
{
  CLEANUP_FREE char *path = image ("ext4.img", 8 * MiB);
  struct blockdev_list *list;
  const struct blockdev_disk *d;

  blockdev_test_run ("mkfs.ext4", "-q", "-F", "-L", "data", path, NULL);
  list = blockdev_test_probe (path);
  d = &list->disks[0];
  cr_assert_null (d->pttype);
  cr_assert_eq (d->nr_partitions, 0);
  cr_assert_str_eq (d->fstype, "ext4");
  cr_assert_str_eq (d->label, "data");
  cr_assert_not_null (d->uuid);
  assert_class (d, BLOCKDEV_BOOTABLE_CANDIDATE, "whole-disk ext4");
  blockdev_list_free (list);
}

Test (probe, whole_disk_vfat_is_data)
{
  CLEANUP_FREE char *path = image ("vfat.img", 8 * MiB);
  struct blockdev_list *list;

  blockdev_test_run ("mkfs.vfat", "-n", "STUFF", path, NULL);
  list = blockdev_test_probe (path);
  cr_assert_str_eq (list->disks[0].fstype, "vfat");
  assert_class (&list->disks[0], BLOCKDEV_DATA, "whole-disk vfat");
  blockdev_list_free (list);
}

Test (probe, all_zero_is_blank)
{
  CLEANUP_FREE char *path = image ("zero.img", 8 * MiB);
  struct blockdev_list *list;

  list = blockdev_test_probe (path);
  cr_assert_null (list->disks[0].pttype);
  cr_assert_null (list->disks[0].fstype);
  assert_class (&list->disks[0], BLOCKDEV_BLANK,
                "no signature; the first MiB is all zero");
  blockdev_list_free (list);
}

Test (probe, random_bytes_are_blank)
{
  CLEANUP_FREE char *path = image ("random.img", 2 * MiB);
  CLEANUP_FREE unsigned char *buf = malloc (2 * MiB);
  struct blockdev_list *list;

  cr_assert_not_null (buf);
  for (size_t done = 0; done < 2 * MiB;) {
    ssize_t n = getrandom (buf + done, 2 * MiB - done, 0);

    cr_assert_gt (n, 0);
    done += (size_t) n;
  }
  /* No accidental MBR signature. */
  buf[510] = buf[511] = 0;
  blockdev_test_pwrite (path, 0, buf, 2 * MiB);
  list = blockdev_test_probe (path);
  assert_class (&list->disks[0], BLOCKDEV_BLANK,
                "no partition table or filesystem signature");
  blockdev_list_free (list);
}

Test (probe, tiny_disk_smaller_than_the_window)
{
  CLEANUP_FREE char *path = image ("tiny.img", 1024);
  struct blockdev_list *list;

  blockdev_test_fill (path, 0, 0xaa, 1024);
  list = blockdev_test_probe (path);
  cr_assert_eq (list->disks[0].class, BLOCKDEV_BLANK);
  blockdev_list_free (list);
}

Test (probe, probing_twice_gives_the_same_answer)
{
  CLEANUP_FREE char *path = gpt_esp_image ("gpt.img");
  struct blockdev_list *list = blockdev_test_probe (path);
  struct v2v_error err = { 0 };

  cr_assert_eq (blockdev_probe (list, &err), 0, "%s", err.msg);
  cr_assert_eq (list->disks[0].nr_partitions, 2);
  cr_assert_eq (list->disks[0].class, BLOCKDEV_BOOTABLE_CANDIDATE);
  blockdev_list_free (list);
}

Test (probe, error_disk_gone_before_probe)
{
  CLEANUP_FREE char *path = image ("gone.img", 1 * MiB);
  struct blockdev_list *list = blockdev_test_probe (path);
  struct v2v_error err = { 0 };
  CLEANUP_FREE char *want = NULL;

  cr_assert_eq (unlink (path), 0);
  cr_assert_eq (blockdev_probe (list, &err), -ENOENT);
  cr_assert_neq (asprintf (&want, "blockdev_probe: %s: open: No such file "
                           "or directory", path), -1);
  cr_assert_str_eq (err.msg, want);
  blockdev_list_free (list);
}

/* blockdev_check_bootable */

static struct blockdev_list *
list_of_classes (const enum blockdev_class *classes, size_t n)
{
  struct blockdev_list *list = calloc (1, sizeof *list);

  cr_assert_not_null (list);
  list->disks = calloc (n, sizeof list->disks[0]);
  cr_assert_not_null (list->disks);
  list->nr_disks = n;
  for (size_t i = 0; i < n; i++) {
    list->disks[i].index = (unsigned) i;
    list->disks[i].path = strdup ("x");
    list->disks[i].class = classes[i];
  }
  return list;
}

Test (probe, check_bootable_finds_a_candidate)
{
  const enum blockdev_class c[] = {
    BLOCKDEV_BLANK, BLOCKDEV_BOOTABLE_CANDIDATE, BLOCKDEV_DATA,
  };
  struct blockdev_list *list = list_of_classes (c, 3);
  struct v2v_error err = { 0 };

  cr_assert_eq (blockdev_check_bootable (list, &err), 0);
  blockdev_list_free (list);
}

Test (probe, error_no_operating_system_found)
{
  const enum blockdev_class c[] = { BLOCKDEV_BLANK, BLOCKDEV_UNREADABLE };
  struct blockdev_list *list = list_of_classes (c, 2);
  struct v2v_error err = { 0 };

  cr_assert_eq (blockdev_check_bootable (list, &err), -ENOENT);
  cr_assert_str_eq (err.msg, "no operating system found: 2 disks are blank "
                    "or unrecognised");
  blockdev_list_free (list);
}

Test (probe, error_no_operating_system_found_with_data)
{
  const enum blockdev_class c[] = { BLOCKDEV_BLANK, BLOCKDEV_DATA };
  struct blockdev_list *list = list_of_classes (c, 2);
  struct v2v_error err = { 0 };

  cr_assert_eq (blockdev_check_bootable (list, &err), -ENOENT);
  cr_assert_str_eq (err.msg, "no operating system found: 1 disks are blank "
                    "or unrecognised, 1 hold only data");
  blockdev_list_free (list);
}

Test (probe, check_bootable_on_real_blank_images)
{
  CLEANUP_FREE char *a = image ("a.img", 1 * MiB);
  CLEANUP_FREE char *b = image ("b.img", 1 * MiB);
  char *const disks[] = { a, b, NULL };
  struct blockdev_options opts = { .explicit_disks = disks };
  struct blockdev_list *list = NULL;
  struct v2v_error err = { 0 };

  cr_assert_eq (blockdev_discover (&opts, &list, &err), 0, "%s", err.msg);
  cr_assert_eq (blockdev_probe (list, &err), 0, "%s", err.msg);
  cr_assert_eq (blockdev_check_bootable (list, &err), -ENOENT);
  cr_assert_str_eq (err.msg, "no operating system found: 2 disks are blank "
                    "or unrecognised");
  blockdev_list_free (list);
}

/* JSON */

Test (probe, json_has_every_field)
{
  CLEANUP_FREE char *path = gpt_esp_image ("gpt.img");
  struct blockdev_list *list = blockdev_test_probe (path);
  struct json_object *arr = blockdev_list_to_json (list);
  struct json_object *d, *parts, *p, *v;

  cr_assert_not_null (arr);
  cr_assert_eq (json_object_array_length (arr), 1);
  d = json_object_array_get_idx (arr, 0);
  cr_assert (json_object_object_get_ex (d, "index", &v));
  cr_assert_eq (json_object_get_int (v), 0);
  cr_assert (json_object_object_get_ex (d, "path", &v));
  cr_assert_str_eq (json_object_get_string (v), path);
  cr_assert (json_object_object_get_ex (d, "size", &v));
  cr_assert_eq (json_object_get_int64 (v), 64 * MiB);
  cr_assert (json_object_object_get_ex (d, "class", &v));
  cr_assert_str_eq (json_object_get_string (v), "bootable-candidate");
  cr_assert (json_object_object_get_ex (d, "pttype", &v));
  cr_assert_str_eq (json_object_get_string (v), "gpt");
  cr_assert (json_object_object_get_ex (d, "fstype", &v));
  cr_assert_null (v, "absent fields are null");
  cr_assert (json_object_object_get_ex (d, "overlay", &v));
  cr_assert_null (v);
  for (const char *const *k = (const char *const []) {
         "nbd", "logical_sector", "physical_sector", "readonly", "ptuuid",
         "uuid", "label", "reason", NULL }; *k; k++)
    cr_assert (json_object_object_get_ex (d, *k, NULL), "missing %s", *k);

  cr_assert (json_object_object_get_ex (d, "partitions", &parts));
  cr_assert_eq (json_object_array_length (parts), 2);
  p = json_object_array_get_idx (parts, 0);
  cr_assert (json_object_object_get_ex (p, "esp", &v));
  cr_assert (json_object_get_boolean (v));
  cr_assert (json_object_object_get_ex (p, "start", &v));
  cr_assert_eq (json_object_get_int64 (v), 1 * MiB);
  for (const char *const *k = (const char *const []) {
         "number", "size", "type", "fstype", "uuid", "label", "partuuid",
         "bios_boot", NULL }; *k; k++)
    cr_assert (json_object_object_get_ex (p, *k, NULL), "missing %s", *k);

  json_object_put (arr);
  blockdev_list_free (list);
}

Test (probe, json_of_an_empty_list)
{
  struct blockdev_list empty = { 0 };
  struct json_object *arr = blockdev_list_to_json (&empty);

  cr_assert_not_null (arr);
  cr_assert_str_eq (json_object_to_json_string (arr), "[ ]");
  json_object_put (arr);
}

Test (probe, list_free_accepts_null)
{
  blockdev_list_free (NULL);
}
