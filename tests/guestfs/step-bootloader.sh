#!/bin/bash
# guestfs tier: the bootloader step alone, on a copy of the phony RHEL
# (kernelopts in grubenv and GRUB_CMDLINE_LINUX on /dev/xvda1 with
# console=hvc0, BLS entries using $kernelopts): see
# tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step bootloader
kver=5.14.0-427.13.1.el9_4.x86_64
uuid=4e100009-0000-4000-8000-0000000000a1
mid=4e1000094e1000094e1000094e100009

expect_result applied
expect_changes <<'EOF2'
~ /boot/grub2/grubenv
~ /etc/default/grub
EOF2
expect_bootloader_rhel "$kver" "$uuid" "$mid"
check_step_report
finish
