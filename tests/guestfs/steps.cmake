# guestfs tier: one test per rework step, named after it (step-NAME), each
# step run alone on its own copy of a phony guest and its edits asserted
# (step-NAME.sh, with step-lib.sh).  An appliance launch is the expensive
# part (30-60 s under TCG), so steps-dump-FAMILY launches ONE for all of a
# family's steps (tests/tools/convert-step-dump.c, one overlay a step) and
# dumps each step's tree before and after; the step-NAME tests only read
# those dumps, in a second or two each.  The per-distro convert-phony-*
# scripts stay as the integration tests.
add_executable(convert-step-dump
  ${CMAKE_SOURCE_DIR}/tests/tools/convert-step-dump.c)
target_link_libraries(convert-step-dump PRIVATE v2vconvert)

set(V2V_STEPS_DIR ${CMAKE_BINARY_DIR}/steps)

# STEP=GUEST: the phony guest each step is run on, one where it applies.
# In the shared appliance each step's disk is the guest's disk 0, so EC2
# device names (root=/dev/xvda1) resolve as in a conversion.
set(v2v_linux_steps fstab=debian network=ubuntu cloud-init=debian
  aws-agents=al2023 timesync=debian xen=suse initramfs=debian
  health-probe=debian selinux=rhel compat-ahci=al2023 bootloader=rhel)

set(v2v_windows_steps
  virtio-drivers=win2k22 boot-storage=win2k22 devicepath=win2k22
  aws-services=win2k22 firstboot=win2k22 uefi-fallback=win2k22-uefi
  compat-storahci=win2k22)

# v2v_family_steps(FAMILY [--virtio-win] STEP=GUEST...): the family's
# dump (one appliance launch) and a step-STEP test for each step.
function(v2v_family_steps family)
  set(dump_args)
  set(step_names)
  set(flags)
  foreach(pair ${ARGN})
    if(pair STREQUAL "--virtio-win")
      set(flags --virtio-win)
      continue()
    endif()
    string(REPLACE "=" ";" kv ${pair})
    list(GET kv 0 step)
    list(GET kv 1 guest)
    list(APPEND dump_args "${step}=${V2V_PHONY_DIR}/${guest}.img")
    list(APPEND step_names ${step})
  endforeach()
  v2v_guestfs_test(steps-dump-${family} TIMEOUT 900
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/steps-dump.sh ${flags}
            $<TARGET_FILE:convert-step-dump> ${V2V_STEPS_DIR}/${family}
            ${dump_args})
  # Label slow: scripts/test.sh --sanitize leaves them out (the steps'
  # code runs under ASan in convert-phony-* and convert-windows-*, and
  # the Windows dump alone is minutes of inspect_os under TCG).
  set_tests_properties(steps-dump-${family} PROPERTIES
    FIXTURES_SETUP steps-${family} LABELS "guestfs;slow")
  foreach(step ${step_names})
    v2v_guestfs_test(step-${step} TIMEOUT 120
      COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/step-${step}.sh)
    set_tests_properties(step-${step} PROPERTIES
      FIXTURES_REQUIRED "phony-guests;steps-${family}" LABELS "guestfs;slow"
      ENVIRONMENT "${V2V_GUESTFS_ENV};V2V_STEPS_DIR=${V2V_STEPS_DIR}/${family}")
  endforeach()
endfunction()

v2v_family_steps(linux ${v2v_linux_steps})
v2v_family_steps(windows --virtio-win ${v2v_windows_steps})
