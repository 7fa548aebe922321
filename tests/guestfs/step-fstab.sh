#!/bin/bash
# guestfs tier: the fstab step alone, on a copy of the phony Debian
# (/dev/nvme0n1p1 for /, an instance-store line on /dev/nvme1n1): see
# tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step fstab
uuid=deb12000-0000-4000-8000-0000000000a1

expect_result applied
expect_changes <<'EOF2'
~ /etc/fstab
EOF2
expect_diff /etc/fstab <<EOF2
--- a/etc/fstab
+++ b/etc/fstab
@@ -2 +2 @@
-/dev/nvme0n1p1 / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1
+UUID=$uuid / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1
@@ -4 +4 @@
-/dev/nvme1n1 /mnt/instance-store ext4 defaults 0 2
+# v2v-kubevirt: instance store, not migrated: /dev/nvme1n1 /mnt/instance-store ext4 defaults 0 2
EOF2
check_step_report
finish
