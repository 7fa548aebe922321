/* convert/fsmap.c: EC2 device names, fstab parsing and the stable spec a
 * device path is rewritten to.  No appliance: the guest model is built by
 * hand (convert-testlib.c).
 */
#include <string.h>

#include <criterion/criterion.h>

#include "convert-testlib.h"

static struct guest guest;

static void
setup (void)
{
  memset (&guest, 0, sizeof guest);
  test_guest_init (&guest);
}

static void
teardown (void)
{
  convert_internal_guest_free (&guest);
}

TestSuite (device_path);
TestSuite (resolve, .init = setup, .fini = teardown);
TestSuite (fstab, .init = setup, .fini = teardown);
TestSuite (stable_spec, .init = setup, .fini = teardown);

/* What SPEC resolves to, as an index in guest.fs, or -1. */
static int
resolved (const char *spec)
{
  const struct guest_fs *fs = convert_internal_resolve_spec (&guest, spec);

  return fs ? (int) (fs - guest.fs) : -1;
}

/* convert_internal_is_device_path */

Test (device_path, nvme_partition)
{
  cr_assert (convert_internal_is_device_path ("/dev/nvme0n1p1"));
}

Test (device_path, nvme_whole_namespace)
{
  cr_assert (convert_internal_is_device_path ("/dev/nvme1n1"));
}

Test (device_path, xvd_partition_and_whole_disk)
{
  cr_assert (convert_internal_is_device_path ("/dev/xvda1"));
  cr_assert (convert_internal_is_device_path ("/dev/xvdb"));
}

Test (device_path, sd_hd_vd)
{
  cr_assert (convert_internal_is_device_path ("/dev/sdb2"));
  cr_assert (convert_internal_is_device_path ("/dev/hda1"));
  cr_assert (convert_internal_is_device_path ("/dev/vdc"));
}

Test (device_path, two_letter_disk)
{
  cr_assert (convert_internal_is_device_path ("/dev/xvdaa1"));
}

Test (device_path, nvme_controller_without_namespace_is_not)
{
  cr_assert_not (convert_internal_is_device_path ("/dev/nvme0"));
}

Test (device_path, nvme_empty_partition_is_not)
{
  cr_assert_not (convert_internal_is_device_path ("/dev/nvme0n1p"));
  cr_assert_not (convert_internal_is_device_path ("/dev/nvme0n"));
}

Test (device_path, prefix_without_letter_is_not)
{
  cr_assert_not (convert_internal_is_device_path ("/dev/xvd"));
  cr_assert_not (convert_internal_is_device_path ("/dev/sd"));
}

Test (device_path, trailing_garbage_is_not)
{
  cr_assert_not (convert_internal_is_device_path ("/dev/sda1x"));
  cr_assert_not (convert_internal_is_device_path ("/dev/nvme0n1p1x"));
}

Test (device_path, uppercase_letter_is_not)
{
  cr_assert_not (convert_internal_is_device_path ("/dev/sdA1"));
}

Test (device_path, mapper_and_stable_specs_are_not)
{
  cr_assert_not (convert_internal_is_device_path ("/dev/mapper/foo"));
  cr_assert_not (convert_internal_is_device_path ("/dev/disk/by-uuid/x"));
  cr_assert_not (convert_internal_is_device_path ("UUID=" T_ROOT_UUID));
  cr_assert_not (convert_internal_is_device_path ("tmpfs"));
  cr_assert_not (convert_internal_is_device_path (""));
}

/* convert_internal_resolve_spec */

Test (resolve, root_volume_names_without_a_map)
{
  cr_assert_eq (resolved ("/dev/nvme0n1p1"), TFS_ROOT);
  cr_assert_eq (resolved ("/dev/nvme0n1p2"), TFS_SWAP);
  cr_assert_eq (resolved ("/dev/xvda1"), TFS_ROOT);
  cr_assert_eq (resolved ("/dev/hda1"), TFS_ROOT);
}

/* EC2 device names are not attach order: without a map, a data volume's
 * name is placed nowhere (it used to be taken by position). */
Test (resolve, data_volume_names_need_a_map)
{
  cr_assert_eq (resolved ("/dev/nvme1n1"), -1);
  cr_assert_eq (resolved ("/dev/xvdb"), -1);
  cr_assert_eq (resolved ("/dev/sdc2"), -1);
  cr_assert_eq (resolved ("/dev/xvdaa1"), -1);
}

static struct convert_devmap *
map_of (const char *text)
{
  struct convert_devmap *m = convert_devmap_new ();
  struct v2v_error err = { 0 };

  cr_assert_not_null (m);
  cr_assert_eq (convert_devmap_parse (m, text, "test", &err), 0, "%s",
                err.msg);
  guest.devmap = m;
  return m;
}

Test (resolve, nitro_whole_disk_through_the_map)
{
  struct convert_devmap *m = map_of ("disk 1=/dev/sdf,vol-0abc");

  cr_assert_eq (resolved ("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"
                          "vol0abc"), TFS_DATA);
  cr_assert_eq (resolved ("/dev/nvme1n1"), -1);
  convert_devmap_free (m);
}

Test (resolve, xen_whole_disk_through_the_map)
{
  struct convert_devmap *m = map_of ("disk 1=/dev/xvdb");

  cr_assert_eq (resolved ("/dev/xvdb"), TFS_DATA);
  cr_assert_eq (resolved ("/dev/sdb"), TFS_DATA);
  cr_assert_eq (resolved ("/dev/vdb"), TFS_DATA);
  convert_devmap_free (m);
}

Test (resolve, sd_partition_through_the_map)
{
  struct convert_devmap *m = map_of ("disk 2=/dev/sdc");

  cr_assert_eq (resolved ("/dev/sdc2"), TFS_PARTUUID_ONLY);
  cr_assert_eq (resolved ("/dev/xvdc2"), TFS_PARTUUID_ONLY);
  convert_devmap_free (m);
}

Test (resolve, two_letters_through_the_map)
{
  struct convert_devmap *m = map_of ("disk 26=/dev/xvdaa");

  cr_assert_eq (resolved ("/dev/xvdaa1"), TFS_DISK26);
  convert_devmap_free (m);
}

Test (resolve, instance_store_is_on_no_disk)
{
  struct convert_devmap *m = map_of ("disk 1=ephemeral0,/dev/sdb");

  cr_assert_eq (resolved ("/dev/xvdb"), -1);
  convert_devmap_free (m);
}

Test (resolve, uuid)
{
  cr_assert_eq (resolved ("UUID=" T_ROOT_UUID), TFS_ROOT);
}

Test (resolve, uuid_is_case_insensitive)
{
  cr_assert_eq (resolved ("UUID=0B5E7C2A-3F4D-4E1A-9C8B-1D2E3F4A5B6C"),
                TFS_ROOT);
}

Test (resolve, label)
{
  cr_assert_eq (resolved ("LABEL=" T_ROOT_LABEL), TFS_ROOT);
  cr_assert_eq (resolved ("LABEL=" T_D1_LABEL), TFS_LABEL_ONLY);
}

Test (resolve, label_is_case_sensitive)
{
  cr_assert_eq (resolved ("LABEL=CLOUDIMG-ROOTFS"), -1);
}

Test (resolve, partuuid_is_case_insensitive)
{
  cr_assert_eq (resolved ("PARTUUID=" T_C2_PARTUUID), TFS_PARTUUID_ONLY);
  cr_assert_eq (resolved ("PARTUUID=A1B2C3D4-E5F6-4789-ABCD-EF0123456789"),
                TFS_PARTUUID_ONLY);
}

Test (resolve, by_uuid_path)
{
  cr_assert_eq (resolved ("/dev/disk/by-uuid/" T_DATA_UUID), TFS_DATA);
}

Test (resolve, by_label_path)
{
  cr_assert_eq (resolved ("/dev/disk/by-label/" T_DATA_LABEL), TFS_DATA);
}

Test (resolve, lv_by_appliance_name)
{
  cr_assert_eq (resolved ("/dev/mapper/vg-root"), TFS_LV);
}

Test (resolve, unknown_uuid_is_null)
{
  cr_assert_eq (resolved ("UUID=00000000-0000-4000-8000-000000000000"), -1);
}

Test (resolve, quoted_tag_values)
{
  cr_assert_eq (resolved ("UUID=\"" T_ROOT_UUID "\""), TFS_ROOT);
  cr_assert_eq (resolved ("LABEL='" T_ROOT_LABEL "'"), TFS_ROOT);
  cr_assert_eq (resolved ("PARTUUID=\"" T_C2_PARTUUID "\""),
                TFS_PARTUUID_ONLY);
  /* Unbalanced or mismatched quotes are not unquoted: no match. */
  cr_assert_eq (resolved ("UUID=\"" T_ROOT_UUID), -1);
  cr_assert_eq (resolved ("UUID=\"" T_ROOT_UUID "'"), -1);
  cr_assert_eq (resolved ("UUID=\""), -1);
}

Test (resolve, by_partuuid_path)
{
  cr_assert_eq (resolved ("/dev/disk/by-partuuid/" T_C2_PARTUUID),
                TFS_PARTUUID_ONLY);
  cr_assert_eq (resolved ("/dev/disk/by-partuuid/00000000-01"), -1);
}

Test (resolve, empty_tag_values_are_null)
{
  cr_assert_eq (resolved ("UUID="), -1);
  cr_assert_eq (resolved ("LABEL="), -1);
  cr_assert_eq (resolved ("PARTUUID="), -1);
}

Test (resolve, disk_not_migrated_is_null)
{
  /* Instance store: a position with no disk behind it. */
  cr_assert_eq (resolved ("/dev/nvme5n1"), -1);
  cr_assert_eq (resolved ("/dev/xvdz"), -1);
}

Test (resolve, partition_not_present_is_null)
{
  cr_assert_eq (resolved ("/dev/nvme0n1p3"), -1);
}

Test (resolve, whole_disk_spec_does_not_match_a_partition)
{
  /* Disk 0 holds only partitions: "/dev/xvda" is not its root. */
  cr_assert_eq (resolved ("/dev/xvda"), -1);
}

Test (resolve, malformed_paths_are_null)
{
  cr_assert_eq (resolved ("/dev/nvme0"), -1);
  cr_assert_eq (resolved ("/dev/xvd"), -1);
  cr_assert_eq (resolved ("/dev/sda1x"), -1);
  cr_assert_eq (resolved ("/dev/mapper/foo"), -1);
}

/* convert_internal_fstab_parse */

static const struct fstab_entry *
parse (const char *text)
{
  struct v2v_error err = { 0 };

  cr_assert_eq (convert_internal_fstab_parse (&guest, text, &err), 0,
                "%s", err.msg);
  return guest.fstab;
}

Test (fstab, fields_of_a_full_line)
{
  const struct fstab_entry *e =
    parse ("/dev/nvme0n1p1  /  ext4  defaults,discard  0 1\n");

  cr_assert_eq (guest.nr_fstab, 1);
  cr_assert_str_eq (e->spec, "/dev/nvme0n1p1");
  cr_assert_str_eq (e->file, "/");
  cr_assert_str_eq (e->vfstype, "ext4");
  cr_assert_str_eq (e->opts, "defaults,discard");
  cr_assert_str_eq (e->rest, "0 1");
  cr_assert_eq (e->line, 0);
  cr_assert_eq (e->fs, &guest.fs[TFS_ROOT]);
}

Test (fstab, tabs_separate_fields)
{
  const struct fstab_entry *e = parse ("LABEL=data\t/data\txfs\tnofail\t0\t2");

  cr_assert_eq (guest.nr_fstab, 1);
  cr_assert_str_eq (e->spec, "LABEL=data");
  cr_assert_str_eq (e->file, "/data");
  cr_assert_str_eq (e->opts, "nofail");
  cr_assert_str_eq (e->rest, "0\t2");
  cr_assert_eq (e->fs, &guest.fs[TFS_DATA]);
}

Test (fstab, comments_and_blank_lines_are_skipped)
{
  const struct fstab_entry *e =
    parse ("# /etc/fstab: static file system information.\n"
           "\n"
           "   # an indented comment\n"
           "\t\n"
           "UUID=" T_ROOT_UUID " / ext4 defaults 0 1\n");

  cr_assert_eq (guest.nr_fstab, 1);
  cr_assert_str_eq (e->file, "/");
}

Test (fstab, line_is_the_line_in_the_file)
{
  const struct fstab_entry *e =
    parse ("# comment\n"
           "\n"
           "/dev/xvda1 / ext4 defaults 0 1\n"
           "# another\n"
           "/dev/xvdb /data xfs defaults 0 2\n");

  cr_assert_eq (guest.nr_fstab, 2);
  cr_assert_eq (e[0].line, 2);
  cr_assert_eq (e[1].line, 4);
}

Test (fstab, short_lines_are_ignored)
{
  const struct fstab_entry *e =
    parse ("/dev/xvda1\n"
           "/dev/xvda1 /\n"
           "/dev/xvdb /data xfs\n");

  cr_assert_eq (guest.nr_fstab, 1);
  cr_assert_str_eq (e->spec, "/dev/xvdb");
  cr_assert_eq (e->line, 2);
}

Test (fstab, missing_options_default)
{
  const struct fstab_entry *e = parse ("tmpfs /tmp tmpfs\n");

  cr_assert_eq (guest.nr_fstab, 1);
  cr_assert_str_eq (e->opts, "defaults");
  cr_assert_str_eq (e->rest, "");
  cr_assert_null (e->fs);
}

Test (fstab, unresolved_device_has_no_fs)
{
  const struct fstab_entry *e =
    parse ("/dev/nvme5n1 /mnt/ephemeral ext4 nofail 0 2\n");

  cr_assert_eq (guest.nr_fstab, 1);
  cr_assert_null (e->fs);
}

Test (fstab, no_trailing_newline)
{
  const struct fstab_entry *e = parse ("/dev/xvdb /data xfs defaults 0 2");

  cr_assert_eq (guest.nr_fstab, 1);
  cr_assert_str_eq (e->rest, "0 2");
}

Test (fstab, empty_text_has_no_entries)
{
  parse ("");
  cr_assert_eq (guest.nr_fstab, 0);
}

Test (fstab, reparse_replaces_the_entries)
{
  parse ("/dev/xvda1 / ext4 defaults 0 1\n/dev/xvdb /data xfs defaults 0 2\n");
  const struct fstab_entry *e = parse ("/dev/xvdb /srv xfs defaults 0 2\n");

  cr_assert_eq (guest.nr_fstab, 1);
  cr_assert_str_eq (e->file, "/srv");
}

/* convert_internal_stable_spec */

static void
assert_stable (int fs, const char *expected)
{
  char *s = convert_internal_stable_spec (&guest.fs[fs]);

  if (expected == NULL)
    cr_assert_null (s, "got %s", s);
  else {
    cr_assert_not_null (s);
    cr_assert_str_eq (s, expected);
  }
  free (s);
}

Test (stable_spec, uuid_first)
{
  assert_stable (TFS_ROOT, "UUID=" T_ROOT_UUID);
}

Test (stable_spec, partuuid_without_uuid)
{
  assert_stable (TFS_PARTUUID_ONLY, "PARTUUID=" T_C2_PARTUUID);
}

Test (stable_spec, partuuid_before_label)
{
  free (guest.fs[TFS_ROOT].uuid);
  guest.fs[TFS_ROOT].uuid = NULL;
  assert_stable (TFS_ROOT, "PARTUUID=" T_ROOT_PARTUUID);
}

Test (stable_spec, label_last)
{
  assert_stable (TFS_LABEL_ONLY, "LABEL=" T_D1_LABEL);
}

Test (stable_spec, empty_uuid_counts_as_none)
{
  free (guest.fs[TFS_ROOT].uuid);
  guest.fs[TFS_ROOT].uuid = strdup ("");
  assert_stable (TFS_ROOT, "PARTUUID=" T_ROOT_PARTUUID);
}

Test (stable_spec, none_is_null)
{
  assert_stable (TFS_NOTHING, NULL);
}
