#!/bin/bash
# guestfs tier: the compat-storahci step alone, on a copy of the phony
# Windows Server 2022 (storahci demand-start): Start=0, and nothing else.
# See tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step compat-storahci
cs=ControlSet001

expect_result applied "storahci is Start=3: a SATA boot disk needs it boot-start (0)"
expect_changes <<'EOF2'
~ /Windows/System32/Config/SYSTEM
EOF2
expect_output "storahci Start before" 0 reg "$orig/Windows/System32/Config/SYSTEM" "$cs\\Services\\storahci" Start <<< 3
expect_output "storahci Start" 0 reg "$conv/Windows/System32/Config/SYSTEM" "$cs\\Services\\storahci" Start <<< 0
expect_output "viostor (not this step's)" 0 reg "$conv/Windows/System32/Config/SYSTEM" "$cs\\Services\\viostor" Start <<< '<absent>'
check_step_report
finish
