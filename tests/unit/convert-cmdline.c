/* convert_internal_fix_cmdline: root=/resume= EC2 device paths become
 * stable specs and the Xen console becomes ttyS0, in a bare command line
 * or in a config line holding one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "convert-testlib.h"

static struct guest guest;
static struct changelog changes;
static struct convert_ctx ctx = { .guest = &guest, .log = &changes };

static void
setup (void)
{
  memset (&guest, 0, sizeof guest);
  memset (&changes, 0, sizeof changes);
  test_guest_init (&guest);
}

static void
teardown (void)
{
  convert_internal_guest_free (&guest);
  convert_internal_changelog_free (&changes);
}

TestSuite (fix_cmdline, .init = setup, .fini = teardown);

static void
assert_fixed (const char *line, const char *expected)
{
  char *r = convert_internal_fix_cmdline (&ctx, line);

  cr_assert_not_null (r, "unchanged: %s", line);
  cr_assert_str_eq (r, expected);
  free (r);
}

static void
assert_unchanged (const char *line)
{
  char *r = convert_internal_fix_cmdline (&ctx, line);

  cr_assert_null (r, "changed to: %s", r);
}

Test (fix_cmdline, nitro_root)
{
  assert_fixed ("root=/dev/nvme0n1p1 ro",
                "root=UUID=" T_ROOT_UUID " ro");
}

Test (fix_cmdline, xen_root_in_a_grub_cfg_line)
{
  assert_fixed ("\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=/dev/xvda1 ro quiet",
                "\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=UUID=" T_ROOT_UUID
                " ro quiet");
}

Test (fix_cmdline, resume)
{
  assert_fixed ("root=UUID=" T_ROOT_UUID " resume=/dev/nvme0n1p2",
                "root=UUID=" T_ROOT_UUID " resume=UUID=" T_SWAP_UUID);
}

/* GUEST's device map for one test: "disk INDEX=NAME" entries. */
static struct convert_devmap *
with_map (const char *text)
{
  struct convert_devmap *m = convert_devmap_new ();
  struct v2v_error err = { 0 };

  cr_assert_eq (convert_devmap_parse (m, text, "test", &err), 0, "%s",
                err.msg);
  guest.devmap = m;
  return m;
}

Test (fix_cmdline, root_without_uuid_gets_partuuid)
{
  struct convert_devmap *m = with_map ("disk 2=/dev/sdc");

  assert_fixed ("root=/dev/sdc2", "root=PARTUUID=" T_C2_PARTUUID);
  convert_devmap_free (m);
}

Test (fix_cmdline, hvc0_becomes_ttys0)
{
  assert_fixed ("ro console=hvc0 quiet", "ro console=ttyS0,115200 quiet");
}

Test (fix_cmdline, xvc0_becomes_ttys0)
{
  assert_fixed ("console=xvc0", "console=ttyS0,115200");
}

Test (fix_cmdline, hvc0_with_speed_becomes_ttys0)
{
  assert_fixed ("console=hvc0,115200n8 ro", "console=ttyS0,115200 ro");
}

Test (fix_cmdline, hvc0_dropped_before_existing_ttys0)
{
  assert_fixed ("ro console=hvc0 console=ttyS0,115200",
                "ro console=ttyS0,115200");
}

Test (fix_cmdline, hvc0_dropped_after_existing_ttys0)
{
  assert_fixed ("console=ttyS0 ro console=hvc0", "console=ttyS0 ro");
}

Test (fix_cmdline, second_xen_console_dropped)
{
  assert_fixed ("console=hvc0 console=xvc0 ro", "console=ttyS0,115200 ro");
}

Test (fix_cmdline, root_and_console_in_grub_default)
{
  assert_fixed ("GRUB_CMDLINE_LINUX=\"root=/dev/nvme0n1p1 console=hvc0\"",
                "GRUB_CMDLINE_LINUX=\"root=UUID=" T_ROOT_UUID
                " console=ttyS0,115200\"");
}

Test (fix_cmdline, console_in_single_quotes)
{
  assert_fixed ("GRUB_CMDLINE_LINUX_DEFAULT='console=hvc0'",
                "GRUB_CMDLINE_LINUX_DEFAULT='console=ttyS0,115200'");
}

Test (fix_cmdline, unknown_device_left_alone)
{
  /* Not on any migrated disk: better a visible failure than a guess. */
  assert_unchanged ("root=/dev/nvme9n1p1 ro");
}

Test (fix_cmdline, device_without_stable_name_left_alone)
{
  struct convert_devmap *m = with_map ("disk 4=/dev/sde");

  assert_unchanged ("root=/dev/sde1 ro");
  cr_assert_eq (changes.nr_warnings, 0);
  convert_devmap_free (m);
}

Test (fix_cmdline, lv_left_alone)
{
  assert_unchanged ("root=/dev/mapper/vg-root ro");
}

Test (fix_cmdline, stable_specs_unchanged)
{
  assert_unchanged ("root=UUID=" T_ROOT_UUID " ro quiet console=ttyS0");
}

Test (fix_cmdline, no_kernel_arguments_unchanged)
{
  assert_unchanged ("set timeout=5");
  assert_unchanged ("");
}

Test (fix_cmdline, longer_key_is_not_root)
{
  assert_unchanged ("myroot=/dev/nvme0n1p1 xconsole=hvc0");
}

Test (fix_cmdline, many_root_arguments)
{
  /* Each rewrite makes the line longer: a hostile grub.cfg line must not
   * outgrow the output buffer.  */
  static const char arg[] = "root=/dev/xvda1 ";
  static const char fixed[] = "root=UUID=" T_ROOT_UUID " ";
  enum { N = 200 };
  char *line = malloc (N * (sizeof arg - 1) + 1);
  char *expected = malloc (N * (sizeof fixed - 1) + 1);

  cr_assert_not_null (line);
  cr_assert_not_null (expected);
  line[0] = expected[0] = '\0';
  for (int i = 0; i < N; i++) {
    strcat (line, arg);
    strcat (expected, fixed);
  }
  assert_fixed (line, expected);
  free (line);
  free (expected);
}

/* resume= on a data volume: placed through the device map, and left with
 * a warning where nothing places it. */
Test (fix_cmdline, resume_on_a_data_volume_through_the_map)
{
  struct convert_devmap *m = with_map ("disk 1=/dev/sdb");

  assert_fixed ("quiet resume=/dev/xvdb", "quiet resume=UUID=" T_DATA_UUID);
  cr_assert_eq (changes.nr_warnings, 0);
  convert_devmap_free (m);
}

Test (fix_cmdline, unplaced_resume_is_left_with_a_warning)
{
  assert_unchanged ("quiet resume=/dev/xvdb");
  cr_assert_eq (changes.nr_warnings, 1);
  cr_assert_str_eq (changes.warnings[0], "kernel command line: "
                    "resume=/dev/xvdb is on no disk being converted and no "
                    "device map names it; left as it is");
}
