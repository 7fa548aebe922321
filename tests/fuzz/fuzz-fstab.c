/* libFuzzer target: /etc/fstab and /etc/crypttab from the guest
 * (convert/fsmap.c).  The whole file goes through
 * convert_internal_fstab_parse, as inspection does; then each line's
 * spec (fstab's first field, crypttab's second) goes through what the
 * fstab step does with it: convert_internal_is_device_path,
 * convert_internal_resolve_spec and convert_internal_stable_spec.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

static void
spec (const char *s)
{
  const struct guest_fs *fs;

  if (!convert_internal_is_device_path (s) && strchr (s, '=') == NULL)
    return;
  fs = convert_internal_resolve_spec (&fuzz_guest, s);
  if (fs)
    free (convert_internal_stable_spec (fs));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct v2v_error err = { 0 };
  char *text = fuzz_string (data, size);
  char **lines;

  if (text == NULL)
    return 0;
  convert_internal_fstab_parse (&fuzz_guest, text, &err);
  for (size_t i = 0; i < fuzz_guest.nr_fstab; i++)
    spec (fuzz_guest.fstab[i].spec);
  convert_internal_fstab_free (&fuzz_guest);

  lines = convert_internal_split_lines (text, size);
  for (size_t i = 0; lines && lines[i]; i++) {
    char name[256], dev[512];

    if (sscanf (lines[i], " %255s %511s", name, dev) == 2) {
      spec (name);
      spec (dev);
    }
    free (lines[i]);
  }
  free (lines);
  free (text);
  return 0;
}
