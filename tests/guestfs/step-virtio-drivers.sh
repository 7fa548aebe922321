#!/bin/bash
# guestfs tier: the virtio-drivers step alone, on a copy of the phony
# Windows Server 2022, with the fake virtio-win tree steps-dump-windows
# built: see tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step virtio-drivers
vdir=$V2V_STEPS_DIR/vw/drivers/by-os/amd64/2k22
ga=$V2V_STEPS_DIR/vw/guest-agent/qemu-ga-x86_64.msi
[ -d "$vdir" ] && [ -f "$ga" ] || fail "no fake virtio-win tree in $V2V_STEPS_DIR/vw"

expect_result applied
# The chosen directory's driver files (no .pdb or read-me) and qemu-ga
# in \Windows\Drivers\VirtIO, and the boot driver in system32\drivers.
expect_changes <<EOF2
$(cd "$vdir" && ls | grep -Ev '\.(pdb|md|doc|txt)$' | sed 's|^|+ /Windows/Drivers/VirtIO/|')
+ /Windows/Drivers/VirtIO/qemu-ga-x86_64.msi
+ /Windows/System32/drivers/viostor.sys
EOF2
for f in viostor.inf netkvm.sys balloon.cat; do
    expect_file /Windows/Drivers/VirtIO/$f < "$vdir/$f"
done
expect_file /Windows/Drivers/VirtIO/qemu-ga-x86_64.msi < "$ga"
expect_file /Windows/System32/drivers/viostor.sys < "$vdir/viostor.sys"
check_step_report
finish
