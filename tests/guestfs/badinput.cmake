# The bad-input matrix of issue 9, the rows refusals.cmake does not
# cover (docs/reliability.md has the whole matrix): each case damages a
# copy of a phony guest (or makes random bytes), runs v2v-agent convert
# under timeout, and checks the exit code, the message and every input
# disk's sha256.  Cases that start the appliance share its lock with the
# refusals.
foreach(case random truncated corrupt-ptable corrupt-ext4 bsd readonly
             many-disks symlink-fstab symlink-config)
  add_test(NAME badinput-${case}
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/badinput.sh ${case})
  set_tests_properties(badinput-${case} PROPERTIES
    FIXTURES_REQUIRED phony-guests
    LABELS guestfs
    TIMEOUT 600
    RESOURCE_LOCK v2v-appliance
    ENVIRONMENT "${V2V_GUESTFS_ENV}")
endforeach()
# The two that run a whole conversion (or plan) take about 50 s each and
# exercise no code the conversion tests do not: the sanitizer run skips
# them (scripts/test.sh --sanitize excludes the label "slow").
set_tests_properties(badinput-truncated badinput-many-disks PROPERTIES
  LABELS "guestfs;slow")
