#!/bin/bash
# guestfs tier: the network step alone, on a copy of the phony Ubuntu
# (cloud-init's netplan matching ens5 by the ENI's MAC): see
# tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step network

expect_result applied "config is bound to ens5; virtio NIC would be named differently"
expect_changes <<'EOF2'
~ /etc/netplan/50-cloud-init.yaml
+ /etc/systemd/network/10-v2v-kubevirt-virtio.link
EOF2
expect_diff /etc/netplan/50-cloud-init.yaml <<'EOF2'
--- a/etc/netplan/50-cloud-init.yaml
+++ b/etc/netplan/50-cloud-init.yaml
@@ -11,3 +11,3 @@
-            match:
-                macaddress: 0a:5e:c2:04:22:04
-            set-name: ens5
+            #match:  # v2v-kubevirt: EC2 MAC
+                #macaddress: 0a:5e:c2:04:22:04  # v2v-kubevirt: EC2 MAC
+            #set-name: ens5  # v2v-kubevirt: EC2 MAC
EOF2
expect_output "netplan mode" 0 stat -c %a "$conv/etc/netplan/50-cloud-init.yaml" <<< 600
expect_file /etc/systemd/network/10-v2v-kubevirt-virtio.link <<'EOF2'
# Written by v2v-kubevirt.  On EC2 this guest's NIC was ens5 and its
# network config still says so; give the KubeVirt virtio NIC that name.
[Match]
Driver=virtio_net

[Link]
Name=ens5
EOF2
check_step_report
finish
