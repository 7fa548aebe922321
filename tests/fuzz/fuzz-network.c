/* libFuzzer target: the guest's network and time-source config, as
 * convert/netconf.c reads it.  Each input is one file, read as every
 * syntax in turn (ifupdown, netplan, networkd, NetworkManager keyfile,
 * ifcfg, wicked): the interface names found must all be valid NIC names.
 * Then the file is edited as the network and timesync steps edit theirs:
 * MAC pins commented out (ifcfg, keyfile, netplan match blocks) and
 * Amazon Time Sync lines recognised, and joined again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-guest.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Apply F to every line, as convert_internal_edit_lines does, and join. */
static void
edit (char **lines, char *(*f) (const char *line, void *opaque), void *opaque)
{
  for (size_t i = 0; lines[i]; i++) {
    char *nl = f (lines[i], opaque);

    if (nl) {
      free (lines[i]);
      lines[i] = nl;
    }
  }
  free (convert_internal_join_lines (lines));
}

static char **
split (const char *text, size_t size)
{
  return convert_internal_split_lines (text, size);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const unsigned kinds[] = { NET_IFUPDOWN, NET_NETPLAN, NET_NETWORKD,
                                    NET_NM_KEYFILE, NET_IFCFG, NET_WICKED };
  char *text = fuzz_string (data, size);
  char **lines, **names = NULL;
  bool *drop;
  size_t n = 0;

  if (text == NULL)
    return 0;
  lines = split (text, size);
  if (lines == NULL) {
    free (text);
    return 0;
  }
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    convert_internal_nic_names (lines, kinds[k], &names);
  for (size_t i = 0; names && names[i]; i++)
    if (!convert_internal_ifname_ok (names[i]))
      abort ();
  strv_free (names);

  for (; lines[n]; n++)
    (void) convert_internal_ec2_time_source (lines[n]);
  drop = calloc (n + 1, sizeof *drop);
  if (drop && convert_internal_netplan_mac_lines (lines, n, drop)) {
    struct convert_netplan_edit e = { drop, 0 };
    char **copy = split (text, size);

    if (copy) {
      edit (copy, convert_internal_netplan_line, &e);
      /* Every line was visited exactly once. */
      if (e.i != n)
        abort ();
      strv_free (copy);
    }
  }
  free (drop);
  edit (lines, convert_internal_unpin_ifcfg_line, NULL);
  edit (lines, convert_internal_unpin_nm_line, NULL);
  strv_free (lines);
  free (text);
  return 0;
}
