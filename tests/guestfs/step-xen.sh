#!/bin/bash
# guestfs tier: the xen step alone, on a copy of the phony SLES 15 (a
# getty on hvc0, Xen drivers in INITRD_MODULES): see
# tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step xen
units=/etc/systemd/system

expect_result applied "a getty is enabled on the Xen console"
expect_changes <<EOF2
~ /etc/sysconfig/kernel
- $units/getty.target.wants/serial-getty@hvc0.service -> /usr/lib/systemd/system/serial-getty@.service
EOF2
expect_diff /etc/sysconfig/kernel <<'EOF2'
--- a/etc/sysconfig/kernel
+++ b/etc/sysconfig/kernel
@@ -9 +9 @@
-INITRD_MODULES="xen-blkfront xen-netfront xen-kbdfront"
+INITRD_MODULES=""
EOF2
check_step_report
finish
