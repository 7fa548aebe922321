#!/bin/bash
# guestfs tier: the health-probe step alone, on a copy of the phony
# Debian: see tests/guestfs/steps.cmake.  The phony guests have no
# systemd (/lib/systemd/systemd), so nothing would run the probe's unit:
# the step must say so and write nothing.  What it installs on a guest
# with systemd is asserted by the e2e tests, which boot it.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step health-probe

expect_result skipped "no systemd in the guest: nothing would run the probe"
expect_changes < /dev/null
expect_output "change log" 0 report -c .changes <<< '[]'
finish
