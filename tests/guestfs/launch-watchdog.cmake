# The launch watchdog (convert/launch.c): with V2V_LAUNCH_TIMEOUT=1 no
# appliance can start under TCG, so both attempts are killed and the
# agent fails in a few seconds, with nothing written and no qemu left.
v2v_guestfs_test(launch-watchdog TIMEOUT 300
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/launch-watchdog.sh)
