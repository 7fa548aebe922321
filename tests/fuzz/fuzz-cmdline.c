/* libFuzzer target: kernel command lines in guest files -- grub's
 * defaults (/etc/default/grub, SUSE's /etc/sysconfig/bootloader), BLS
 * entries' "options" lines, grub.cfg "linux" lines, /etc/kernel/cmdline.
 * The file is split into lines and each one rewritten by
 * convert_internal_fix_cmdline, then joined again, as
 * convert_internal_edit_lines does with the bootloader step's callbacks.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz-guest.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  fuzz_guest_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_string (data, size);
  char **lines;

  if (text == NULL)
    return 0;
  lines = convert_internal_split_lines (text, size);
  for (size_t i = 0; lines && lines[i]; i++) {
    char *fixed = convert_internal_fix_cmdline (&fuzz_ctx, lines[i]);

    if (fixed) {
      free (lines[i]);
      lines[i] = fixed;
    }
  }
  if (lines) {
    free (convert_internal_join_lines (lines));
    for (size_t i = 0; lines[i]; i++)
      free (lines[i]);
    free (lines);
  }
  fuzz_log_reset ();
  free (text);
  return 0;
}
