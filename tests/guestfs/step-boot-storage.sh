#!/bin/bash
# guestfs tier: the boot-storage step alone, on a copy of the phony
# Windows Server 2022 (DriverDatabase): viostor as a boot-start service
# bound to its PCI IDs, its package in the DriverStore.  See
# tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step boot-storage
vdir=$V2V_STEPS_DIR/vw/drivers/by-os/amd64/2k22
sys=$conv/Windows/System32/Config/SYSTEM
cs=ControlSet001
drv=viostor

expect_result applied "viostor as a boot-start service, bound to its PCI IDs in the DriverDatabase (Windows 8/2012 and later)"
pkg=$(reg "$sys" "DriverDatabase\\DriverInfFiles\\$drv.inf" Active)
[[ $pkg =~ ^$drv\.inf_amd64_[0-9a-f]{16}$ ]] || fail_later "DriverInfFiles Active: '$pkg'"
expect_changes <<EOF2
~ /Windows/System32/Config/SYSTEM
+ /Windows/System32/DriverStore/FileRepository/$pkg/$drv.cat
+ /Windows/System32/DriverStore/FileRepository/$pkg/$drv.inf
+ /Windows/System32/DriverStore/FileRepository/$pkg/$drv.sys
EOF2
expect_file "/Windows/System32/DriverStore/FileRepository/$pkg/$drv.inf" < "$vdir/$drv.inf"
k="$cs\\Services\\$drv"
expect_output "$drv service" 0 sh -c 'for v in Type Start ErrorControl Group ImagePath; do hivexget "$1" "$2" $v; done' - "$sys" "$k" <<EOF2
1
0
1
SCSI miniport
system32\\drivers\\$drv.sys
EOF2
expect_output "DriverInfFiles default" 0 reg "$sys" "DriverDatabase\\DriverInfFiles\\$drv.inf" '@' <<< "$pkg"
for dev in 1001 1042; do
    expect_output "DeviceIds DEV_$dev" 0 sh -c 'hivexregedit --export "$1" "$2" | grep "$3"' - \
        "$sys" "DriverDatabase\\DeviceIds\\PCI\\VEN_1AF4&DEV_$dev" $drv <<< "\"$drv.inf\"=hex(3):01,ff,00,00"
done
expect_output "Configurations Service" 0 \
    reg "$sys" "DriverDatabase\\DriverPackages\\$pkg\\Configurations\\${drv}_inst" Service <<< $drv
# Nothing of the other steps: the AWS PV drivers still start.
expect_output "xenvbd Start (not this step's)" 0 reg "$sys" "$cs\\Services\\xenvbd" Start <<< 0
check_step_report
finish
