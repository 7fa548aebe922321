/* convert/netconf.c: the interface names network configs bind to, the
 * lines that pin a NIC to the EC2 MAC, and Amazon Time Sync lines.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "internal.h"

static char **
split (const char *text)
{
  char **lines = convert_internal_split_lines (text, strlen (text));

  cr_assert_not_null (lines);
  return lines;
}

/* The names KIND finds in TEXT, joined with commas. */
static char *
names_of (const char *text, unsigned kind)
{
  char **lines = split (text), **names = NULL;
  size_t len = 1;
  char *out;

  convert_internal_nic_names (lines, kind, &names);
  strv_free (lines);
  for (size_t i = 0; names && names[i]; i++)
    len += strlen (names[i]) + 1;
  out = calloc (1, len);
  cr_assert_not_null (out);
  for (size_t i = 0; names && names[i]; i++) {
    if (i)
      strcat (out, ",");
    strcat (out, names[i]);
  }
  strv_free (names);
  return out;
}

static void
assert_names (const char *text, unsigned kind, const char *expected)
{
  char *got = names_of (text, kind);

  cr_assert_str_eq (got, expected, "in:\n%s", text);
  free (got);
}

Test (netconf, ifupdown_names)
{
  assert_names ("auto lo\niface lo inet loopback\n"
                "auto eth0\nallow-hotplug eth0\niface eth0 inet dhcp\n"
                "iface eth1 inet6 auto\n# auto eth9\n",
                NET_IFUPDOWN, "eth0,eth1");
}

Test (netconf, netplan_names_only_under_ethernets)
{
  assert_names ("network:\n"
                "    version: 2\n"
                "    ethernets:\n"
                "        ens5:\n"
                "            dhcp4: true\n"
                "            match:\n"
                "                macaddress: 0a:5e:c2:04:22:04\n"
                "            set-name: ens5\n"
                "        ens6:\n"
                "            dhcp4: true\n"
                "    bridges:\n"
                "        br0:\n"
                "            interfaces: [ens5]\n",
                NET_NETPLAN, "ens5,ens6");
}

/* cloud-init on a two-ENI instance: nested keys (dhcp4-overrides,
 * route-metric, use-routes) are not interface names.  The reader took
 * "route-metric" for one. */
static const char ec2_two_nics[] =
  "network:\n"
  "    ethernets:\n"
  "        ens5:\n"
  "            dhcp4: true\n"
  "            dhcp6: false\n"
  "            match:\n"
  "                macaddress: 0a:5e:c2:04:22:04\n"
  "            set-name: ens5\n"
  "        ens6:\n"
  "            dhcp4: true\n"
  "            dhcp4-overrides:\n"
  "                route-metric: 200\n"
  "                use-routes: true\n"
  "            match:\n"
  "                macaddress: 0a:5e:c2:04:22:05\n"
  "            set-name: ens6\n"
  "    version: 2\n";

Test (netconf, netplan_nested_keys_are_not_names)
{
  assert_names (ec2_two_nics, NET_NETPLAN, "ens5,ens6");
  assert_names ("network:\n  ethernets:\n    eth0:\n      dhcp4: true\n"
                "      dhcp4-overrides: {route-metric: 100}\n"
                "      routes:\n        - to: 10.0.0.0/8\n"
                "          via: 10.1.1.1\n", NET_NETPLAN, "eth0");
}

Test (netconf, keyfile_networkd_ifcfg_names)
{
  assert_names ("[connection]\nid=cloud-init ens5\ninterface-name=ens5\n",
                NET_NM_KEYFILE, "ens5");
  assert_names ("[Match]\nName=eth0\n[Network]\nDHCP=yes\n",
                NET_NETWORKD, "eth0");
  assert_names ("DEVICE=\"eth0\"\nBOOTPROTO=dhcp\n", NET_IFCFG, "eth0");
  assert_names ("DEVICE='eth1'\n", NET_WICKED, "eth1");
}

Test (netconf, bad_names_are_dropped)
{
  /* Too long, shell metacharacters, lo: none of them is a NIC name. */
  assert_names ("auto averyveryverylongname0\nauto e$(reboot)\nauto lo\n"
                "auto a/b\n", NET_IFUPDOWN, "");
  cr_assert (convert_internal_ifname_ok ("enp1s0"));
  cr_assert_not (convert_internal_ifname_ok (""));
  cr_assert_not (convert_internal_ifname_ok ("eth 0"));
}

Test (netconf, unpin_lines)
{
  char *l = convert_internal_unpin_ifcfg_line ("HWADDR=0a:5e:c2:04:22:04",
                                               NULL);

  cr_assert_str_eq (l, "#HWADDR=0a:5e:c2:04:22:04  # v2v-kubevirt: EC2 MAC");
  free (l);
  cr_assert_null (convert_internal_unpin_ifcfg_line ("DEVICE=eth0", NULL));
  l = convert_internal_unpin_nm_line ("mac-address=0A:5E:C2:04:22:04", NULL);
  cr_assert_str_eq (l, "#mac-address=0A:5E:C2:04:22:04  "
                    "# v2v-kubevirt: EC2 MAC");
  free (l);
  cr_assert_null (convert_internal_unpin_nm_line ("[ethernet]", NULL));
}

Test (netconf, netplan_match_block_and_set_name)
{
  static const char text[] =
    "network:\n"                                    /* 0 */
    "    ethernets:\n"                              /* 1 */
    "        ens5:\n"                               /* 2 */
    "            set-name: ens5\n"                  /* 3: before match */
    "            dhcp4: true\n"                     /* 4 */
    "            match:\n"                          /* 5 */
    "                # the ENI\n"                   /* 6: comment kept */
    "                macaddress: 0a:5e:c2:04:22:04\n" /* 7 */
    "        ens6:\n"                               /* 8 */
    "            match:\n"                          /* 9: by driver */
    "                driver: ena\n"                 /* 10 */
    "            set-name: ens6\n";                 /* 11 */
  static const bool want[] = { 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0 };
  char **lines = split (text);
  size_t n = 0;
  bool drop[13] = { 0 };

  while (lines[n])
    n++;
  cr_assert_eq (n, 12);
  cr_assert (convert_internal_netplan_mac_lines (lines, n, drop));
  for (size_t i = 0; i < n; i++)
    cr_assert_eq (drop[i], want[i], "line %zu: %s", i, lines[i]);

  struct convert_netplan_edit e = { drop, 0 };
  char *l;
  cr_assert_null (convert_internal_netplan_line (lines[0], &e));
  for (size_t i = 1; i < 3; i++)
    cr_assert_null (convert_internal_netplan_line (lines[i], &e));
  l = convert_internal_netplan_line (lines[3], &e);
  cr_assert_str_eq (l, "            #set-name: ens5  # v2v-kubevirt: EC2 MAC");
  free (l);
  strv_free (lines);
}

Test (netconf, netplan_without_mac_is_left_alone)
{
  char **lines = split ("network:\n  ethernets:\n    eth0:\n      match:\n"
                        "        name: eth*\n      set-name: eth0\n");
  bool drop[7] = { 0 };

  cr_assert_not (convert_internal_netplan_mac_lines (lines, 6, drop));
  for (size_t i = 0; i < 6; i++)
    cr_assert_not (drop[i]);
  strv_free (lines);
}

Test (netconf, time_sources)
{
  cr_assert (convert_internal_ec2_time_source
             ("server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4"));
  cr_assert (convert_internal_ec2_time_source ("  pool fd00:ec2::123 iburst"));
  cr_assert_not (convert_internal_ec2_time_source
                 ("# server 169.254.169.123 prefer"));
  cr_assert_not (convert_internal_ec2_time_source
                 ("allow 169.254.169.123"));
  cr_assert (convert_internal_time_source ("\tpeer 10.0.0.1"));
  cr_assert_not (convert_internal_time_source ("servers 10.0.0.1"));
}
