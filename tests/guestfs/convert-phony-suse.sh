#!/bin/bash
# guestfs tier: "v2v-agent convert" on the phony SLES 15 SP5 guest: GPT
# with a BIOS boot partition, an ESP (with the fallback) and xfs, not
# /usr-merged, grub2 with console=hvc0 and a getty on hvc0, Xen drivers
# in /etc/sysconfig/kernel INITRD_MODULES, dracut (with mkinitrd beside
# it), wicked ifcfg-eth0, chrony on the Amazon address alone.  Every edit
# is asserted on the files read back.
# shellcheck source=tests/guestfs/convert-phony-lib.sh
. "$(dirname "$0")/convert-phony-lib.sh"
phony_convert suse 3 2

kver=5.14.21-150500.55.52-default
uuid=5e150005-0000-4000-8000-0000000000a1
units=/etc/systemd/system

expect_changes <<EOF
~ /boot/grub2/grub.cfg
~ /boot/initrd-$kver
~ /etc/chrony.conf
+ /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg
~ /etc/default/grub
+ /etc/dracut.conf.d/90-v2v-kubevirt.conf
~ /etc/sysconfig/bootloader
~ /etc/sysconfig/kernel
+ /etc/systemd/network/10-v2v-kubevirt-virtio.link
+ $units/amazon-ssm-agent.service -> /dev/null
- $units/getty.target.wants/serial-getty@hvc0.service -> /usr/lib/systemd/system/serial-getty@.service
- $units/multi-user.target.wants/amazon-ssm-agent.service -> /usr/lib/systemd/system/amazon-ssm-agent.service
+ /var/lib/cloud/seed/nocloud/meta-data
+ /var/lib/cloud/seed/nocloud/user-data
+ /var/lib/v2v-kubevirt/converted.json
~ /var/log/phony-tools.log
EOF

# Xen leftovers: the getty on hvc0 goes (change list), and so does every
# Xen driver in INITRD_MODULES.  virtio goes to a dracut.conf.d drop-in,
# not to INITRD_MODULES: on SLE 12 and later dracut builds the initrd
# (mkinitrd is a wrapper around it) and drop-ins are its configuration.
expect_step xen applied "a getty is enabled on the Xen console"
expect_diff /etc/sysconfig/kernel <<'EOF'
--- a/etc/sysconfig/kernel
+++ b/etc/sysconfig/kernel
@@ -9 +9 @@
-INITRD_MODULES="xen-blkfront xen-netfront xen-kbdfront"
+INITRD_MODULES=""
EOF
expect_file /etc/dracut.conf.d/90-v2v-kubevirt.conf <<'EOF'
# Written by v2v-kubevirt: the disks and NIC are virtio on KubeVirt.
add_drivers+=" virtio_pci virtio_blk virtio_scsi virtio_net "
EOF
expect_step initramfs applied "/boot/initrd-$kver lacks virtio_blk/virtio_pci"
expect_log <<EOF
lsinitrd /boot/initrd-$kver
dracut -f /boot/initrd-$kver $kver
EOF
# The Xen drivers still come from the image's own 07-aws-type-switch.conf.
expect_initrd /boot/initrd-$kver <<'EOF'
ena nvme nvme-core virtio virtio_blk virtio_net virtio_pci virtio_ring virtio_scsi xen-blkfront xen-netfront xfs
EOF

# Bootloader: console=hvc0 goes (console=ttyS0 is there already), in
# grub.cfg, /etc/default/grub and /etc/sysconfig/bootloader (from which
# perl-Bootloader rewrites grub's defaults on kernel updates) alike;
# root= was UUID= already.
expect_diff /etc/sysconfig/bootloader <<'EOF'
--- a/etc/sysconfig/bootloader
+++ b/etc/sysconfig/bootloader
@@ -4 +4 @@
-DEFAULT_APPEND="USE_BY_UUID_DEVICE_NAMES=1 console=ttyS0,115200 console=hvc0 multipath=off net.ifnames=0 nvme_core.io_timeout=4294967295 dis_ucode_ldr"
+DEFAULT_APPEND="USE_BY_UUID_DEVICE_NAMES=1 console=ttyS0,115200 multipath=off net.ifnames=0 nvme_core.io_timeout=4294967295 dis_ucode_ldr"
EOF
expect_diff /boot/grub2/grub.cfg <<EOF
--- a/boot/grub2/grub.cfg
+++ b/boot/grub2/grub.cfg
@@ -18 +18 @@
-	linux	/boot/vmlinuz-$kver root=UUID=$uuid  USE_BY_UUID_DEVICE_NAMES=1 console=ttyS0,115200 console=hvc0 multipath=off net.ifnames=0 nvme_core.io_timeout=4294967295 dis_ucode_ldr
+	linux	/boot/vmlinuz-$kver root=UUID=$uuid  USE_BY_UUID_DEVICE_NAMES=1 console=ttyS0,115200 multipath=off net.ifnames=0 nvme_core.io_timeout=4294967295 dis_ucode_ldr
EOF
expect_diff /etc/default/grub <<'EOF'
--- a/etc/default/grub
+++ b/etc/default/grub
@@ -8 +8 @@
-GRUB_CMDLINE_LINUX_DEFAULT="USE_BY_UUID_DEVICE_NAMES=1 console=ttyS0,115200 console=hvc0 multipath=off net.ifnames=0 nvme_core.io_timeout=4294967295 dis_ucode_ldr"
+GRUB_CMDLINE_LINUX_DEFAULT="USE_BY_UUID_DEVICE_NAMES=1 console=ttyS0,115200 multipath=off net.ifnames=0 nvme_core.io_timeout=4294967295 dis_ucode_ldr"
EOF

# Network: wicked's ifcfg-eth0 names eth0 and pins no MAC, so it stays
# as it is, and the .link file gives the virtio NIC that name.
expect_virtio_link eth0
expect_output "the guest's NIC names" 0 report -c .guest.nic_names <<< '["eth0"]'

# chrony: the Amazon address was the only source ('!' is a comment), so
# SUSE's pool is added.
expect_diff /etc/chrony.conf <<'EOF'
--- a/etc/chrony.conf
+++ b/etc/chrony.conf
@@ -4 +4 @@
-server 169.254.169.123 prefer iburst
+#server 169.254.169.123 prefer iburst  # v2v-kubevirt: EC2-only time source
@@ -9,0 +10,2 @@
+# Added by v2v-kubevirt: the distribution's default pool.
+pool 2.suse.pool.ntp.org iburst
EOF

expect_link $units/amazon-ssm-agent.service /dev/null
expect_file /var/lib/cloud/seed/nocloud/meta-data <<'EOF'
# Written by v2v-kubevirt: the instance-id the guest had on EC2.
instance-id: i-05e150005abcdef03
EOF
expect_file /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg <<'EOF'
# Written by v2v-kubevirt: KubeVirt provides NoCloud or ConfigDrive,
# never the EC2 metadata service.
datasource_list: [ NoCloud, ConfigDrive, None ]
EOF

expect_step fstab skipped
expect_step selinux skipped
expect_output "firmware hint" 0 report .kubevirt_hints.firmware <<< efi
check_report
finish
