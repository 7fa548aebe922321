/* Network and time-source config, as text.  These functions read lines
 * the guest wrote and decide what they mean: which interface names the
 * config is bound to, and which lines pin a NIC to the EC2 ENI's MAC
 * address or point at the Amazon Time Sync Service.  No appliance here:
 * inspect.c and linux/{network,timesync}.c read and write the files, and
 * tests/fuzz/fuzz-network.c feeds these functions directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool
convert_internal_ifname_ok (const char *s)
{
  if (*s == '\0' || strcmp (s, "lo") == 0 || strlen (s) > 15)
    return false;
  for (; *s; s++)
    if (!strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "0123456789_-.", *s))
      return false;
  return true;
}

static void
add_name (char ***names, const char *name)
{
  if (convert_internal_ifname_ok (name))
    (void) strv_add_unique (names, name);
}

/* Keys under a netplan interface id that are not interface ids. */
static bool
netplan_keyword (const char *name)
{
  static const char *const keys[] = {
    "match", "dhcp4", "dhcp6", "set-name", "addresses", "routes",
    "nameservers", "macaddress", "name", "optional", "dhcp4-overrides",
  };

  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (strcmp (name, keys[i]) == 0)
      return true;
  return false;
}

void
convert_internal_nic_names (char *const *lines, unsigned kind,
                            char ***names)
{
  int eth_indent = -1;          /* netplan: the "ethernets:" line's */

  for (size_t i = 0; lines[i]; i++) {
    char name[64];
    const char *l = lines[i];
    int indent = (int) strspn (l, " ");

    switch (kind) {
    case NET_IFUPDOWN:
      if (sscanf (l, " iface %63s inet", name) == 1 ||
          sscanf (l, " allow-hotplug %63s", name) == 1 ||
          sscanf (l, " auto %63s", name) == 1)
        add_name (names, name);
      break;
    case NET_NETPLAN:
      /* Keys one level under "ethernets:", and match/set-name values. */
      if (strncmp (l + indent, "ethernets:", 10) == 0) {
        eth_indent = indent;
        continue;
      }
      if (eth_indent >= 0 && indent <= eth_indent && l[indent])
        eth_indent = -1;
      if (eth_indent >= 0 && indent > eth_indent &&
          sscanf (l + indent, "%63[^:]:", name) == 1 &&
          convert_internal_ifname_ok (name) && !netplan_keyword (name))
        add_name (names, name);
      if (sscanf (l + indent, "set-name: %63s", name) == 1 ||
          sscanf (l + indent, "name: %63s", name) == 1)
        add_name (names, name);
      break;
    case NET_NETWORKD:
      if (sscanf (l, "Name=%63s", name) == 1)
        add_name (names, name);
      break;
    case NET_NM_KEYFILE:
      if (sscanf (l, "interface-name=%63s", name) == 1)
        add_name (names, name);
      break;
    case NET_IFCFG:
    case NET_WICKED:
      if (sscanf (l, "DEVICE=%63s", name) == 1) {
        char *q = name;
        if (*q == '"' || *q == '\'')
          q++;
        q[strcspn (q, "\"'")] = '\0';
        add_name (names, q);
      }
      break;
    }
  }
}

static char *
comment_out (const char *line, size_t indent, const char *why)
{
  char *out = NULL;

  if (asprintf (&out, "%.*s#%s  # v2v-kubevirt: %s", (int) indent, line,
                line + indent, why) < 0)
    return NULL;
  return out;
}

char *
convert_internal_unpin_ifcfg_line (const char *line, void *opaque)
{
  (void) opaque;
  if (strncmp (line, "HWADDR=", 7) == 0 || strncmp (line, "MACADDR=", 8) == 0)
    return comment_out (line, 0, "EC2 MAC");
  return NULL;
}

char *
convert_internal_unpin_nm_line (const char *line, void *opaque)
{
  (void) opaque;
  if (strncmp (line, "mac-address=", 12) == 0)
    return comment_out (line, 0, "EC2 MAC");
  return NULL;
}

static size_t
yaml_indent (const char *line)
{
  return strspn (line, " ");
}

/* Blank and comment lines do not end a YAML block. */
static bool
yaml_skip (const char *line)
{
  const char *t = line + yaml_indent (line);

  return *t == '\0' || *t == '#';
}

static bool
yaml_key_at (const char *line, size_t indent, const char *key)
{
  return yaml_indent (line) == indent &&
    strncmp (line + indent, key, strlen (key)) == 0;
}

/* Mark the set-name siblings (same INDENT) of the block at I..END. */
static void
drop_set_name (char *const *lines, size_t n, size_t i, size_t end,
               size_t indent, bool *drop)
{
  for (size_t j = i; j-- > 0 && (yaml_skip (lines[j]) ||
                                 yaml_indent (lines[j]) >= indent);)
    if (yaml_key_at (lines[j], indent, "set-name:"))
      drop[j] = true;
  for (size_t j = end; j < n && (yaml_skip (lines[j]) ||
                                 yaml_indent (lines[j]) >= indent); j++)
    if (yaml_key_at (lines[j], indent, "set-name:"))
      drop[j] = true;
}

bool
convert_internal_netplan_mac_lines (char *const *lines, size_t n, bool *drop)
{
  bool any = false;

  for (size_t i = 0; i < n; i++) {
    size_t ind = yaml_indent (lines[i]), end = i + 1;
    bool mac = strstr (lines[i], "macaddress") != NULL;

    if (strncmp (lines[i] + ind, "match:", 6) != 0)
      continue;
    for (; end < n && (yaml_skip (lines[end]) ||
                       yaml_indent (lines[end]) > ind); end++)
      mac |= strncmp (lines[end] + yaml_indent (lines[end]), "macaddress:",
                      11) == 0;
    if (!mac)
      continue;
    for (size_t j = i; j < end; j++)
      drop[j] = !yaml_skip (lines[j]);
    drop_set_name (lines, n, i, end, ind, drop);
    any = true;
  }
  return any;
}

char *
convert_internal_netplan_line (const char *line, void *opaque)
{
  struct convert_netplan_edit *e = opaque;

  if (!e->drop[e->i++])
    return NULL;
  return comment_out (line, yaml_indent (line), "EC2 MAC");
}

bool
convert_internal_time_source (const char *line)
{
  line += strspn (line, " \t");
  return strncmp (line, "server ", 7) == 0 ||
    strncmp (line, "pool ", 5) == 0 || strncmp (line, "peer ", 5) == 0;
}

bool
convert_internal_ec2_time_source (const char *line)
{
  return convert_internal_time_source (line) &&
    (strstr (line, "169.254.169.123") || strstr (line, "fd00:ec2::123"));
}
