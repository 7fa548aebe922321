/* The network step's facts: which network configuration systems the
 * guest uses, and the interface names their files configure (the EC2
 * names the virtio NIC must keep).  The parsing is netconf.c's; this
 * file finds the files.  Reads only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

/* Pull NIC names out of one config file.  KIND picks the syntax. */
static void
nic_names_from (struct convert_ctx *ctx, struct linux_net_facts *f,
                const char *path, unsigned kind)
{
  CLEANUP_FREE char *data = NULL;
  CLEANUP_STRV char **lines = NULL;
  struct v2v_error ignored;
  size_t len;

  if (convert_internal_read (ctx, path, &data, &len, &ignored) < 0)
    return;
  lines = convert_internal_split_lines (data, len);
  if (lines)
    convert_internal_nic_names (lines, kind, &f->nic_names);
}

/* Every entry of DIR named PREFIX* (if PREFIX) and *SUFFIX (if SUFFIX). */
static void
scan_dir (struct convert_ctx *ctx, struct linux_net_facts *f,
          const char *dir, const char *prefix, const char *suffix,
          unsigned kind)
{
  char pattern[64];
  CLEANUP_STRV char **paths = NULL;

  snprintf (pattern, sizeof pattern, "%s*%s", prefix ? prefix : "",
            suffix ? suffix : "");
  paths = convert_internal_list_dir (ctx, dir, pattern);
  for (size_t i = 0; paths && paths[i]; i++) {
    const char *name = strrchr (paths[i], '/') + 1;

    /* The name, not the content, says which interface an ifcfg file is
     * for. */
    if ((kind == NET_IFCFG || kind == NET_WICKED) && prefix &&
        convert_internal_ifname_ok (name + strlen (prefix)))
      (void) strv_add_unique (&f->nic_names, name + strlen (prefix));
    f->systems |= kind;
    nic_names_from (ctx, f, paths[i], kind);
  }
}

static void *
net_gather (struct convert_ctx *ctx)
{
  struct linux_net_facts *f = calloc (1, sizeof *f);

  if (f == NULL)
    return NULL;
  if (convert_internal_is_regular (ctx, "/etc/network/interfaces")) {
    nic_names_from (ctx, f, "/etc/network/interfaces", NET_IFUPDOWN);
    if (f->nic_names)
      f->systems |= NET_IFUPDOWN;
    scan_dir (ctx, f, "/etc/network/interfaces.d", NULL, NULL, NET_IFUPDOWN);
  }
  scan_dir (ctx, f, "/etc/netplan", NULL, ".yaml", NET_NETPLAN);
  scan_dir (ctx, f, "/etc/systemd/network", NULL, ".network", NET_NETWORKD);
  scan_dir (ctx, f, "/etc/NetworkManager/system-connections", NULL, NULL,
            NET_NM_KEYFILE);
  scan_dir (ctx, f, "/etc/sysconfig/network-scripts", "ifcfg-", NULL,
            NET_IFCFG);
  scan_dir (ctx, f, "/etc/sysconfig/network", "ifcfg-", NULL, NET_WICKED);
  return f;
}

static struct json_object *
strv_json (char *const *v)
{
  struct json_object *a = json_object_new_array ();

  for (size_t i = 0; v && v[i]; i++)
    json_object_array_add (a, json_object_new_string (v[i]));
  return a;
}

static void
net_json (const void *facts, struct json_object *o)
{
  static const struct { unsigned bit; const char *name; } nets[] = {
    { NET_IFUPDOWN, "ifupdown" }, { NET_NETPLAN, "netplan" },
    { NET_NETWORKD, "systemd-networkd" }, { NET_NM_KEYFILE, "networkmanager" },
    { NET_IFCFG, "ifcfg" }, { NET_WICKED, "wicked" },
  };
  const struct linux_net_facts *f = facts;
  struct json_object *ns = json_object_new_array ();

  for (size_t i = 0; f && i < sizeof nets / sizeof nets[0]; i++)
    if (f->systems & nets[i].bit)
      json_object_array_add (ns, json_object_new_string (nets[i].name));
  json_object_object_add (o, "network_systems", ns);
  json_object_object_add (o, "nic_names", strv_json (f ? f->nic_names : NULL));
}

static void
net_compat_warnings (const void *facts, struct json_object *warnings)
{
  const struct linux_net_facts *f = facts;

  for (size_t i = 0; f && f->nic_names && f->nic_names[i]; i++)
    convert_internal_json_addf (warnings, "the network configuration names "
                                "%s; the e1000e NIC gets another name "
                                "(enp1s0 on q35), so it may come up without "
                                "an address (compatibility mode does not "
                                "rework the network)", f->nic_names[i]);
}

static void
net_free (void *facts)
{
  struct linux_net_facts *f = facts;

  if (f == NULL)
    return;
  strv_free (f->nic_names);
  free (f);
}

const struct convert_facts linux_net_facts = {
  .gather = net_gather,
  .json = net_json,
  .compat_warnings = net_compat_warnings,
  .free = net_free,
};
