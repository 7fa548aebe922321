#!/bin/bash
# guestfs tier: the compat-ahci step alone, on a copy of the phony Amazon
# Linux 2023 (ahci and sd_mod modules, not in its initramfs): see
# tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step compat-ahci
kver=6.1.90-99.173.amzn2023.x86_64

expect_result applied \
    "/boot/initramfs-$kver.img lacks ahci/sd_mod, which a SATA root disk needs"
expect_changes <<EOF2
~ /boot/initramfs-$kver.img
+ /etc/dracut.conf.d/90-v2v-kubevirt-compat.conf
~ /var/log/phony-tools.log
EOF2
expect_file /etc/dracut.conf.d/90-v2v-kubevirt-compat.conf <<'EOF2'
# Written by v2v-kubevirt: the disks are SATA (AHCI) in KubeVirt compatibility mode.
add_drivers+=" ahci sd_mod "
EOF2
expect_log <<EOF2
lsinitrd /boot/initramfs-$kver.img
dracut -f /boot/initramfs-$kver.img $kver
EOF2
expect_initrd "/boot/initramfs-$kver.img" <<'EOF2'
ahci ena sd_mod virtio_scsi xen-blkfront xen-netfront
EOF2
check_step_report
finish
