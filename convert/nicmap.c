/* NICs: which MAC each configured interface is pinned to, which ones
 * have a static IPv4 address, the EC2 name of each NIC of the VM, and
 * the text edits that make a static NIC use DHCP.  Pure functions on the
 * lines of one config file; linux/network.c reads and writes the files.
 *
 * On EC2 every ENI has its own MAC, and the VM keeps them (the
 * orchestrator renders each interface's macAddress, in device-index
 * order), so a MAC tells the NICs apart where the driver cannot: with
 * two virtio NICs, a .link matching Driver=virtio_net would give both
 * the same name.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static size_t
indent_of (const char *l)
{
  return strspn (l, " ");
}

static bool
blank_or_comment (const char *l)
{
  const char *t = l + strspn (l, " \t");

  return *t == '\0' || *t == '#';
}

/* VALUE after "KEY=" in L (ifcfg, keyfile, networkd syntax), unquoted,
 * into BUF; NULL if L is not that key. */
static const char *
key_value (const char *l, const char *key, char *buf, size_t len)
{
  size_t kl = strlen (key);

  l += strspn (l, " \t");
  if (strncmp (l, key, kl) != 0 || l[kl] != '=')
    return NULL;
  l += kl + 1;
  if (*l == '"' || *l == '\'')
    l++;
  snprintf (buf, len, "%s", l);
  buf[strcspn (buf, "\"' \t\r")] = '\0';
  return buf;
}

static void
pin_add (struct nic_pin **pins, size_t *n, const char *name, const char *mac)
{
  char norm[18];

  if (!convert_internal_ifname_ok (name) ||
      !convert_internal_mac_normalize (mac, norm))
    return;
  for (size_t i = 0; i < *n; i++)
    if (strcmp ((*pins)[i].mac, norm) == 0)
      return;
  struct nic_pin *v = realloc (*pins, (*n + 1) * sizeof *v);
  if (v == NULL)
    return;
  *pins = v;
  snprintf (v[*n].name, sizeof v[*n].name, "%s", name);
  memcpy (v[*n].mac, norm, sizeof norm);
  (*n)++;
}

/* netplan: each interface id under "ethernets:", its set-name and the
 * macaddress of its match block.  CB is called once per interface id
 * block with its name (set-name if any), MAC ("" if none), whether it
 * has addresses and whether dhcp4 is true. */
struct netplan_iface {
  char id[64], set_name[64], mac[64];
  bool addresses, dhcp4;
};

static void
netplan_ifaces (char *const *lines,
                void (*cb) (const struct netplan_iface *, void *),
                void *opaque)
{
  int eth = -1, id_ind = -1, match_ind = -1;
  struct netplan_iface cur;

  memset (&cur, 0, sizeof cur);

  for (size_t i = 0;; i++) {
    const char *l = lines[i];
    int ind = l ? (int) indent_of (l) : -1;
    char v[64];

    if (l && blank_or_comment (l))
      continue;
    /* The end of an interface block: another id, or out of ethernets. */
    if (cur.id[0] && (l == NULL || ind <= id_ind)) {
      cb (&cur, opaque);
      memset (&cur, 0, sizeof cur);
    }
    if (l == NULL)
      break;
    if (strncmp (l + ind, "ethernets:", 10) == 0) {
      eth = ind, id_ind = -1;
      continue;
    }
    if (eth >= 0 && ind <= eth)
      eth = -1;
    if (eth < 0)
      continue;
    if (id_ind < 0)
      id_ind = ind;
    if (ind == id_ind) {
      if (sscanf (l + ind, "%63[^:]:", cur.id) != 1)
        cur.id[0] = '\0';
      match_ind = -1;
      continue;
    }
    if (match_ind >= 0 && ind <= match_ind)
      match_ind = -1;
    if (strncmp (l + ind, "match:", 6) == 0)
      match_ind = ind;
    else if (match_ind >= 0 && sscanf (l + ind, "macaddress: %63s", v) == 1)
      snprintf (cur.mac, sizeof cur.mac, "%s", v + (v[0] == '"' || v[0] == '\''));
    else if (sscanf (l + ind, "set-name: %63s", v) == 1)
      snprintf (cur.set_name, sizeof cur.set_name, "%s", v);
    else if (strncmp (l + ind, "addresses:", 10) == 0)
      cur.addresses = true;
    else if (sscanf (l + ind, "dhcp4: %63s", v) == 1)
      cur.dhcp4 = strcmp (v, "true") == 0 || strcmp (v, "yes") == 0;
  }
}

struct pins_out { struct nic_pin **pins; size_t *n; char ***statics; };

static void
netplan_pin_cb (const struct netplan_iface *f, void *opaque)
{
  struct pins_out *o = opaque;
  const char *name = f->set_name[0] ? f->set_name : f->id;
  char mac[64];

  /* A static address is reported by interface id, which is what
   * convert_internal_dhcp_text matches. */
  if (o->statics && f->addresses && !f->dhcp4 &&
      convert_internal_ifname_ok (f->id))
    (void) strv_add_unique (o->statics, f->id);

  snprintf (mac, sizeof mac, "%s", f->mac);
  mac[strcspn (mac, "\"'")] = '\0';
  if (o->pins && mac[0])
    pin_add (o->pins, o->n, name, mac);
}

/* The keys that name an interface and pin its MAC, per stack whose
 * files are KEY=VALUE lines (netplan's YAML and ifupdown are read
 * apart).
 */
static const struct nic_keys {
  unsigned kind;
  const char *name, *mac;
} nic_keys[] = {
  { NET_IFCFG, "DEVICE", "HWADDR" },
  { NET_WICKED, "DEVICE", "HWADDR" },
  { NET_NM_KEYFILE, "interface-name", "mac-address" },
  { NET_NETWORKD, "Name", "MACAddress" },
};

static const struct nic_keys *
nic_keys_of (unsigned kind)
{
  for (size_t i = 0; i < sizeof nic_keys / sizeof nic_keys[0]; i++)
    if (nic_keys[i].kind == kind)
      return &nic_keys[i];
  return NULL;
}

void
convert_internal_nic_pins (char *const *lines, unsigned kind,
                           const char *name_hint, struct nic_pin **pins,
                           size_t *n)
{
  char name[64] = "", mac[64] = "", buf[64];
  const struct nic_keys *keys;

  if (name_hint)
    snprintf (name, sizeof name, "%s", name_hint);
  if (kind == NET_NETPLAN) {
    struct pins_out o = { pins, n, NULL };
    netplan_ifaces (lines, netplan_pin_cb, &o);
    return;
  }
  keys = nic_keys_of (kind);
  if (keys == NULL)
    return;
  for (size_t i = 0; lines[i]; i++) {
    if (key_value (lines[i], keys->name, buf, sizeof buf))
      snprintf (name, sizeof name, "%s", buf);
    if (key_value (lines[i], keys->mac, buf, sizeof buf))
      snprintf (mac, sizeof mac, "%s", buf);
  }
  if (name[0] && mac[0])
    pin_add (pins, n, name, mac);
}

void
convert_internal_nic_static (char *const *lines, unsigned kind,
                             const char *name_hint, char ***names)
{
  char name[64] = "", buf[64];
  bool is_static = false, has_addr = false, in_ipv4 = false;
  const struct nic_keys *keys = nic_keys_of (kind);

  if (name_hint)
    snprintf (name, sizeof name, "%s", name_hint);
  if (kind == NET_NETPLAN) {
    struct pins_out o = { NULL, NULL, names };
    netplan_ifaces (lines, netplan_pin_cb, &o);
    return;
  }
  for (size_t i = 0; lines[i]; i++) {
    const char *l = lines[i];
    if (keys && key_value (l, keys->name, buf, sizeof buf))
      snprintf (name, sizeof name, "%s", buf);
    switch (kind) {
    case NET_IFUPDOWN:
      if (sscanf (l, " iface %63s inet static", buf) == 1 &&
          strstr (l, " static") && convert_internal_ifname_ok (buf))
        (void) strv_add_unique (names, buf);
      break;
    case NET_IFCFG: case NET_WICKED:
      if (key_value (l, "BOOTPROTO", buf, sizeof buf))
        is_static = strcmp (buf, "none") == 0 || strcmp (buf, "static") == 0;
      if (key_value (l, "IPADDR", buf, sizeof buf) ||
          key_value (l, "IPADDR0", buf, sizeof buf))
        has_addr = true;
      break;
    case NET_NM_KEYFILE:
      if (l[0] == '[')
        in_ipv4 = strncmp (l, "[ipv4]", 6) == 0;
      if (in_ipv4 && key_value (l, "method", buf, sizeof buf))
        is_static = has_addr = strcmp (buf, "manual") == 0;
      break;
    case NET_NETWORKD:
      if (key_value (l, "Address", buf, sizeof buf) && strchr (buf, '.'))
        is_static = has_addr = true;
      break;
    default:
      return;
    }
  }
  if (is_static && has_addr && convert_internal_ifname_ok (name))
    (void) strv_add_unique (names, name);
}

const char *
convert_internal_ec2_nic_name (char *const *configured, int index,
                               char *buf, size_t len)
{
  /* The guest's own scheme: eth0, eth1 on Xen and with net.ifnames=0;
   * ens5, ens6 on Nitro (ENA device index N sits in PCI slot 5 + N). */
  for (size_t i = 0; configured && configured[i]; i++) {
    const char *p = configured[i];
    if (strncmp (p, "eth", 3) == 0 && isdigit ((unsigned char) p[3])) {
      snprintf (buf, len, "eth%d", index);
      return buf;
    }
    if (strncmp (p, "ens", 3) == 0 && isdigit ((unsigned char) p[3])) {
      snprintf (buf, len, "ens%d", 5 + index);
      return buf;
    }
  }
  if (index == 0 && configured && configured[0]) {
    snprintf (buf, len, "%s", configured[0]);
    return buf;
  }
  return NULL;
}

/* --network=dhcp: one file's text with its static IPv4 config for NAME
 * switched to DHCP.  Returns a new text (caller frees), or NULL if there
 * is nothing to change.  The addresses are commented out, not deleted,
 * so that the backup is not the only record of them.
 */
static char *
append (char *out, size_t *n, const char *s)
{
  size_t l = strlen (s);
  char *v;

  if (out == NULL)
    return NULL;
  v = realloc (out, *n + l + 2);
  if (v == NULL) {
    free (out);
    return NULL;
  }
  memcpy (v + *n, s, l);
  v[*n + l] = '\n';
  *n += l + 1;
  v[*n] = '\0';
  return v;
}

#define DHCP_NOTE "  # v2v-kubevirt: static address, DHCP on the pod network"

static char *
commented (const char *l)
{
  char *c = NULL;
  size_t ind = strspn (l, " \t");

  if (asprintf (&c, "%.*s#%s" DHCP_NOTE, (int) ind, l, l + ind) < 0)
    return NULL;
  return c;
}

char *
convert_internal_dhcp_text (char *const *lines, unsigned kind,
                            const char *name)
{
  char *out = calloc (1, 1);
  size_t n = 0;
  bool changed = false, in_stanza = false, in_iface = false,
    in_ipv4 = false, dhcp_added = false;
  int id_ind = -1, eth = -1, block_ind = -1;
  char buf[128];

  for (size_t i = 0; lines[i] && out; i++) {
    const char *l = lines[i];
    CLEANUP_FREE char *repl = NULL;

    switch (kind) {
    case NET_IFUPDOWN: {
      char ifname[64];
      /* A stanza ends at the next line that starts in column 0. */
      if (sscanf (l, " %63s", ifname) == 1 && !isspace ((unsigned char) l[0]))
        in_stanza = false;
      if (sscanf (l, " iface %63s inet static", ifname) == 1 &&
          strcmp (ifname, name) == 0 && strstr (l, " static")) {
        in_stanza = true;
        repl = convert_internal_replace_word (l, "static", "dhcp");
      }
      else if (in_stanza && isspace ((unsigned char) l[0]) &&
               (sscanf (l, " address %127s", buf) == 1 ||
                sscanf (l, " netmask %127s", buf) == 1 ||
                sscanf (l, " gateway %127s", buf) == 1 ||
                sscanf (l, " broadcast %127s", buf) == 1))
        repl = commented (l);
      break;
    }
    case NET_IFCFG: case NET_WICKED:
      if (key_value (l, "BOOTPROTO", buf, sizeof buf))
        repl = strdup ("BOOTPROTO=dhcp");
      else if (strncmp (l, "IPADDR", 6) == 0 || strncmp (l, "NETMASK", 7) == 0 ||
               strncmp (l, "PREFIX", 6) == 0 || strncmp (l, "GATEWAY", 7) == 0)
        repl = commented (l);
      break;
    case NET_NM_KEYFILE:
      if (l[0] == '[')
        in_ipv4 = strncmp (l, "[ipv4]", 6) == 0;
      if (in_ipv4 && key_value (l, "method", buf, sizeof buf) &&
          strcmp (buf, "manual") == 0)
        repl = strdup ("method=auto");
      else if (in_ipv4 && (strncmp (l, "address", 7) == 0 ||
                           strncmp (l, "gateway=", 8) == 0))
        repl = commented (l);
      break;
    case NET_NETWORKD:
      if ((key_value (l, "Address", buf, sizeof buf) ||
           key_value (l, "Gateway", buf, sizeof buf)) && strchr (buf, '.'))
        repl = commented (l);
      else if (strncmp (l, "[Network]", 9) == 0 && !dhcp_added) {
        out = append (out, &n, l);
        repl = strdup ("DHCP=ipv4" DHCP_NOTE);
        dhcp_added = true;
        l = NULL;
      }
      break;
    case NET_NETPLAN: {
      int ind = (int) indent_of (l);
      if (blank_or_comment (l))
        break;
      if (strncmp (l + ind, "ethernets:", 10) == 0) {
        eth = ind, id_ind = -1;
        break;
      }
      if (eth >= 0 && ind <= eth)
        eth = -1, in_iface = false;
      if (eth < 0)
        break;
      if (id_ind < 0)
        id_ind = ind;
      if (ind == id_ind) {
        char id[64];
        in_iface = sscanf (l + ind, "%63[^:]:", id) == 1 &&
          strcmp (id, name) == 0;
        block_ind = -1;
        break;
      }
      if (!in_iface)
        break;
      if (block_ind >= 0 && ind > block_ind) {
        repl = commented (l);
        break;
      }
      block_ind = -1;
      if (strncmp (l + ind, "addresses:", 10) == 0 ||
          strncmp (l + ind, "gateway4:", 9) == 0) {
        if (strncmp (l + ind, "addresses:", 10) == 0)
          block_ind = ind;
        repl = commented (l);
        if (!dhcp_added) {
          out = append (out, &n, repl);
          free (repl);
          if (asprintf (&repl, "%*sdhcp4: true" DHCP_NOTE, ind, "") < 0)
            repl = NULL;
          dhcp_added = true;
        }
      }
      else if (strncmp (l + ind, "dhcp4:", 6) == 0)
        repl = commented (l);
      break;
    }
    }
    if (repl) {
      out = append (out, &n, repl);
      changed = true;
    }
    else if (l)
      out = append (out, &n, l);
  }
  if (out == NULL || !changed) {
    free (out);
    return NULL;
  }
  return out;
}

char *
convert_internal_ifupdown_auto (const char *line,
                                bool (*present) (const char *name,
                                                 void *opaque),
                                void *opaque, char *missing, size_t len)
{
  char have[256] = "";
  const char *p = line + strspn (line, " \t");
  char *out = NULL;

  missing[0] = '\0';
  if (strncmp (p, "auto ", 5) != 0)
    return NULL;
  p += 5;
  while (*p && *p != '#') {
    size_t l = strcspn (p, " \t#");
    char name[64];
    if (l && l < sizeof name) {
      snprintf (name, sizeof name, "%.*s", (int) l, p);
      /* lo, and anything that is no NIC name, is left as it is. */
      bool keep = !convert_internal_ifname_ok (name) || present (name, opaque);
      char *to = keep ? have : missing;
      size_t tolen = keep ? sizeof have : len, used = strlen (to);
      snprintf (to + used, tolen - used, " %s", name);
    }
    p += l;
    p += strspn (p, " \t");
  }
  if (missing[0] == '\0')
    return NULL;
  if (asprintf (&out, "%s%s%sallow-hotplug%s  # v2v-kubevirt: no such NIC "
                "on KubeVirt", have[0] ? "auto" : "", have,
                have[0] ? "\n" : "", missing) < 0)
    return NULL;
  return out;
}
