/* convert_internal_valid_kernel_version: kernel versions from guest file
 * names are passed to guest tools (update-initramfs -k VERSION) and built
 * into paths, so only plain version strings are accepted.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "linux/linux.h"

Test (kernel_version, debian)
{
  cr_assert (convert_internal_valid_kernel_version ("6.1.0-13-amd64"));
}

Test (kernel_version, rhel_and_suse)
{
  cr_assert (convert_internal_valid_kernel_version
             ("5.14.0-362.8.1.el9_3.x86_64"));
  cr_assert (convert_internal_valid_kernel_version ("5.14.21-150500.55.39-default"));
}

Test (kernel_version, plus_and_tilde)
{
  cr_assert (convert_internal_valid_kernel_version ("6.5.0+rc1~bpo12"));
}

Test (kernel_version, parent_directory)
{
  cr_assert_not (convert_internal_valid_kernel_version ("../../etc"));
  cr_assert_not (convert_internal_valid_kernel_version (".."));
}

Test (kernel_version, slash)
{
  cr_assert_not (convert_internal_valid_kernel_version ("6.1/evil"));
}

Test (kernel_version, space)
{
  cr_assert_not (convert_internal_valid_kernel_version ("6.1.0 -x"));
}

Test (kernel_version, semicolon_and_shell_characters)
{
  cr_assert_not (convert_internal_valid_kernel_version ("6.1;reboot"));
  cr_assert_not (convert_internal_valid_kernel_version ("6.1$(id)"));
  cr_assert_not (convert_internal_valid_kernel_version ("6.1`id`"));
  cr_assert_not (convert_internal_valid_kernel_version ("6.1|id"));
}

Test (kernel_version, leading_dash_is_an_option)
{
  cr_assert_not (convert_internal_valid_kernel_version ("-k"));
  cr_assert_not (convert_internal_valid_kernel_version ("--help"));
}

Test (kernel_version, leading_dot)
{
  cr_assert_not (convert_internal_valid_kernel_version (".hidden"));
}

Test (kernel_version, newline)
{
  cr_assert_not (convert_internal_valid_kernel_version ("6.1\n"));
}

Test (kernel_version, empty_and_null)
{
  cr_assert_not (convert_internal_valid_kernel_version (""));
  cr_assert_not (convert_internal_valid_kernel_version (NULL));
}

Test (kernel_version, length_limit)
{
  char v[130];

  memset (v, '1', 128);
  v[128] = '\0';
  cr_assert (convert_internal_valid_kernel_version (v));
  v[128] = '1';
  v[129] = '\0';
  cr_assert_not (convert_internal_valid_kernel_version (v));
}
