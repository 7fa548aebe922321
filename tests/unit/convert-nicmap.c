/* convert/nicmap.c: MAC pins, static addresses, EC2 NIC names, and the
 * DHCP edits of --network=dhcp, on config text.  No appliance.
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

/* "name=mac,name=mac" of the pins KIND finds in TEXT. */
static char *
pins_of (const char *text, unsigned kind, const char *hint)
{
  char **lines = split (text);
  struct nic_pin *pins = NULL;
  size_t n = 0;
  char *out = calloc (1, 512);

  cr_assert_not_null (out);
  convert_internal_nic_pins (lines, kind, hint, &pins, &n);
  for (size_t i = 0; i < n; i++) {
    if (i)
      strcat (out, ",");
    strcat (out, pins[i].name);
    strcat (out, "=");
    strcat (out, pins[i].mac);
  }
  free (pins);
  strv_free (lines);
  return out;
}

static void
assert_pins (const char *text, unsigned kind, const char *hint,
             const char *want)
{
  char *got = pins_of (text, kind, hint);

  cr_assert_str_eq (got, want, "in:\n%s", text);
  free (got);
}

static char *
statics_of (const char *text, unsigned kind, const char *hint)
{
  char **lines = split (text), **names = NULL;
  char *out = calloc (1, 256);

  cr_assert_not_null (out);
  convert_internal_nic_static (lines, kind, hint, &names);
  for (size_t i = 0; names && names[i]; i++) {
    if (i)
      strcat (out, ",");
    strcat (out, names[i]);
  }
  strv_free (names);
  strv_free (lines);
  return out;
}

static void
assert_statics (const char *text, unsigned kind, const char *hint,
                const char *want)
{
  char *got = statics_of (text, kind, hint);

  cr_assert_str_eq (got, want, "in:\n%s", text);
  free (got);
}

static const char cloud_init_ec2[] =
  "network:\n"
  "    ethernets:\n"
  "        ens5:\n"
  "            dhcp4: true\n"
  "            match:\n"
  "                macaddress: 0A:5E:C2:04:22:04\n"
  "            set-name: ens5\n"
  "        ens6:\n"
  "            dhcp4: true\n"
  "            dhcp4-overrides:\n"
  "                route-metric: 200\n"
  "            match:\n"
  "                macaddress: '0a:5e:c2:04:22:05'\n"
  "            set-name: ens6\n"
  "    version: 2\n";

Test (nicmap, netplan_pins_from_cloud_init)
{
  assert_pins (cloud_init_ec2, NET_NETPLAN, NULL,
               "ens5=0a:5e:c2:04:22:04,ens6=0a:5e:c2:04:22:05");
}

Test (nicmap, pins_of_every_stack)
{
  assert_pins ("DEVICE=eth1\nHWADDR=\"0A:5E:C2:04:22:05\"\nBOOTPROTO=dhcp\n",
               NET_IFCFG, "eth1", "eth1=0a:5e:c2:04:22:05");
  assert_pins ("HWADDR=0a:5e:c2:04:22:05\n", NET_IFCFG, "eth1",
               "eth1=0a:5e:c2:04:22:05");
  assert_pins ("[connection]\ninterface-name=eth0\n[ethernet]\n"
               "mac-address=0A:5E:C2:04:22:04\n", NET_NM_KEYFILE, NULL,
               "eth0=0a:5e:c2:04:22:04");
  assert_pins ("[Match]\nMACAddress=0a:5e:c2:04:22:04\nName=eth0\n",
               NET_NETWORKD, NULL, "eth0=0a:5e:c2:04:22:04");
  /* No MAC, no pin; no name, no pin. */
  assert_pins ("DEVICE=eth0\nBOOTPROTO=dhcp\n", NET_IFCFG, NULL, "");
  assert_pins ("[ethernet]\nmac-address=0a:5e:c2:04:22:04\n", NET_NM_KEYFILE,
               NULL, "");
}

Test (nicmap, static_addresses_of_every_stack)
{
  assert_statics ("auto eth0\niface eth0 inet static\n  address 172.31.0.10/20\n"
                  "iface eth1 inet dhcp\n", NET_IFUPDOWN, NULL, "eth0");
  assert_statics ("network:\n  ethernets:\n    ens5:\n      addresses: "
                  "[172.31.0.10/20]\n    ens6:\n      dhcp4: true\n",
                  NET_NETPLAN, NULL, "ens5");
  assert_statics (cloud_init_ec2, NET_NETPLAN, NULL, "");
  assert_statics ("DEVICE=eth0\nBOOTPROTO=none\nIPADDR=172.31.0.10\n",
                  NET_IFCFG, "eth0", "eth0");
  assert_statics ("DEVICE=eth0\nBOOTPROTO=dhcp\n", NET_IFCFG, "eth0", "");
  assert_statics ("[connection]\ninterface-name=eth0\n[ipv4]\n"
                  "method=manual\naddress1=172.31.0.10/20,172.31.0.1\n",
                  NET_NM_KEYFILE, NULL, "eth0");
  assert_statics ("[Match]\nName=eth0\n[Network]\nAddress=172.31.0.10/20\n",
                  NET_NETWORKD, NULL, "eth0");
  assert_statics ("[Match]\nName=eth0\n[Network]\nDHCP=yes\n", NET_NETWORKD,
                  NULL, "");
}

Test (nicmap, ec2_names_by_the_guest_scheme)
{
  char *nitro[] = { "ens5", NULL }, *xen[] = { "eth0", NULL },
    *other[] = { "wan0", NULL };
  char buf[16];

  cr_assert_str_eq (convert_internal_ec2_nic_name (nitro, 1, buf, sizeof buf),
                    "ens6");
  cr_assert_str_eq (convert_internal_ec2_nic_name (xen, 1, buf, sizeof buf),
                    "eth1");
  cr_assert_str_eq (convert_internal_ec2_nic_name (other, 0, buf, sizeof buf),
                    "wan0");
  cr_assert_null (convert_internal_ec2_nic_name (other, 1, buf, sizeof buf));
  cr_assert_null (convert_internal_ec2_nic_name (NULL, 0, buf, sizeof buf));
}

static void
assert_dhcp (const char *text, unsigned kind, const char *name,
             const char *want)
{
  char **lines = split (text);
  char *got = convert_internal_dhcp_text (lines, kind, name);

  if (want == NULL)
    cr_assert_null (got, "%s", got);
  else {
    cr_assert_not_null (got, "unchanged:\n%s", text);
    cr_assert_str_eq (got, want);
  }
  free (got);
  strv_free (lines);
}

#define NOTE "  # v2v-kubevirt: static address, DHCP on the pod network"

Test (nicmap, dhcp_ifupdown)
{
  assert_dhcp ("auto eth0\niface eth0 inet static\n    address 172.31.0.10\n"
               "    netmask 255.255.240.0\n    gateway 172.31.0.1\n"
               "iface eth1 inet static\n    address 10.0.0.5\n",
               NET_IFUPDOWN, "eth0",
               "auto eth0\niface eth0 inet dhcp\n"
               "    #address 172.31.0.10" NOTE "\n"
               "    #netmask 255.255.240.0" NOTE "\n"
               "    #gateway 172.31.0.1" NOTE "\n"
               "iface eth1 inet static\n    address 10.0.0.5\n");
  assert_dhcp ("iface eth0 inet dhcp\n", NET_IFUPDOWN, "eth0", NULL);
}

Test (nicmap, dhcp_netplan)
{
  assert_dhcp ("network:\n  ethernets:\n    ens5:\n      dhcp4: false\n"
               "      addresses:\n        - 172.31.0.10/20\n"
               "      gateway4: 172.31.0.1\n    ens6:\n"
               "      addresses: [10.0.0.5/24]\n",
               NET_NETPLAN, "ens5",
               "network:\n  ethernets:\n    ens5:\n"
               "      #dhcp4: false" NOTE "\n"
               "      #addresses:" NOTE "\n"
               "      dhcp4: true" NOTE "\n"
               "        #- 172.31.0.10/20" NOTE "\n"
               "      #gateway4: 172.31.0.1" NOTE "\n"
               "    ens6:\n      addresses: [10.0.0.5/24]\n");
}

Test (nicmap, dhcp_ifcfg_keyfile_networkd)
{
  assert_dhcp ("DEVICE=eth0\nBOOTPROTO=none\nIPADDR=172.31.0.10\nPREFIX=20\n",
               NET_IFCFG, "eth0",
               "DEVICE=eth0\nBOOTPROTO=dhcp\n#IPADDR=172.31.0.10" NOTE "\n"
               "#PREFIX=20" NOTE "\n");
  assert_dhcp ("[connection]\ninterface-name=eth0\n[ipv4]\nmethod=manual\n"
               "address1=172.31.0.10/20,172.31.0.1\n", NET_NM_KEYFILE, "eth0",
               "[connection]\ninterface-name=eth0\n[ipv4]\nmethod=auto\n"
               "#address1=172.31.0.10/20,172.31.0.1" NOTE "\n");
  assert_dhcp ("[Match]\nName=eth0\n[Network]\nAddress=172.31.0.10/20\n"
               "Gateway=172.31.0.1\n", NET_NETWORKD, "eth0",
               "[Match]\nName=eth0\n[Network]\nDHCP=ipv4" NOTE "\n"
               "#Address=172.31.0.10/20" NOTE "\n"
               "#Gateway=172.31.0.1" NOTE "\n");
}

Test (nicmap, kept_pins_stay)
{
  char *keep[] = { "0a:5e:c2:04:22:04", NULL };
  char **lines = split (cloud_init_ec2);
  size_t n = 0;
  bool drop[32] = { 0 };
  char *l;

  while (lines[n])
    n++;
  /* ens5's MAC is kept: its block stays; ens6's is gone: commented out. */
  cr_assert (convert_internal_netplan_mac_lines_keep (lines, n, drop, keep));
  for (size_t i = 0; i < n; i++)
    cr_assert_eq (drop[i], i >= 11 && i <= 13, "line %zu: %s", i, lines[i]);
  strv_free (lines);

  cr_assert_null (convert_internal_unpin_ifcfg_line
                  ("HWADDR=\"0A:5E:C2:04:22:04\"", keep));
  l = convert_internal_unpin_ifcfg_line ("HWADDR=0a:5e:c2:04:22:05", keep);
  cr_assert_not_null (l);
  free (l);
  cr_assert_null (convert_internal_unpin_nm_line
                  ("mac-address=0a:5e:c2:04:22:04", keep));
}

static bool
only_eth0 (const char *name, void *opaque)
{
  (void) opaque;
  return strcmp (name, "eth0") == 0;
}

Test (nicmap, ifupdown_auto_for_a_missing_nic)
{
  char missing[64];
  char *l = convert_internal_ifupdown_auto ("auto eth0 eth1", only_eth0, NULL,
                                            missing, sizeof missing);

  cr_assert_str_eq (l, "auto eth0\nallow-hotplug eth1  # v2v-kubevirt: no "
                    "such NIC on KubeVirt");
  cr_assert_str_eq (missing, " eth1");
  free (l);
  l = convert_internal_ifupdown_auto ("auto eth1", only_eth0, NULL, missing,
                                      sizeof missing);
  cr_assert_str_eq (l, "allow-hotplug eth1  # v2v-kubevirt: no such NIC on "
                    "KubeVirt");
  free (l);
  /* lo is no NIC; present NICs and other lines are left alone. */
  cr_assert_null (convert_internal_ifupdown_auto ("auto lo", only_eth0, NULL,
                                                  missing, sizeof missing));
  cr_assert_null (convert_internal_ifupdown_auto ("auto lo eth0", only_eth0,
                                                  NULL, missing,
                                                  sizeof missing));
  cr_assert_null (convert_internal_ifupdown_auto ("iface eth1 inet dhcp",
                                                  only_eth0, NULL, missing,
                                                  sizeof missing));
}
