/* convert/devmap.c: the device map and the placing of every EC2 device
 * name form through it, with and without a map.  No appliance.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "convert-testlib.h"

static struct convert_devmap *map;

static void
setup (void)
{
  map = convert_devmap_new ();
  cr_assert_not_null (map);
}

static void
teardown (void)
{
  convert_devmap_free (map);
}

TestSuite (ident);
TestSuite (place, .init = setup, .fini = teardown);
TestSuite (mapargs, .init = setup, .fini = teardown);

static void
add_disk (const char *arg)
{
  struct v2v_error err = { 0 };

  cr_assert_eq (convert_devmap_add_disk (map, arg, &err), 0, "%s: %s", arg,
                err.msg);
}

/* Where SPEC is placed with MAP (or none), the root volume on disk 0:
 * "disk D part P", "ephemeral N", "unplaced" or "not-ec2". */
static const char *
where (const struct convert_devmap *m, const char *spec)
{
  static char buf[64];
  struct convert_placement pl;

  switch (convert_internal_devmap_place (m, 0, spec, &pl)) {
  case PLACE_DISK:
    snprintf (buf, sizeof buf, "disk %d part %d", pl.disk, pl.part);
    return buf;
  case PLACE_EPHEMERAL:
    snprintf (buf, sizeof buf, "ephemeral %d part %d", pl.ephemeral, pl.part);
    return buf;
  case PLACE_UNPLACED: return "unplaced";
  case PLACE_NOT_EC2: return "not-ec2";
  }
  return "?";
}

#define cr_assert_where(m, spec, want) \
  cr_assert_str_eq (where ((m), (spec)), (want), "%s", (spec))

/* convert_internal_devmap_ident: what a name says by itself. */

Test (ident, letters_and_two_letters)
{
  struct devmap_ident id;

  cr_assert_eq (convert_internal_devmap_ident ("/dev/xvdf", &id), IDENT_LETTER);
  cr_assert_eq (id.letter, 5);
  cr_assert_eq (id.part, 0);
  cr_assert_eq (convert_internal_devmap_ident ("/dev/xvdba3", &id),
                IDENT_LETTER);
  cr_assert_eq (id.letter, 2 * 26 + 0);   /* ba: after z and az */
  cr_assert_eq (id.part, 3);
  cr_assert_eq (convert_internal_devmap_ident ("/dev/sdf", &id), IDENT_LETTER);
  cr_assert_eq (id.letter, 5);
}

Test (ident, ebs_by_id_with_volume_id)
{
  struct devmap_ident id;

  cr_assert_eq (convert_internal_devmap_ident
                ("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"
                 "vol0123456789abcdef0", &id), IDENT_VOLUME);
  cr_assert_str_eq (id.volume, "vol-0123456789abcdef0");
  cr_assert_eq (id.part, 0);
  cr_assert_eq (convert_internal_devmap_ident
                ("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"
                 "vol0ABC_1-part2", &id), IDENT_VOLUME);
  cr_assert_str_eq (id.volume, "vol-0abc");
  cr_assert_eq (id.part, 2);
}

Test (ident, xen_by_path_is_the_xvd_letter)
{
  struct devmap_ident id;

  /* 51792 = 202 << 8 | 5 << 4: xvdf. */
  cr_assert_eq (convert_internal_devmap_ident
                ("/dev/disk/by-path/xen-vbd-51792", &id), IDENT_LETTER);
  cr_assert_eq (id.letter, 5);
  cr_assert_eq (convert_internal_devmap_ident
                ("/dev/disk/by-path/xen-vbd-51713", &id), IDENT_LETTER);
  cr_assert_eq (id.letter, 0);
  cr_assert_eq (id.part, 1);
  cr_assert_eq (convert_internal_devmap_ident
                ("/dev/disk/by-path/xen-vbd-51712-part1", &id), IDENT_LETTER);
  cr_assert_eq (id.part, 1);
  /* Beyond xvdp: (1 << 28) | disk << 8 | part; xvdba is disk 52. */
  cr_assert_eq (convert_internal_devmap_ident
                ("/dev/disk/by-path/xen-vbd-268448770", &id), IDENT_LETTER);
  cr_assert_eq (id.letter, 52);
  cr_assert_eq (id.part, 2);
}

Test (ident, pci_by_path_is_a_position)
{
  struct devmap_ident id;

  cr_assert_eq (convert_internal_devmap_ident
                ("/dev/disk/by-path/pci-0000:00:1f.0-nvme-1", &id),
                IDENT_POSITION);
}

Test (ident, not_ec2_names)
{
  struct devmap_ident id;
  static const char *const specs[] = {
    "UUID=0b5e7c2a-3f4d-4e1a-9c8b-1d2e3f4a5b6c", "LABEL=data",
    "/dev/mapper/vg-root", "/dev/vg/swap", "/dev/disk/by-uuid/x",
    "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_volXYZ",
    "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0abc-part0",
    "/dev/disk/by-path/xen-vbd-", "/dev/disk/by-path/", "/dev/nvme0n1p0",
    "/dev/xvda0", "/dev/xvdA", "tmpfs", "",
  };

  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
    cr_assert_eq (convert_internal_devmap_ident (specs[i], &id), IDENT_NONE,
                  "%s", specs[i]);
}

/* Without a map: only the root volume's names are placed. */

Test (place, without_map_root_volume_names)
{
  cr_assert_where (NULL, "/dev/xvda1", "disk 0 part 1");
  cr_assert_where (NULL, "/dev/sda1", "disk 0 part 1");
  cr_assert_where (NULL, "/dev/xvda", "disk 0 part 0");
  cr_assert_where (NULL, "/dev/nvme0n1p15", "disk 0 part 15");
  cr_assert_where (NULL, "/dev/disk/by-path/xen-vbd-51713", "disk 0 part 1");
}

Test (place, without_map_root_volume_on_another_disk)
{
  struct convert_placement pl;

  cr_assert_eq (convert_internal_devmap_place (NULL, 2, "/dev/xvda1", &pl),
                PLACE_DISK);
  cr_assert_eq (pl.disk, 2);
  cr_assert_eq (convert_internal_devmap_place (NULL, -1, "/dev/xvda1", &pl),
                PLACE_UNPLACED);
}

Test (place, without_map_data_volumes_are_never_guessed)
{
  static const char *const specs[] = {
    "/dev/xvdb", "/dev/xvdf", "/dev/sdf", "/dev/sdf1", "/dev/xvdba",
    "/dev/nvme1n1", "/dev/nvme1n1p1",
    "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0abc",
    "/dev/disk/by-path/xen-vbd-51792",
    "/dev/disk/by-path/pci-0000:00:1f.0-nvme-1",
  };

  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
    cr_assert_where (NULL, specs[i], "unplaced");
}

Test (place, not_ec2_names_are_left_to_fsmap)
{
  cr_assert_where (NULL, "UUID=abc", "not-ec2");
  cr_assert_where (NULL, "/dev/mapper/vg-root", "not-ec2");
}

/* With a map. */

Test (place, sd_and_xvd_are_aliases)
{
  add_disk ("1=/dev/sdf");
  add_disk ("2=xvdg");
  cr_assert_where (map, "/dev/xvdf", "disk 1 part 0");
  cr_assert_where (map, "/dev/sdf", "disk 1 part 0");
  cr_assert_where (map, "/dev/xvdf2", "disk 1 part 2");
  cr_assert_where (map, "/dev/sdg1", "disk 2 part 1");
  cr_assert_where (map, "/dev/disk/by-path/xen-vbd-51792", "disk 1 part 0");
  cr_assert_where (map, "/dev/xvdh", "unplaced");
}

Test (place, two_letter_names)
{
  add_disk ("3=/dev/xvdba");
  cr_assert_where (map, "/dev/xvdba", "disk 3 part 0");
  cr_assert_where (map, "/dev/sdba1", "disk 3 part 1");
  cr_assert_where (map, "/dev/xvdb", "unplaced");
  cr_assert_where (map, "/dev/xvdaa", "unplaced");
}

Test (place, volume_ids_by_id)
{
  add_disk ("1=/dev/sdf,vol-0123456789abcdef0");
  cr_assert_where (map, "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"
                   "vol0123456789abcdef0", "disk 1 part 0");
  cr_assert_where (map, "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"
                   "vol0123456789abcdef0_1-part1", "disk 1 part 1");
  cr_assert_where (map, "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"
                   "vol0123456789abcdef1", "unplaced");
}

Test (place, nvme_by_index_only_where_named)
{
  add_disk ("1=/dev/sdf,vol-0abc");
  /* nvme1n1 is enumeration order on Nitro, not the device name. */
  cr_assert_where (map, "/dev/nvme1n1", "unplaced");
  cr_assert_where (map, "/dev/nvme0n1p1", "disk 0 part 1");
  convert_devmap_free (map);
  map = convert_devmap_new ();
  add_disk ("2=/dev/nvme1n1");
  cr_assert_where (map, "/dev/nvme1n1p3", "disk 2 part 3");
}

Test (place, map_overrides_the_root_rule)
{
  add_disk ("1=/dev/xvda");
  cr_assert_where (map, "/dev/xvda1", "disk 1 part 1");
}

Test (place, instance_store_only_where_the_map_says_so)
{
  add_disk ("1=/dev/xvdf");
  add_disk ("2=ephemeral0,/dev/xvdb");
  cr_assert_where (map, "/dev/xvdb", "ephemeral 0 part 0");
  cr_assert_where (map, "/dev/sdb", "ephemeral 0 part 0");
  cr_assert_where (map, "/dev/xvdc", "unplaced");
  cr_assert_where (map, "/dev/xvdf", "disk 1 part 0");
}

Test (place, pci_by_path_stays_unplaced_with_a_map)
{
  /* A PCI slot is attach order: no map entry names one. */
  add_disk ("1=/dev/sdf,vol-0123456789abcdef0");
  add_disk ("2=/dev/nvme2n1");
  cr_assert_where (map, "/dev/disk/by-path/pci-0000:00:1f.0-nvme-1",
                   "unplaced");
  cr_assert_where (map, "/dev/disk/by-path/pci-0000:00:1f.0-nvme-1-part1",
                   "unplaced");
}

Test (place, instance_store_without_a_device_name_places_nothing)
{
  /* The orchestrator's entry when the AMI no longer says which name
   * ephemeral0 had: the guest's /dev/xvdb stays unplaced (nofail).
   */
  add_disk ("2=ephemeral0");
  cr_assert_where (map, "/dev/xvdb", "unplaced");
  cr_assert_where (map, "/dev/xvda1", "disk 0 part 1");
}

Test (place, the_orchestrators_map_text)
{
  /* As orch_render_device_map writes it for a Xen instance: every form
   * of the guest's names for each volume lands on the same disk.
   */
  struct v2v_error err = { 0 };

  cr_assert_eq (convert_devmap_parse (map,
                                      "disk 0=/dev/sda,vol-0aaaaaaaaaaaaaaaa\n"
                                      "disk 1=/dev/xvdf,vol-0bbbbbbbbbbbbbbbb\n"
                                      "disk 2=ephemeral0,/dev/sdb\n"
                                      "nic 0=0a:5e:c2:04:22:04\n",
                                      "V2V_DEVICE_MAP", &err), 0, "%s",
                err.msg);
  cr_assert_where (map, "/dev/xvda1", "disk 0 part 1");
  cr_assert_where (map, "/dev/sdf", "disk 1 part 0");
  cr_assert_where (map, "/dev/disk/by-path/xen-vbd-51792", "disk 1 part 0");
  cr_assert_where (map, "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"
                   "vol0bbbbbbbbbbbbbbbb-part1", "disk 1 part 1");
  cr_assert_where (map, "/dev/xvdb", "ephemeral 0 part 0");
  cr_assert_where (map, "/dev/xvdg", "unplaced");
}

/* Arguments: every error names the entry. */

static void
bad_disk (const char *arg, const char *msg)
{
  struct v2v_error err = { 0 };

  cr_assert_eq (convert_devmap_add_disk (map, arg, &err), -EINVAL, "%s", arg);
  cr_assert (strstr (err.msg, msg) != NULL, "%s: %s", arg, err.msg);
}

Test (mapargs, bad_disk_names)
{
  bad_disk ("xvdf", "expected INDEX=NAME");
  bad_disk ("1=", "expected INDEX=NAME");
  bad_disk ("-1=/dev/xvdf", "expected INDEX=NAME");
  bad_disk ("1=/dev/xvdf1", "'/dev/xvdf1' is not an EC2 device name");
  bad_disk ("1=vol0abc", "'vol0abc' is not");
  bad_disk ("1=ephemeral", "'ephemeral' is not");
  bad_disk ("1=ephemeral0,vol-0abc", "has no volume id");
}

Test (mapargs, duplicates)
{
  add_disk ("1=/dev/sdf");
  bad_disk ("1=/dev/sdg", "disk 1 is named twice");
  bad_disk ("2=/dev/xvdf", "disk 1 has that name already");
}

Test (mapargs, nics_in_device_index_order)
{
  struct v2v_error err = { 0 };

  cr_assert_eq (convert_devmap_add_nic (map, "1=0A:5E:C2:04:22:05", &err), 0);
  cr_assert_eq (convert_devmap_add_nic (map, "0=0a-5e-c2-04-22-04", &err), 0);
  cr_assert_eq (map->nr_nics, 2);
  cr_assert_eq (map->nics[0].index, 0);
  cr_assert_str_eq (map->nics[0].mac, "0a:5e:c2:04:22:04");
  cr_assert_str_eq (map->nics[1].mac, "0a:5e:c2:04:22:05");
  cr_assert_eq (convert_devmap_add_nic (map, "2=0a:5e:c2:04:22:05", &err),
                -EINVAL);
  cr_assert (strstr (err.msg, "given twice"));
  cr_assert_eq (convert_devmap_add_nic (map, "3=0a:5e:c2:04:22", &err),
                -EINVAL);
  cr_assert (strstr (err.msg, "NIC '3=0a:5e:c2:04:22': expected INDEX=MAC"));
}

Test (mapargs, map_text)
{
  struct v2v_error err = { 0 };

  cr_assert_eq (convert_devmap_parse (map,
                                      "# from the orchestrator\n"
                                      "disk 0=/dev/xvda,vol-0aaa\n"
                                      "  disk 1=/dev/sdf,vol-0bbb  # data\n"
                                      "\n"
                                      "nic 0=0a:00:00:00:00:01;"
                                      "nic 1=0a:00:00:00:00:02", "test",
                                      &err), 0, "%s", err.msg);
  cr_assert_eq (map->nr_disks, 2);
  cr_assert_eq (map->nr_nics, 2);
  cr_assert_where (map, "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"
                   "vol0bbb", "disk 1 part 0");
}

Test (mapargs, map_text_errors_name_the_entry)
{
  struct v2v_error err = { 0 };

  cr_assert_eq (convert_devmap_parse (map, "disk 0=/dev/xvda\nvolume 1=x\n",
                                      "map.txt", &err), -EINVAL);
  cr_assert_str_eq (err.msg, "map.txt: entry 2: unknown kind 'volume' "
                    "(disk or nic)");
  cr_assert_eq (convert_devmap_parse (map, "disk 1=/dev/xvdf extra",
                                      "map.txt", &err), -EINVAL);
  cr_assert (strstr (err.msg, "map.txt: entry 1: expected"));
  cr_assert_eq (convert_devmap_parse (map, "disk 1=/dev/xvdf1", "map.txt",
                                      &err), -EINVAL);
  cr_assert (strncmp (err.msg, "map.txt: entry 1: disk name '1=/dev/xvdf1'",
                      41) == 0, "%s", err.msg);
}

Test (mapargs, check_against_the_disks_given)
{
  struct v2v_error err = { 0 };

  add_disk ("1=/dev/xvdf");
  add_disk ("2=ephemeral0,/dev/xvdb");
  cr_assert_eq (convert_devmap_check (map, 2, &err), 0, "%s", err.msg);
  cr_assert_eq (convert_devmap_check (NULL, 1, &err), 0);
  cr_assert_eq (convert_devmap_check (map, 1, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "device map: disk 1 is named, but there is 1 "
                    "disk (from 0): give its disk too, or drop the name");
  cr_assert_eq (convert_devmap_check (map, 3, &err), -EINVAL);
  cr_assert_str_eq (err.msg, "device map: disk 2 is given to the conversion, "
                    "but the map calls it instance store (ephemeral0), which "
                    "is never migrated");
}
