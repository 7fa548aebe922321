#!/bin/bash
# guestfs tier: the aws-services step alone, on a copy of the phony
# Windows Server 2022: the AWS PV drivers and the EC2 agents disabled
# (Start=4), ENA and AWS NVMe left alone.  See tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step aws-services
sys=$conv/Windows/System32/Config/SYSTEM
cs=ControlSet001

expect_result applied "Start=4 (disabled): xenbus xenfilt xeniface xennet xenvbd xenvif Amazon EC2Launch AmazonSSMAgent"
expect_changes <<'EOF2'
~ /Windows/System32/Config/SYSTEM
EOF2
for s in xenbus xenfilt xeniface xenvbd xenvif xennet 'Amazon EC2Launch' AmazonSSMAgent; do
    expect_output "$s Start" 0 reg "$sys" "$cs\\Services\\$s" Start <<< 4
done
expect_output "xenvbd Start before" 0 reg "$orig/Windows/System32/Config/SYSTEM" "$cs\\Services\\xenvbd" Start <<< 0
expect_output "ena Start (kept)" 0 reg "$sys" "$cs\\Services\\ena" Start <<< 3
expect_output "AWSNVMe Start (kept)" 0 reg "$sys" "$cs\\Services\\AWSNVMe" Start <<< 0
check_step_report
finish
