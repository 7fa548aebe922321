# Refusals of v2v-agent convert (issue 4): each case is a tiny phony disk
# wrong in one way, refused with its own exit code and message, and
# nothing written.  The disks are built once per run in one guestfish
# session (refusal-disks fixture); every case then launches one
# appliance, so the cases share a lock: two appliances under TCG on a
# small machine are slower than one after the other.
set(V2V_REFUSAL_DIR ${CMAKE_BINARY_DIR}/fixtures/refusals)
set(V2V_REFUSAL_ENV "V2V_AGENT=$<TARGET_FILE:v2v-agent>")

add_test(NAME refusal-disks-build
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/refusals-build.sh ${V2V_REFUSAL_DIR})
set_tests_properties(refusal-disks-build PROPERTIES
  FIXTURES_SETUP refusal-disks
  LABELS guestfs
  TIMEOUT 300
  RESOURCE_LOCK v2v-appliance
  ENVIRONMENT "${V2V_REFUSAL_ENV}")

foreach(case blank no-os-release multi-os root-not-os unsupported-distro
             unsupported-arch xen-pv-only no-space luks-no-key
             luks-wrong-key luks-right-key no-initramfs-tool hibernated)
  add_test(NAME refusal-${case}
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/refusals.sh ${V2V_REFUSAL_DIR} ${case})
  set_tests_properties(refusal-${case} PROPERTIES
    FIXTURES_REQUIRED refusal-disks
    LABELS guestfs
    TIMEOUT 300
    RESOURCE_LOCK v2v-appliance
    ENVIRONMENT "${V2V_REFUSAL_ENV}")
endforeach()
