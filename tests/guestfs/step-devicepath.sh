#!/bin/bash
# guestfs tier: the devicepath step alone, on a copy of the phony
# Windows Server 2022: DevicePath gains the VirtIO directory.  See
# tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step devicepath
soft='Microsoft\Windows\CurrentVersion'

expect_result applied 'append %SystemRoot%\Drivers\VirtIO to DevicePath, so Plug and Play finds the VirtIO drivers'
expect_changes <<'EOF2'
~ /Windows/System32/Config/SOFTWARE
EOF2
expect_output "DevicePath before" 0 reg "$orig/Windows/System32/Config/SOFTWARE" "$soft" DevicePath <<'EOF2'
%SystemRoot%\inf
EOF2
expect_output "DevicePath" 0 reg "$conv/Windows/System32/Config/SOFTWARE" "$soft" DevicePath <<'EOF2'
%SystemRoot%\inf;%SystemRoot%\Drivers\VirtIO
EOF2
check_step_report
finish
