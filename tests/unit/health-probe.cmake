# The Linux health probe (convert/linux/health-probe.sh): shellcheck, and
# its JSON in every state, with stubbed tools and a fake root.
set(probe_sh ${CMAKE_SOURCE_DIR}/convert/linux/health-probe.sh)
add_test(NAME health-probe-shellcheck
  COMMAND shellcheck --shell=sh --severity=style ${probe_sh})
add_test(NAME health-probe-linux
  COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/health-probe-test.py ${probe_sh})
set_tests_properties(health-probe-shellcheck health-probe-linux PROPERTIES
  LABELS unit TIMEOUT 120)
