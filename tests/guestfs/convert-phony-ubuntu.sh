#!/bin/bash
# guestfs tier: "v2v-agent convert" on the phony Ubuntu 22.04 guest: the
# cloud image's GPT (p1 root LABEL=cloudimg-rootfs, p14 BIOS boot, p15
# ESP without the EFI/BOOT fallback), fstab by LABEL=, GRUB_FORCE_PARTUUID
# with a kernel that has virtio_blk as a module, initramfs-tools,
# cloud-init's netplan matching ens5 by MAC, SSM as a snap, chrony on the
# Amazon address beside Ubuntu's pools.  Every edit is asserted on the
# files read back.
# shellcheck source=tests/guestfs/convert-phony-lib.sh
. "$(dirname "$0")/convert-phony-lib.sh"
phony_convert ubuntu 1 15

kver=6.5.0-1017-aws
units=/etc/systemd/system
ssm=snap.amazon-ssm-agent.amazon-ssm-agent.service

expect_changes <<EOF
+ /boot/efi/EFI/BOOT/BOOTX64.EFI
+ /boot/efi/EFI/BOOT/grubx64.efi
~ /boot/grub/grub.cfg
~ /boot/initrd.img-$kver
~ /etc/chrony/chrony.conf
+ /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg
~ /etc/default/grub.d/40-force-partuuid.cfg
~ /etc/initramfs-tools/modules
~ /etc/netplan/50-cloud-init.yaml
+ /etc/systemd/network/10-v2v-kubevirt-virtio.link
- $units/multi-user.target.wants/$ssm -> $units/$ssm
~ $units/$ssm -> /dev/null
+ /var/lib/cloud/seed/nocloud/meta-data
+ /var/lib/cloud/seed/nocloud/user-data
+ /var/lib/v2v-kubevirt/converted.json
~ /var/log/phony-tools.log
EOF

# UEFI: KubeVirt's firmware has no EC2 NVRAM entry, so the removable-media
# path gets the guest's shim, with grub beside it where shim looks.
expect_output "fallback loader" 0 sh -c \
    'cmp "$1/BOOT/BOOTX64.EFI" "$1/ubuntu/shimx64.efi" &&
     cmp "$1/BOOT/grubx64.efi" "$1/ubuntu/grubx64.efi" && echo same' \
    - "$conv/boot/efi/EFI" <<< same

# GRUB_FORCE_PARTUUID boots without the initramfs, which this kernel
# needs for virtio_blk: it is commented out, and the guest's update-grub
# writes a grub.cfg that always loads the initramfs.  Root stays on its
# label: no device name anywhere.
expect_diff /etc/default/grub.d/40-force-partuuid.cfg <<'EOF'
--- a/etc/default/grub.d/40-force-partuuid.cfg
+++ b/etc/default/grub.d/40-force-partuuid.cfg
@@ -3 +3 @@
-GRUB_FORCE_PARTUUID=c10d2204-0000-4000-8000-0000000000b1
+#GRUB_FORCE_PARTUUID=c10d2204-0000-4000-8000-0000000000b1  # v2v-kubevirt: virtio drivers are in the initramfs
EOF
expect_output "grub.cfg boot lines" 0 grep -E '^\s*(linux|initrd)\s' "$conv/boot/grub/grub.cfg" <<EOF
	linux /boot/vmlinuz-$kver root=LABEL=cloudimg-rootfs ro  console=tty1 console=ttyS0 nvme_core.io_timeout=4294967295
	initrd /boot/initrd.img-$kver
EOF
expect_step bootloader applied \
    "GRUB_FORCE_PARTUUID skips the initramfs, which virtio needs; no removable-media UEFI loader (EFI/BOOT/BOOTX64.EFI)"

# initramfs-tools: virtio in the modules file, and the guest's
# update-initramfs rebuilds the image.
expect_diff /etc/initramfs-tools/modules <<'EOF'
--- a/etc/initramfs-tools/modules
+++ b/etc/initramfs-tools/modules
@@ -6,0 +7,5 @@
+# Added by v2v-kubevirt: the disks and NIC are virtio on KubeVirt
+virtio_pci
+virtio_blk
+virtio_scsi
+virtio_net
EOF
expect_log <<EOF
update-grub
lsinitramfs /boot/initrd.img-$kver
update-initramfs -u -k $kver
EOF
# virtio_pci is built in (=y); ena comes from the image's conventions.
expect_initrd /boot/initrd.img-$kver <<'EOF'
ena virtio_blk virtio_net virtio_scsi
EOF

# Network: netplan's MAC match goes and the .link file names the virtio
# NIC ens5, as step-network asserts it.
expect_netplan_ubuntu

# SSM, installed as a snap: its generated unit is masked, and the snap
# itself (mount unit, squashfs) is left alone.
expect_link $units/$ssm /dev/null

# chrony: the Amazon address goes; Ubuntu's pools are left.
expect_diff /etc/chrony/chrony.conf <<'EOF'
--- a/etc/chrony/chrony.conf
+++ b/etc/chrony/chrony.conf
@@ -5 +5 @@
-server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4
+#server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4  # v2v-kubevirt: EC2-only time source
EOF

expect_file /var/lib/cloud/seed/nocloud/meta-data <<'EOF'
# Written by v2v-kubevirt: the instance-id the guest had on EC2.
instance-id: i-0c10d2204a1b2c3d4
EOF
expect_file /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg <<'EOF'
# Written by v2v-kubevirt: KubeVirt provides NoCloud or ConfigDrive,
# never the EC2 metadata service.
datasource_list: [ NoCloud, ConfigDrive, None ]
EOF

expect_step fstab skipped "/etc/fstab uses no EC2 device names"
expect_output "firmware hint" 0 report .kubevirt_hints.firmware <<< efi
check_report
finish
