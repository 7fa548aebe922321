#!/bin/bash
# guestfs tier: the aws-agents step alone, on a copy of the phony Amazon
# Linux 2023 (SSM and hibinit enabled, EC2 Instance Connect in sshd):
# see tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step aws-agents
units=/etc/systemd/system

expect_result applied
expect_changes <<EOF2
~ /etc/ssh/sshd_config
+ $units/amazon-ssm-agent.service -> /dev/null
+ $units/hibinit-agent.service -> /dev/null
- $units/multi-user.target.wants/amazon-ssm-agent.service -> /usr/lib/systemd/system/amazon-ssm-agent.service
- $units/multi-user.target.wants/hibinit-agent.service -> /usr/lib/systemd/system/hibinit-agent.service
EOF2
expect_diff /etc/ssh/sshd_config <<'EOF2'
--- a/etc/ssh/sshd_config
+++ b/etc/ssh/sshd_config
@@ -10,2 +10,2 @@
-AuthorizedKeysCommand /opt/aws/bin/eic_run_authorized_keys %u %f
-AuthorizedKeysCommandUser ec2-instance-connect
+#AuthorizedKeysCommand /opt/aws/bin/eic_run_authorized_keys %u %f  # v2v-kubevirt: EC2 Instance Connect
+#AuthorizedKeysCommandUser ec2-instance-connect  # v2v-kubevirt: EC2 Instance Connect
EOF2
expect_link $units/amazon-ssm-agent.service /dev/null
expect_link $units/hibinit-agent.service /dev/null
check_step_report
finish
