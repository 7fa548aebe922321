/* libFuzzer target: cloud-init configuration fragments
 * (/etc/cloud/cloud.cfg and the files in cloud.cfg.d).  The project does not
 * parse their YAML; it reads datasource_list with
 * convert_internal_datasource_list and edits words and lines with the
 * text helpers (convert/text.c), which are what is fuzzed here.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *
as_string (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);

  if (s) {
    memcpy (s, data, size);
    s[size] = '\0';
  }
  return s;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = as_string (data, size);
  char **lines;

  if (text == NULL)
    return 0;
  free (convert_internal_datasource_list (text));
  free (convert_internal_replace_word (text, "Ec2", "NoCloud"));
  free (convert_internal_replace_word (text, "hvc0", "ttyS0"));
  lines = convert_internal_split_lines (text, size);
  if (lines) {
    free (convert_internal_join_lines (lines));
    for (size_t i = 0; lines[i]; i++)
      free (lines[i]);
    free (lines);
  }
  free (text);
  return 0;
}
