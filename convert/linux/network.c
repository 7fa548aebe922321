/* Network: the guest's config names its EC2 interface (ens5 on Nitro,
 * eth0 on Xen); on KubeVirt the virtio NIC would get another name
 * (enp1s0) and nothing would configure it.  Rather than rewrite every
 * network stack's config, a systemd .link file gives the virtio NIC its
 * old name, so ifupdown, netplan, networkd, NetworkManager and ifcfg
 * configs all keep working unchanged.  udev applies .link files on every
 * systemd distro we support, in the initramfs and the real root.
 *
 * EC2-only pieces are neutralised: ec2-net-utils udev rules and networkd
 * config (masked with /dev/null links, the documented way), persistent-net
 * rules pinned to EC2 MACs, and HWADDR= pins in ifcfg files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"

#define LINK_FILE "/etc/systemd/network/10-v2v-kubevirt-virtio.link"

static const char *const ec2_net_files[] = {
  "/etc/udev/rules.d/53-ec2-network-interfaces.rules",
  "/etc/udev/rules.d/75-persistent-net-generator.rules",
  "/usr/lib/udev/rules.d/53-ec2-network-interfaces.rules",
  "/usr/lib/udev/rules.d/99-vpc-policy-routes.rules",
  "/lib/udev/rules.d/53-ec2-network-interfaces.rules",
  "/usr/lib/systemd/network/80-ec2.network",
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

static bool
network_applies (struct convert_ctx *ctx, char *why, size_t whylen)
{
  const struct guest *guest = ctx->guest;

  if (ctx->opts->network == CONVERT_NET_KEEP) {
    snprintf (why, whylen, "--network=keep");
    return false;
  }
  if (guest->nic_names == NULL && !has_ec2_net_files (ctx)) {
    snprintf (why, whylen, "no interface-bound network config");
    return false;
  }
  snprintf (why, whylen, "config is bound to %s; virtio NIC would be "
            "named differently", guest->nic_names ? guest->nic_names[0]
            : "EC2 udev rules");
  return true;
}

static char *
ifcfg_line (const char *line, void *opaque)
{
  char *out = NULL;

  (void) opaque;
  if (strncmp (line, "HWADDR=", 7) == 0 || strncmp (line, "MACADDR=", 8) == 0)
    return asprintf (&out, "#%s  # v2v-kubevirt: EC2 MAC", line) < 0
      ? NULL : out;
  return NULL;
}

static int
unpin_ifcfg (struct convert_ctx *ctx, const char *dir, struct v2v_error *err)
{
  guestfs_h *g = ctx->guest->g;
  CLEANUP_STRV char **names = NULL;

  if (guestfs_is_dir (g, dir) <= 0)
    return 0;
  names = guestfs_ls (g, dir);
  for (size_t i = 0; names && names[i]; i++) {
    char path[512];
    if (strncmp (names[i], "ifcfg-", 6) != 0 || strcmp (names[i], "ifcfg-lo") == 0)
      continue;
    snprintf (path, sizeof path, "%s/%s", dir, names[i]);
    if (!convert_internal_is_regular (ctx, path))
      continue;
    int r = convert_internal_edit_lines (ctx, path, ifcfg_line, NULL,
                                         "the MAC pin is the EC2 ENI's",
                                         NULL, err);
    if (r < 0)
      return r;
  }
  return 0;
}

static int
network_apply (struct convert_ctx *ctx, struct v2v_error *err)
{
  const struct guest *guest = ctx->guest;
  int r;

  if (guest->nic_names) {
    const char *name = guest->nic_names[0];
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
    for (size_t i = 1; guest->nic_names[i]; i++)
      convert_internal_warn (ctx, "interface %s is configured too; only %s "
                             "is mapped to the virtio NIC", guest->nic_names[i],
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
    }
    if (r < 0)
      return r;
  }
  if (convert_internal_is_regular (ctx, "/etc/udev/rules.d/70-persistent-net.rules") &&
      (r = convert_internal_remove (ctx, "/etc/udev/rules.d/70-persistent-net.rules",
                                    "names pinned to EC2 MAC addresses",
                                    err)) < 0)
    return r;
  if ((r = unpin_ifcfg (ctx, "/etc/sysconfig/network-scripts", err)) < 0 ||
      (r = unpin_ifcfg (ctx, "/etc/sysconfig/network", err)) < 0)
    return r;
  return 0;
}

const struct convert_step convert_step_network = {
  .name = "network",
  .applies = network_applies,
  .apply = network_apply,
};
