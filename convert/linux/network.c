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

/* The interface names the guest's config names (netfacts.c), or NULL. */
static char *const *
nic_names (const struct convert_ctx *ctx)
{
  const struct linux_net_facts *f = convert_internal_facts (ctx->guest,
                                                            &linux_net_facts);

  return f ? f->nic_names : NULL;
}

static bool
network_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  char *const *names = nic_names (ctx);

  if (ctx->opts->network == CONVERT_NET_KEEP) {
    snprintf (why, whylen, "--network=keep");
    return false;
  }
  if (names == NULL && !has_ec2_net_files (ctx)) {
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
           char *(*f) (const char *line, void *opaque), struct v2v_error *err)
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
    int r = convert_internal_edit_lines (ctx, path, f, NULL,
                                         "the MAC pin is the EC2 ENI's",
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
unpin_netplan (struct convert_ctx *ctx, const char *path,
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

  if (!convert_internal_netplan_mac_lines (lines, n, drop))
    return 0;
  struct convert_netplan_edit e = { drop, 0 };
  return convert_internal_edit_lines (ctx, path,
                                      convert_internal_netplan_line, &e,
                                      "netplan matched the NIC by the EC2 "
                                      "ENI's MAC", NULL, err);
}

static int
unpin_netplan_all (struct convert_ctx *ctx, struct v2v_error *err)
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
    int r = unpin_netplan (ctx, path, err);
    if (r < 0)
      return r;
  }
  return 0;
}

static int
network_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  char *const *names = nic_names (ctx);
  bool masked_ec2_network = false;
  int r;

  if (names) {
    const char *name = names[0];
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
                             "is mapped to the virtio NIC", names[i],
                             name);
  }

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
  if ((r = unpin_dir (ctx, "/etc/sysconfig/network-scripts", "ifcfg-",
                      convert_internal_unpin_ifcfg_line, err)) < 0 ||
      (r = unpin_dir (ctx, "/etc/sysconfig/network", "ifcfg-",
                      convert_internal_unpin_ifcfg_line, err)) < 0 ||
      (r = unpin_dir (ctx, "/etc/NetworkManager/system-connections", NULL,
                      convert_internal_unpin_nm_line, err)) < 0 ||
      (r = unpin_netplan_all (ctx, err)) < 0)
    return r;
  return 0;
}

const struct convert_step convert_step_network = {
  .name = "network",
  .applies = network_applies,
  .apply = network_apply,
};
