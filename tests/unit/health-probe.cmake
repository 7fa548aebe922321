# The Linux health probe (convert/linux/health-probe.sh): shellcheck, and
# its JSON in every state, with stubbed tools and a fake root.
set(probe_sh ${CMAKE_SOURCE_DIR}/convert/linux/health-probe.sh)
add_test(NAME health-probe-shellcheck
  COMMAND shellcheck --shell=sh --severity=style ${probe_sh})
add_test(NAME health-probe-linux
  COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/health-probe-test.py ${probe_sh})
set_tests_properties(health-probe-shellcheck health-probe-linux PROPERTIES
  LABELS unit TIMEOUT 120)

# v2v-agent verify against a stub qemu that plays canned serial consoles:
# every verdict and stage, exit codes, qemu's command line from the hints
# and options, the hard timeout, clean-up.
v2v_test_program(verify_agent v2v-agent)
add_test(NAME agent-verify
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/agent-verify.sh ${verify_agent})
set_tests_properties(agent-verify PROPERTIES
  LABELS unit TIMEOUT 300
  ENVIRONMENT "V2V_TIMEOUT_SCALE=${V2V_TIMEOUT_SCALE}")
