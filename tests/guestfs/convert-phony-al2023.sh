#!/bin/bash
# guestfs tier: "v2v-agent convert" on the phony Amazon Linux 2023 guest:
# GPT with an ESP that already has the UEFI fallback, fstab by UUID, BLS
# entries with literal options, virtio_blk/virtio_pci built into the
# kernel and virtio_scsi in the initramfs (so no rebuild), networkd
# configured only by amazon-ec2-net-utils, EC2 Instance Connect in sshd,
# chrony on both Amazon Time Sync addresses beside a pool, SSM and
# hibinit, SELinux.  Every edit is asserted on the files read back.
# shellcheck source=tests/guestfs/convert-phony-lib.sh
. "$(dirname "$0")/convert-phony-lib.sh"
phony_convert al2023 1 128

kver=6.1.90-99.173.amzn2023.x86_64
units=/etc/systemd/system

expect_changes <<EOF
$(selinux_autorelabel)
+ /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg
~ /etc/chrony.d/link-local.sources
~ /etc/ssh/sshd_config
+ /etc/systemd/network/80-ec2.network -> /dev/null
+ /etc/systemd/network/80-v2v-kubevirt-virtio.network
+ $units/amazon-ssm-agent.service -> /dev/null
+ $units/hibinit-agent.service -> /dev/null
- $units/multi-user.target.wants/amazon-ssm-agent.service -> /usr/lib/systemd/system/amazon-ssm-agent.service
- $units/multi-user.target.wants/hibinit-agent.service -> /usr/lib/systemd/system/hibinit-agent.service
+ /etc/udev/rules.d/99-vpc-policy-routes.rules -> /dev/null
+ /var/lib/cloud/seed/nocloud/meta-data
+ /var/lib/cloud/seed/nocloud/user-data
+ /var/lib/v2v-kubevirt/converted.json
~ /var/log/phony-tools.log
EOF

# initramfs: the image already boots on virtio, so it is only listed,
# never rebuilt, and the report says why.
expect_step initramfs skipped \
    "/boot/initramfs-$kver.img already has virtio_blk and virtio_pci: rebuild skipped"
expect_log <<EOF
lsinitrd /boot/initramfs-$kver.img
EOF

# Bootloader: nothing names an EC2 device or the Xen console, the BLS
# entries included, and the ESP has EFI/BOOT/BOOTX64.EFI: nothing to do
# (the change list shows that nothing under /boot changed).
expect_step bootloader skipped \
    "kernel command line already free of EC2 device and console names"

# Network: amazon-ec2-net-utils' networkd config and udev rule are
# masked, and since 80-ec2.network (ENA and Xen NICs only) was all the
# config there was, a .network gives the virtio NIC DHCP.  No interface
# name is configured anywhere, so there is no .link file.
expect_link /etc/systemd/network/80-ec2.network /dev/null
expect_link /etc/udev/rules.d/99-vpc-policy-routes.rules /dev/null
expect_file /etc/systemd/network/80-v2v-kubevirt-virtio.network <<'EOF'
# Written by v2v-kubevirt.  On EC2, amazon-ec2-net-utils' 80-ec2.network
# (masked now) configured the ENA NIC; configure the KubeVirt virtio NIC.
[Match]
Driver=virtio_net

[Network]
DHCP=yes
EOF

# EC2 Instance Connect: its sshd AuthorizedKeysCommand is commented out.
expect_diff /etc/ssh/sshd_config <<'EOF'
--- a/etc/ssh/sshd_config
+++ b/etc/ssh/sshd_config
@@ -10,2 +10,2 @@
-AuthorizedKeysCommand /opt/aws/bin/eic_run_authorized_keys %u %f
-AuthorizedKeysCommandUser ec2-instance-connect
+#AuthorizedKeysCommand /opt/aws/bin/eic_run_authorized_keys %u %f  # v2v-kubevirt: EC2 Instance Connect
+#AuthorizedKeysCommandUser ec2-instance-connect  # v2v-kubevirt: EC2 Instance Connect
EOF
expect_link $units/amazon-ssm-agent.service /dev/null
expect_link $units/hibinit-agent.service /dev/null

# chrony: both Amazon Time Sync addresses are commented out.  The pool in
# ntp-pool.sources is left, so no pool is added (chrony.conf unchanged).
expect_diff /etc/chrony.d/link-local.sources <<'EOF'
--- a/etc/chrony.d/link-local.sources
+++ b/etc/chrony.d/link-local.sources
@@ -2,2 +2,2 @@
-server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4
-server fd00:ec2::123 prefer iburst minpoll 4 maxpoll 4
+#server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4  # v2v-kubevirt: EC2-only time source
+#server fd00:ec2::123 prefer iburst minpoll 4 maxpoll 4  # v2v-kubevirt: EC2-only time source
EOF
expect_output "chrony sources left" 0 \
    sh -c 'cat "$1"/etc/chrony.conf "$1"/etc/chrony.d/* | grep -E "^(server|pool|peer) "' - "$conv" <<'EOF'
pool 2.amazon.pool.ntp.org iburst
EOF

# cloud-init.
expect_file /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg <<'EOF'
# Written by v2v-kubevirt: KubeVirt provides NoCloud or ConfigDrive,
# never the EC2 metadata service.
datasource_list: [ NoCloud, ConfigDrive, None ]
EOF
expect_file /var/lib/cloud/seed/nocloud/meta-data <<'EOF'
# Written by v2v-kubevirt: the instance-id the guest had on EC2.
instance-id: i-0a12023000abcdef2
EOF

expect_step fstab skipped "/etc/fstab uses no EC2 device names"
expect_step xen skipped
expect_step selinux applied
expect_output "firmware hint" 0 report .kubevirt_hints.firmware <<< efi
check_report
finish
