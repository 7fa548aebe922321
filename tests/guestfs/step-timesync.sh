#!/bin/bash
# guestfs tier: the timesync step alone, on a copy of the phony Debian
# (chrony on the Amazon Time Sync address alone): see
# tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step timesync

expect_result applied
expect_changes <<'EOF2'
~ /etc/chrony/chrony.conf
EOF2
# Nothing is left but the Amazon address: Debian's pool is added.
expect_diff /etc/chrony/chrony.conf <<'EOF2'
--- a/etc/chrony/chrony.conf
+++ b/etc/chrony/chrony.conf
@@ -5 +5 @@
-server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4
+#server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4  # v2v-kubevirt: EC2-only time source
@@ -15,0 +16,2 @@
+# Added by v2v-kubevirt: the distribution's default pool.
+pool 2.debian.pool.ntp.org iburst
EOF2
check_step_report
finish
