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
expect_netplan_ubuntu
check_step_report
finish
