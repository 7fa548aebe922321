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
# grubenv keeps its signature and its 1024 bytes.
expect_output "grubenv size and signature" 0 \
    sh -c 'stat -c %s "$1"; head -n 1 "$1"' - "$conv/boot/grub2/grubenv" <<EOF2
1024
# GRUB Environment Block
EOF2
expect_output "grubenv variables" 0 grep -v '^#' "$conv/boot/grub2/grubenv" <<EOF2
saved_entry=$mid-$kver
kernelopts=root=UUID=$uuid ro console=ttyS0,115200n8 net.ifnames=0 nvme_core.io_timeout=4294967295 crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M
boot_success=1
EOF2
expect_diff /etc/default/grub <<'EOF2'
--- a/etc/default/grub
+++ b/etc/default/grub
@@ -7 +7 @@
-GRUB_CMDLINE_LINUX="console=hvc0 console=ttyS0,115200n8 net.ifnames=0 nvme_core.io_timeout=4294967295 crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M"
+GRUB_CMDLINE_LINUX="console=ttyS0,115200n8 net.ifnames=0 nvme_core.io_timeout=4294967295 crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M"
EOF2
check_step_report
finish
