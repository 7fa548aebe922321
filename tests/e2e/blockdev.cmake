# blockdev e2e tests: loop devices behind blockN symlinks, nbdkit exports,
# late devices, and overlays written by qemu-io and committed.  They run
# as root (loop devices) and clean up whatever they attach.
foreach(t loop nbd late overlay)
  add_test(NAME blockdev-${t}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/blockdev-${t}.sh)
  set_tests_properties(blockdev-${t} PROPERTIES
    LABELS e2e TIMEOUT 300 SKIP_RETURN_CODE 77
    ENVIRONMENT "V2V_AGENT=$<TARGET_FILE:v2v-agent>;BLOCKDEV_OVERLAY_TOOL=$<TARGET_FILE:blockdev-overlay-tool>")
endforeach()
