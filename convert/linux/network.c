/* Network: the guest's config names its EC2 interface (ens5 on Nitro,
 * eth0 on Xen); on KubeVirt the virtio NIC would get another name
 * (enp1s0) and nothing would configure it.  Rather than rewrite every
 * network stack's config, a systemd .link file gives the virtio NIC its
 * old name, so ifupdown, netplan, networkd, NetworkManager and ifcfg
 * configs all keep working unchanged.  udev applies .link files on every
 * systemd distro we support, in the initramfs and the real root.
 *
 * EC2-only pieces are neutralised: ec2-net-utils udev rules and networkd
 * config (masked with /dev/null links, the documented way; where that was
 * the only config, a .network for the virtio NIC replaces it),
 * persistent-net rules pinned to EC2 MACs, HWADDR= pins in ifcfg files,
 * mac-address= in NetworkManager keyfiles and netplan macaddress matches.
 *
 * Several NICs: a driver match would give every virtio NIC the same
 * name.  The VM keeps each ENI's MAC, in device-index order, so with a
 * NIC map (the device map's "nic INDEX=MAC", or two or more MAC pins in
 * the guest's own config) each NIC gets its own .link matching its MAC
 * and naming it as on EC2 (ens5, ens6; eth0, eth1), and the pins that
 * still match are kept.  An interface the config names and the VM will
 * not have gets a warning, and ifupdown's "auto" for it (a failed unit
 * at boot) becomes "allow-hotplug".
 *
 * Static IPv4 addresses are reported; --network=dhcp (the pod network,
 * where EC2's address cannot work) switches them to DHCP.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

#define LINK_FILE "/etc/systemd/network/10-v2v-kubevirt-virtio.link"
#define VIRTIO_NETWORK "/etc/systemd/network/80-v2v-kubevirt-virtio.network"
#define EC2_NETWORK "/usr/lib/systemd/network/80-ec2.network"

static const char *const ec2_net_files[] = {
  "/etc/udev/rules.d/53-ec2-network-interfaces.rules",
  "/etc/udev/rules.d/75-persistent-net-generator.rules",
  "/usr/lib/udev/rules.d/53-ec2-network-interfaces.rules",
  "/usr/lib/udev/rules.d/99-vpc-policy-routes.rules",
  "/lib/udev/rules.d/53-ec2-network-interfaces.rules",
  EC2_NETWORK,
  NULL
};

static bool
has_ec2_net_files (struct convert_ctx *ctx)
{
  for (size_t i = 0; ec2_net_files[i]; i++)
    if (convert_internal_is_regular (ctx, ec2_net_files[i]))
      return true;
  return convert_internal_is_regular (ctx,
                                      "/etc/udev/rules.d/70-persistent-net.rules");
}

/* What netfacts.c found (never NULL). */
static const struct linux_net_facts *
net_facts (const struct convert_ctx *ctx)
{
  static const struct linux_net_facts none;
  const struct linux_net_facts *f = convert_internal_facts (ctx->guest,
                                                            &linux_net_facts);

  return f ? f : &none;
}

/* The VM's NICs, by MAC, with the names they had on EC2. */
struct nic_plan {
  size_t n;
  struct nic_pin nic[CONVERT_MAX_NICS];
  char *keep[CONVERT_MAX_NICS + 1];     /* their MACs, for the unpinning */
};

static const char *
pinned_name (const struct linux_net_facts *nf, const char *mac)
{
  for (size_t i = 0; i < nf->nr_nic_pins; i++)
    if (strcmp (nf->nic_pins[i].mac, mac) == 0)
      return nf->nic_pins[i].name;
  return NULL;
}

/* With a NIC map: its NICs.  Without one: the guest's MAC pins, if it
 * pins two or more (one NIC keeps the driver match of before).
 */
static void
nic_plan_build (struct convert_ctx *ctx, struct nic_plan *plan, bool warn)
{
  const struct linux_net_facts *nf = net_facts (ctx);
  const struct convert_devmap *map = ctx->opts->devmap;

  memset (plan, 0, sizeof *plan);
  if (map && map->nr_nics) {
    for (size_t i = 0; i < map->nr_nics && plan->n < CONVERT_MAX_NICS; i++) {
      const char *name = pinned_name (nf, map->nics[i].mac);
      char buf[16];
      if (name == NULL)
        name = convert_internal_ec2_nic_name (nf->nic_names,
                                              map->nics[i].index, buf,
                                              sizeof buf);
      if (name == NULL) {
        if (warn)
          convert_internal_warn (ctx, "NIC %d (%s): the guest's config names "
                                 "no interface it could be; it gets the "
                                 "kernel's name", map->nics[i].index,
                                 map->nics[i].mac);
        continue;
      }
      struct nic_pin *p = &plan->nic[plan->n++];
      snprintf (p->name, sizeof p->name, "%s", name);
      memcpy (p->mac, map->nics[i].mac, sizeof p->mac);
    }
  }
  else if (nf->nr_nic_pins >= 2) {
    for (size_t i = 0; i < nf->nr_nic_pins && plan->n < CONVERT_MAX_NICS;
         i++)
      plan->nic[plan->n++] = nf->nic_pins[i];
  }
  for (size_t i = 0; i < plan->n; i++)
    plan->keep[i] = plan->nic[i].mac;
}

/* Will the VM have an interface named NAME? */
static bool
nic_present (const struct linux_net_facts *nf, const struct nic_plan *plan,
             const char *name)
{
  if (plan->n == 0)
    return nf->nic_names && strcmp (nf->nic_names[0], name) == 0;
  for (size_t i = 0; i < plan->n; i++)
    if (strcmp (plan->nic[i].name, name) == 0)
      return true;
  return false;
}

static bool
network_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  const struct linux_net_facts *nf = net_facts (ctx);
  char *const *names = nf->nic_names;

  if (ctx->opts->network == CONVERT_NET_KEEP) {
    snprintf (why, whylen, "--network=keep");
    return false;
  }
  if (nf->static_nics && ctx->opts->network == CONVERT_NET_DHCP) {
    snprintf (why, whylen, "%s has a static IPv4 address; --network=dhcp",
              nf->static_nics[0]);
    return true;
  }
  if (nf->nic_names == NULL && !has_ec2_net_files (ctx)) {
    snprintf (why, whylen, "no interface-bound network config");
    return false;
  }
  snprintf (why, whylen, "config is bound to %s; virtio NIC would be "
            "named differently", names ? names[0]
            : "EC2 udev rules");
  return true;
}

/* Unpin every file in DIR (named PREFIX*, if PREFIX) with F. */
static int
unpin_dir (struct convert_ctx *ctx, const char *dir, const char *prefix,
           char *(*f) (const char *line, void *opaque), char *const *keep,
           struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  CLEANUP_STRV char **names = NULL;

  if (guestfs_is_dir (g, dir) <= 0)
    return 0;
  names = guestfs_ls (g, dir);
  for (size_t i = 0; names && names[i]; i++) {
    char path[512];
    if ((prefix && strncmp (names[i], prefix, strlen (prefix)) != 0) ||
        strcmp (names[i], "ifcfg-lo") == 0)
      continue;
    snprintf (path, sizeof path, "%s/%s", dir, names[i]);
    if (!convert_internal_is_regular (ctx, path))
      continue;
    int r = convert_internal_edit_lines (ctx, path, f, (void *) keep,
                                         "the MAC pin is the EC2 ENI's "
                                         "and the VM's NIC has another",
                                         NULL, err);
    if (r < 0)
      return r;
  }
  return 0;
}

/* netplan as cloud-init renders it on EC2 matches the NIC by the ENI's
 * MAC and renames it:
 *       ens5:
 *           match:
 *               macaddress: 0a:5e:c2:04:22:04
 *           set-name: ens5
 * The KubeVirt NIC has another MAC (unless the VM spec keeps the old
 * one), so that stanza would match nothing.  Comment out a match block
 * that holds a macaddress, and its sibling set-name (netplan rejects
 * set-name without match): the interface id then matches by name, and
 * the .link file gives the virtio NIC that name.
 */
static int
unpin_netplan (struct convert_ctx *ctx, const char *path, char *const *keep,
               struct v2v_error *err)
{
  CLEANUP_FREE char *data = NULL;
  CLEANUP_STRV char **lines = NULL;
  CLEANUP_FREE bool *drop = NULL;
  size_t len, n = 0;
  int r;

  if ((r = convert_internal_read (ctx, path, &data, &len, err)) < 0)
    return r;
  lines = convert_internal_split_lines (data, len);
  for (; lines && lines[n]; n++)
    ;
  drop = calloc (n + 1, sizeof *drop);
  if (lines == NULL || drop == NULL)
    return v2v_error_set (err, -ENOMEM, "%s", path);

  if (!convert_internal_netplan_mac_lines_keep (lines, n, drop, keep))
    return 0;
  struct convert_netplan_edit e = { drop, 0 };
  return convert_internal_edit_lines (ctx, path,
                                      convert_internal_netplan_line, &e,
                                      "netplan matched the NIC by the EC2 "
                                      "ENI's MAC", NULL, err);
}

static int
unpin_netplan_all (struct convert_ctx *ctx, char *const *keep,
                   struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  CLEANUP_STRV char **names = NULL;

  if (guestfs_is_dir (g, "/etc/netplan") <= 0)
    return 0;
  names = guestfs_ls (g, "/etc/netplan");
  for (size_t i = 0; names && names[i]; i++) {
    char path[512];
    size_t l = strlen (names[i]);
    if (l < 5 || strcmp (names[i] + l - 5, ".yaml") != 0)
      continue;
    snprintf (path, sizeof path, "/etc/netplan/%s", names[i]);
    if (!convert_internal_is_regular (ctx, path))
      continue;
    int r = unpin_netplan (ctx, path, keep, err);
    if (r < 0)
      return r;
  }
  return 0;
}

/* ifupdown: "auto NAME" brings NAME up at boot, and networking.service
 * fails when NAME does not exist; "allow-hotplug" waits for it instead.
 */
struct auto_edit { struct convert_ctx *ctx; const struct nic_plan *plan; };

static bool
auto_present (const char *name, void *opaque)
{
  const struct auto_edit *a = opaque;

  return nic_present (net_facts (a->ctx), a->plan, name);
}

static char *
ifupdown_auto_line (const char *line, void *opaque)
{
  const struct auto_edit *a = opaque;
  char missing[256];
  char *out = convert_internal_ifupdown_auto (line, auto_present,
                                              (void *) a, missing,
                                              sizeof missing);

  if (out)
    convert_internal_warn (a->ctx, "ifupdown: auto%s names no NIC the VM "
                           "will have; made allow-hotplug so that boot does "
                           "not fail", missing);
  return out;
}

/* Each network config file of the guest: PATH, its syntax and, for
 * ifcfg files, the interface its name is for. */
static int
for_each_net_file (struct convert_ctx *ctx,
                   int (*f) (struct convert_ctx *ctx, const char *path,
                             unsigned kind, const char *hint, void *opaque,
                             struct v2v_error *err),
                   void *opaque, struct v2v_error *err)
{
  static const struct { const char *dir, *prefix, *suffix; unsigned kind; }
  dirs[] = {
    { "/etc/network/interfaces.d", NULL, NULL, NET_IFUPDOWN },
    { "/etc/netplan", NULL, ".yaml", NET_NETPLAN },
    { "/etc/systemd/network", NULL, ".network", NET_NETWORKD },
    { "/etc/NetworkManager/system-connections", NULL, NULL, NET_NM_KEYFILE },
    { "/etc/sysconfig/network-scripts", "ifcfg-", NULL, NET_IFCFG },
    { "/etc/sysconfig/network", "ifcfg-", NULL, NET_WICKED },
  };
  guestfs_h *g = ctx->guest->g;
  int r;

  if (convert_internal_is_regular (ctx, "/etc/network/interfaces") &&
      (r = f (ctx, "/etc/network/interfaces", NET_IFUPDOWN, NULL, opaque,
              err)) < 0)
    return r;
  for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
    CLEANUP_STRV char **names = NULL;

    if (guestfs_is_dir (g, dirs[d].dir) <= 0 ||
        (names = guestfs_ls (g, dirs[d].dir)) == NULL)
      continue;
    for (size_t i = 0; names[i]; i++) {
      size_t nl = strlen (names[i]);
      size_t sl = dirs[d].suffix ? strlen (dirs[d].suffix) : 0;
      char path[512];
      if ((dirs[d].prefix && strncmp (names[i], dirs[d].prefix,
                                      strlen (dirs[d].prefix)) != 0) ||
          (sl && (nl < sl || strcmp (names[i] + nl - sl,
                                     dirs[d].suffix) != 0)))
        continue;
      snprintf (path, sizeof path, "%s/%s", dirs[d].dir, names[i]);
      if (!convert_internal_is_regular (ctx, path))
        continue;
      r = f (ctx, path, dirs[d].kind,
             dirs[d].prefix ? names[i] + strlen (dirs[d].prefix) : NULL,
             opaque, err);
      if (r < 0)
        return r;
    }
  }
  return 0;
}

static int
fix_auto (struct convert_ctx *ctx, const char *path, unsigned kind,
          const char *hint, void *opaque, struct v2v_error *err)
{
  (void) hint;
  if (kind != NET_IFUPDOWN)
    return 0;
  return convert_internal_edit_lines (ctx, path, ifupdown_auto_line, opaque,
                                      "an interface that will not exist "
                                      "would fail the boot", NULL, err);
}

/* --network=dhcp: each static NIC of the file switched to DHCP. */
static int
static_to_dhcp (struct convert_ctx *ctx, const char *path, unsigned kind,
                const char *hint, void *opaque, struct v2v_error *err)
{
  CLEANUP_FREE char *data = NULL;
  CLEANUP_STRV char **lines = NULL;
  CLEANUP_STRV char **statics = NULL;
  size_t len;
  int r;

  (void) opaque;
  if ((r = convert_internal_read (ctx, path, &data, &len, err)) < 0)
    return r;
  if ((lines = convert_internal_split_lines (data, len)) == NULL)
    return v2v_error_set (err, -ENOMEM, "%s", path);
  convert_internal_nic_static (lines, kind, hint, &statics);
  for (size_t i = 0; statics && statics[i]; i++) {
    CLEANUP_FREE char *text = convert_internal_dhcp_text (lines, kind,
                                                          statics[i]);
    if (text == NULL)
      continue;
    convert_internal_warn (ctx, "%s: interface %s had a static IPv4 address; "
                           "switched to DHCP (--network=dhcp)", path,
                           statics[i]);
    r = convert_internal_write (ctx, path, text, strlen (text),
                                "a static EC2 address cannot work on the pod "
                                "network (--network=dhcp)", err);
    if (r < 0)
      return r;
    /* Read the file again for its next static NIC. */
    strv_free (lines);
    if ((lines = convert_internal_split_lines (text, strlen (text))) == NULL)
      return v2v_error_set (err, -ENOMEM, "%s", path);
  }
  return 0;
}

static int
write_links (struct convert_ctx *ctx, const struct nic_plan *plan,
             struct v2v_error *err)
{
  for (size_t i = 0; i < plan->n; i++) {
    CLEANUP_FREE char *link = NULL;
    char path[128];
    int r;

    snprintf (path, sizeof path, "/etc/systemd/network/10-v2v-kubevirt-%s.link",
              plan->nic[i].name);
    if (asprintf (&link,
                  "# Written by v2v-kubevirt.  On EC2 the NIC with this MAC "
                  "was %s and\n"
                  "# the network config still says so; the KubeVirt NIC keeps "
                  "the MAC.\n"
                  "[Match]\n"
                  "MACAddress=%s\n"
                  "\n"
                  "[Link]\n"
                  "Name=%s\n", plan->nic[i].name, plan->nic[i].mac,
                  plan->nic[i].name) < 0)
      return v2v_error_set (err, -ENOMEM, "%s", path);
    r = convert_internal_write (ctx, path, link, strlen (link),
                                "name each NIC, by its MAC, as EC2 named it, "
                                "so existing config applies", err);
    if (r < 0)
      return r;
  }
  return 0;
}

static int
network_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  const struct linux_net_facts *nf = net_facts (ctx);
  char *const *names = nf->nic_names;
  bool masked_ec2_network = false;
  struct nic_plan plan;
  int r;

  nic_plan_build (ctx, &plan, true);
  if (plan.n) {
    if ((r = write_links (ctx, &plan, err)) < 0)
      return r;
    for (size_t i = 0; nf->nic_names && nf->nic_names[i]; i++)
      if (!nic_present (nf, &plan, nf->nic_names[i]))
        convert_internal_warn (ctx, "interface %s is configured, but the VM "
                               "will have no NIC of that name (its NICs: "
                               "%zu, by MAC)", nf->nic_names[i], plan.n);
  }
  else if (nf->nic_names) {
    const char *name = nf->nic_names[0];
    CLEANUP_FREE char *link = NULL;

    if (asprintf (&link,
                  "# Written by v2v-kubevirt.  On EC2 this guest's NIC was "
                  "%s and its\n"
                  "# network config still says so; give the KubeVirt virtio "
                  "NIC that name.\n"
                  "[Match]\n"
                  "Driver=virtio_net\n"
                  "\n"
                  "[Link]\n"
                  "Name=%s\n", name, name) < 0)
      return v2v_error_set (err, -ENOMEM, "%s", LINK_FILE);
    r = convert_internal_write (ctx, LINK_FILE, link, strlen (link),
                                "name the virtio NIC as the EC2 NIC was "
                                "named, so existing config applies", err);
    if (r < 0)
      return r;
    for (size_t i = 1; names[i]; i++)
      convert_internal_warn (ctx, "interface %s is configured too; only %s "
                             "is mapped to the virtio NIC (give the NICs "
                             "with --nic INDEX=MAC to map each)",
                             nf->nic_names[i], name);
  }
  struct auto_edit ae = { ctx, &plan };
  if ((r = for_each_net_file (ctx, fix_auto, &ae, err)) < 0)
    return r;
  for (size_t i = 0; nf->static_nics && nf->static_nics[i]; i++)
    if (ctx->opts->network != CONVERT_NET_DHCP)
      convert_internal_warn (ctx, "interface %s has a static IPv4 address: "
                             "it works on an L2 network that carries it "
                             "(multus), not on the pod network "
                             "(masquerade), where --network=dhcp switches it "
                             "to DHCP", nf->static_nics[i]);
  if (ctx->opts->network == CONVERT_NET_DHCP && nf->static_nics &&
      (r = for_each_net_file (ctx, static_to_dhcp, NULL, err)) < 0)
    return r;

  for (size_t i = 0; ec2_net_files[i]; i++) {
    const char *f = ec2_net_files[i];
    if (!convert_internal_is_regular (ctx, f))
      continue;
    if (strncmp (f, "/etc/", 5) == 0)
      r = convert_internal_remove (ctx, f, "EC2-only network rule", err);
    else {
      /* Mask a packaged file with a same-named /dev/null link in /etc. */
      char mask[512];
      const char *base = strrchr (f, '/') + 1;
      snprintf (mask, sizeof mask, "%s/%s",
                strstr (f, "/udev/") ? "/etc/udev/rules.d"
                                     : "/etc/systemd/network", base);
      r = convert_internal_symlink (ctx, "/dev/null", mask,
                                    "mask EC2-only network config", err);
      masked_ec2_network |= strcmp (f, EC2_NETWORK) == 0;
    }
    if (r < 0)
      return r;
  }
  /* amazon-ec2-net-utils' 80-ec2.network (AL2023) matches only ENA and
   * Xen NICs, and was all the network config the guest had: without a
   * replacement nothing would configure the virtio NIC.  Its MTU 9001
   * is EC2's, so it is not copied.
   */
  if (masked_ec2_network && names == NULL) {
    static const char network[] =
      "# Written by v2v-kubevirt.  On EC2, amazon-ec2-net-utils' "
      "80-ec2.network\n"
      "# (masked now) configured the ENA NIC; configure the KubeVirt "
      "virtio NIC.\n"
      "[Match]\n"
      "Driver=virtio_net\n"
      "\n"
      "[Network]\n"
      "DHCP=yes\n";
    r = convert_internal_write (ctx, VIRTIO_NETWORK, network,
                                sizeof network - 1,
                                "the EC2 network config matches no virtio "
                                "NIC; DHCP on the virtio NIC instead", err);
    if (r < 0)
      return r;
  }
  if (convert_internal_is_regular (ctx, "/etc/udev/rules.d/70-persistent-net.rules") &&
      (r = convert_internal_remove (ctx, "/etc/udev/rules.d/70-persistent-net.rules",
                                    "names pinned to EC2 MAC addresses",
                                    err)) < 0)
    return r;
  char *const *keep = plan.n ? plan.keep : NULL;
  if ((r = unpin_dir (ctx, "/etc/sysconfig/network-scripts", "ifcfg-",
                      convert_internal_unpin_ifcfg_line, keep, err)) < 0 ||
      (r = unpin_dir (ctx, "/etc/sysconfig/network", "ifcfg-",
                      convert_internal_unpin_ifcfg_line, keep, err)) < 0 ||
      (r = unpin_dir (ctx, "/etc/NetworkManager/system-connections", NULL,
                      convert_internal_unpin_nm_line, keep, err)) < 0 ||
      (r = unpin_netplan_all (ctx, keep, err)) < 0)
    return r;
  return 0;
}

const struct convert_step convert_step_network = {
  .name = "network",
  .applies = network_applies,
  .apply = network_apply,
};
