#!/bin/bash
# guestfs tier: the initramfs step alone, on a copy of the phony Debian
# (initramfs-tools, MODULES=list with EC2 drivers only, no virtio in the
# image): see tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step initramfs
kver=6.1.0-18-cloud-amd64

expect_result applied "/boot/initrd.img-$kver lacks virtio_blk/virtio_pci"
expect_changes <<EOF2
~ /boot/initrd.img-$kver
~ /etc/initramfs-tools/modules
~ /var/log/phony-tools.log
EOF2
expect_initramfs_debian "$kver"
check_step_report
finish
