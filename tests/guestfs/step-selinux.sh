#!/bin/bash
# guestfs tier: the selinux step alone, on a copy of the phony RHEL
# (SELinux enforcing): see tests/guestfs/steps.cmake.  Alone, no other
# step changed a file, so it relabels nothing now; where this
# libguestfs cannot relabel at all, the guest is told to relabel itself
# at its next boot (/.autorelabel) and the report says why.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step selinux

expect_result applied "SELinux is enabled; changed files need labels"
expect_changes <<EOF2
$(selinux_autorelabel)
EOF2
if [ -n "$(selinux_autorelabel)" ]; then
    expect_file /.autorelabel < /dev/null
    expect_output "warnings" 0 report '.warnings[]' <<'EOF2'
this libguestfs cannot relabel SELinux files (no selinuxrelabel feature); the guest relabels itself at its next boot
EOF2
else
    expect_output "warnings" 0 report '.warnings | length' <<< 0
fi
check_step_report
finish
