#!/bin/bash
# guestfs tier: the cloud-init step alone, on a copy of the phony Debian
# (datasource_list pinned to Ec2, an EC2 instance-id): see
# tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step cloud-init

expect_result applied "cloud-init would look for the EC2 metadata service"
expect_changes <<'EOF2'
+ /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg
+ /var/lib/cloud/seed/nocloud/meta-data
+ /var/lib/cloud/seed/nocloud/user-data
EOF2
expect_file /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg <<'EOF2'
# Written by v2v-kubevirt: KubeVirt provides NoCloud or ConfigDrive,
# never the EC2 metadata service.
datasource_list: [ NoCloud, ConfigDrive, None ]
EOF2
expect_file /var/lib/cloud/seed/nocloud/meta-data <<'EOF2'
# Written by v2v-kubevirt: the instance-id the guest had on EC2.
instance-id: i-0deb12a1b2c3d4e5f
EOF2
expect_file /var/lib/cloud/seed/nocloud/user-data <<'EOF2'
#cloud-config
{}
EOF2
check_step_report
finish
