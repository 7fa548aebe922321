# guestfs tier: "v2v-agent convert" on each phony Linux guest, one test a
# guest (a conversion of a sparse copy, then one read-back launch), each
# asserting the converted files' contents: convert-phony-GUEST.sh, with
# convert-phony-lib.sh.  About 90 s a guest under TCG on 2 idle cores.
foreach(guest debian ubuntu rhel al2023 suse)
  v2v_guestfs_test(convert-phony-${guest} TIMEOUT 900
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/convert-phony-${guest}.sh)
endforeach()

# The overlay proof with the real agent: kill -9 and a failing step leave
# the disk byte-identical; the next run converts and commits.
v2v_guestfs_test(convert-overlay-proof TIMEOUT 1200
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/convert-overlay-proof.sh)
# Labelled slow (left out of the sanitizer run, docs/testing.md): its
# first run is killed with SIGKILL, and the failing step and the commit
# it reaches run under ASan in convert-phony-* and test-blockdev-overlay.
set_tests_properties(convert-overlay-proof PROPERTIES LABELS "guestfs;slow")

# Compatibility mode: the preflight and --compat=fix on the phony AL2023.
v2v_guestfs_test(compat-phony-al2023 TIMEOUT 900
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/compat-phony-al2023.sh)
