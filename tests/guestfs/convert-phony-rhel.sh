#!/bin/bash
# guestfs tier: "v2v-agent convert" on the phony RHEL 9.4 guest, a
# Xen-era instance: fstab and $kernelopts on /dev/xvda1 with
# console=hvc0, BLS entries, dracut, NetworkManager keyfile plus
# ifcfg-eth0 pinned to the ENI's MAC, an instance-store line,
# cloud-init pinned to Ec2 by 99_ec2.cfg, SSM, CloudWatch and
# xe-guest-utilities, chrony with a pool and the Amazon address,
# SELinux enforcing.  Every edit is asserted on the files read back.
# shellcheck source=tests/guestfs/convert-phony-lib.sh
. "$(dirname "$0")/convert-phony-lib.sh"
# The device map says /dev/xvdb was instance store (the orchestrator
# passes the same from the block device mapping).
convert_args=(--disk-name 1=ephemeral0,/dev/xvdb)
phony_convert rhel 1

kver=5.14.0-427.13.1.el9_4.x86_64
kold=5.14.0-362.8.1.el9_3.x86_64
uuid=4e100009-0000-4000-8000-0000000000a1
mid=4e1000094e1000094e1000094e100009
units=/etc/systemd/system

expect_changes <<EOF
$(selinux_autorelabel)
~ /boot/grub2/grubenv
~ /boot/initramfs-$kver.img
~ /etc/NetworkManager/system-connections/cloud-init-eth0.nmconnection
~ /etc/chrony.conf
+ /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg
~ /etc/default/grub
+ /etc/dracut.conf.d/90-v2v-kubevirt.conf
~ /etc/fstab
~ /etc/sysconfig/network-scripts/ifcfg-eth0
+ /etc/systemd/network/10-v2v-kubevirt-virtio.link
~ $units/amazon-cloudwatch-agent.service -> /dev/null
~ $units/amazon-ssm-agent.service -> /dev/null
- $units/multi-user.target.wants/amazon-cloudwatch-agent.service -> $units/amazon-cloudwatch-agent.service
- $units/multi-user.target.wants/amazon-ssm-agent.service -> $units/amazon-ssm-agent.service
- $units/multi-user.target.wants/xe-linux-distribution.service -> /usr/lib/systemd/system/xe-linux-distribution.service
+ $units/xe-linux-distribution.service -> /dev/null
+ /var/lib/cloud/seed/nocloud/meta-data
+ /var/lib/cloud/seed/nocloud/user-data
+ /var/lib/v2v-kubevirt/converted.json
~ /var/log/phony-tools.log
EOF

# fstab: the Xen device name becomes the xfs UUID; the instance store
# (ephemeral0 in the map) is kept, on the VM's scratch disk by its serial,
# nofail and no short device timeout (the disk is there; "auto": not
# formatted by systemd).
expect_diff /etc/fstab <<EOF
--- a/etc/fstab
+++ b/etc/fstab
@@ -9,2 +9,2 @@
-/dev/xvda1              /                       xfs     defaults        0 0
-/dev/xvdb	/media/ephemeral0	auto	defaults,nofail,x-systemd.requires=cloud-init.service,_netdev,comment=cloudconfig	0	2
+UUID=$uuid              /                       xfs     defaults        0 0
+/dev/disk/by-id/virtio-ephemeral0	/media/ephemeral0	auto	defaults,nofail,x-systemd.requires=cloud-init.service,_netdev,comment=cloudconfig	0	2
EOF

# Bootloader: grubenv's kernelopts and /etc/default/grub, as
# step-bootloader asserts them.  The BLS entries themselves say
# $kernelopts and stay as they are.
expect_bootloader_rhel "$kver" "$uuid" "$mid"
expect_output "BLS options" 0 sh -c 'grep -h "^options" "$1"/*.conf' - \
    "$conv/boot/loader/entries" <<'EOF'
options $kernelopts $tuned_params
options $kernelopts $tuned_params
EOF
expect_step bootloader applied

# initramfs: virtio in a dracut.conf.d drop-in, and the guest's dracut
# rebuilds the default (newest) kernel's image only.
expect_file /etc/dracut.conf.d/90-v2v-kubevirt.conf <<'EOF'
# Written by v2v-kubevirt: the disks and NIC are virtio on KubeVirt.
add_drivers+=" virtio_pci virtio_blk virtio_scsi virtio_net "
EOF
expect_log <<EOF
lsinitrd /boot/initramfs-$kver.img
dracut -f /boot/initramfs-$kver.img $kver
EOF
# virtio_pci is built in (=y): not in the image, and not needed there.
expect_initrd /boot/initramfs-$kver.img <<'EOF'
ena nvme nvme-core virtio_blk virtio_net virtio_scsi xen-blkfront xen-netfront xfs
EOF
expect_output "default kernel" 0 report -r '.guest.kernels[] | select(.default) | .version' <<EOF
$kver
EOF
expect_output "warnings" 0 report '.warnings[] | select(test("selinux") | not)' <<EOF
/etc/fstab: /dev/xvdb (/media/ephemeral0) is instance store ephemeral0: it is kept on the VM's empty scratch disk /dev/disk/by-id/virtio-ephemeral0 (nofail), its data is not migrated
kernel $kold: initramfs not rebuilt (only the default kernel's is); it gets virtio drivers at its next rebuild in the guest
EOF

# Network: eth0 (net.ifnames=0) is what the keyfile and ifcfg name; the
# .link file gives the virtio NIC that name, and both MAC pins go.
expect_virtio_link eth0
expect_diff /etc/sysconfig/network-scripts/ifcfg-eth0 <<'EOF'
--- a/etc/sysconfig/network-scripts/ifcfg-eth0
+++ b/etc/sysconfig/network-scripts/ifcfg-eth0
@@ -5 +5 @@
-HWADDR=0a:4e:10:00:09:01
+#HWADDR=0a:4e:10:00:09:01  # v2v-kubevirt: EC2 MAC
EOF
expect_diff /etc/NetworkManager/system-connections/cloud-init-eth0.nmconnection <<'EOF'
--- a/etc/NetworkManager/system-connections/cloud-init-eth0.nmconnection
+++ b/etc/NetworkManager/system-connections/cloud-init-eth0.nmconnection
@@ -14 +14 @@
-mac-address=0A:4E:10:00:09:01
+#mac-address=0A:4E:10:00:09:01  # v2v-kubevirt: EC2 MAC
EOF

# cloud-init: the drop-in sorts after the image's 99_ec2.cfg, and the
# NoCloud seed keeps the EC2 instance-id.
expect_output "cloud.cfg.d order" 0 sh -c 'cd "$1" && ls | LC_ALL=C sort' - \
    "$conv/etc/cloud/cloud.cfg.d" <<'EOF'
05_logging.cfg
99_ec2.cfg
zz-v2v-kubevirt.cfg
EOF
expect_file /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg <<'EOF'
# Written by v2v-kubevirt: KubeVirt provides NoCloud or ConfigDrive,
# never the EC2 metadata service.
datasource_list: [ NoCloud, ConfigDrive, None ]
EOF
expect_file /var/lib/cloud/seed/nocloud/meta-data <<'EOF'
# Written by v2v-kubevirt: the instance-id the guest had on EC2.
instance-id: i-04e1000090abcdef1
EOF
expect_file /var/lib/cloud/seed/nocloud/user-data <<'EOF'
#cloud-config
{}
EOF

# AWS agents masked (the change list shows the wants links gone).
for u in amazon-ssm-agent amazon-cloudwatch-agent xe-linux-distribution; do
    expect_link $units/$u.service /dev/null
done

# chrony: the Amazon address is commented out; the pool stays, so no
# pool is added.
expect_diff /etc/chrony.conf <<'EOF'
--- a/etc/chrony.conf
+++ b/etc/chrony.conf
@@ -6 +6 @@
-server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4
+#server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4  # v2v-kubevirt: EC2-only time source
EOF

expect_step xen skipped
expect_step initramfs applied
expect_step selinux applied
expect_output "firmware hint" 0 report .kubevirt_hints.firmware <<< bios
check_report
finish
