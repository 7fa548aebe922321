# Unit tests for agent/: the run state and the status server.
v2v_unit_test(test-agent-status
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/agent-status.c
  LIBS v2vagent PkgConfig::LIBXML2)

# The status server against the real HTTP client on 127.0.0.1.
v2v_unit_test(test-agent-httpd
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/agent-httpd.c
  LIBS v2vagent)

# The metrics, parsed by the reference Prometheus parser
# (python3-prometheus-client).  Debian's package is for Debian's python3,
# which a python3 earlier on PATH (pyenv, a venv) may not see: take the
# first interpreter that can import it.
v2v_test_program(agent_metrics_dump agent-metrics-dump)

set(V2V_PROM_PYTHON "")
foreach(py /usr/bin/python3 python3)
  execute_process(COMMAND ${py} -c "import prometheus_client.parser"
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(rc EQUAL 0)
    set(V2V_PROM_PYTHON ${py})
    break()
  endif()
endforeach()
if(NOT V2V_PROM_PYTHON)
  # prom-parse.py exits 77 without the module: the test is skipped.
  set(V2V_PROM_PYTHON python3)
endif()

add_test(NAME test-agent-metrics-parse
  COMMAND sh -c "${agent_metrics_dump} > agent-metrics.txt && ${V2V_PROM_PYTHON} ${V2V_TOOLS}/prom-parse.py agent-metrics.txt"
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
# The same check must fail on a broken exposition.
add_test(NAME test-agent-metrics-parse-rejects-broken
  COMMAND sh -c "printf '# HELP v2v_agent_phase x\\n# TYPE v2v_agent_phase gauge\\nv2v_agent_phase{phase=\"done} 1\\n' | ${V2V_PROM_PYTHON} ${V2V_TOOLS}/prom-parse.py -; rc=$?; [ $rc -ne 77 ] || exit 77; test $rc -eq 1")
set_tests_properties(test-agent-metrics-parse
  test-agent-metrics-parse-rejects-broken
  PROPERTIES LABELS unit TIMEOUT 60 SKIP_RETURN_CODE 77)

# v2v-agent run without an appliance, against the fake kube-apiserver:
# faults, Retry-After, --timeout, SIGTERM, Forklift settings.
v2v_test_program(v2v_agent v2v-agent)
v2v_test_program(reporter_events reporter-events)
add_test(NAME agent-run-without-appliance
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/agent-run-without-appliance.sh)
set_tests_properties(agent-run-without-appliance PROPERTIES
  LABELS unit TIMEOUT 180 SKIP_RETURN_CODE 77
  ENVIRONMENT "V2V_AGENT=${v2v_agent};REPORTER_EVENTS=${reporter_events};SHARED_DATA=${V2V_SHARED_DATA}")

# v2v-agent with a stand-in for convert_run (agent-fakeconvert.c): the
# commands, the pipeline, blockdev, the child process, the report and
# the termination message are the real ones.  agent-pipeline.sh runs
# both "convert" and "run" through a commit that fails and a report
# that cannot be written.
# The device map (convert/devmap.c, pure) is the real one too.
add_executable(v2v-agent-fakeconvert $<TARGET_OBJECTS:v2vagentcmds>
  ${CMAKE_CURRENT_SOURCE_DIR}/agent-fakeconvert.c
  ${PROJECT_SOURCE_DIR}/convert/devmap.c)
target_link_libraries(v2v-agent-fakeconvert PRIVATE v2vagentcmds v2vagent
  v2vcommon v2vblockdev v2vk8s PkgConfig::GUESTFS PkgConfig::JSONC)
target_include_directories(v2v-agent-fakeconvert PRIVATE
  ${PROJECT_SOURCE_DIR}/convert)
v2v_test_program(v2v_agent_fakeconvert v2v-agent-fakeconvert)
add_test(NAME agent-pipeline
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/agent-pipeline.sh)
# 24 s normally; 14 agent runs under valgrind take far longer.
set_tests_properties(agent-pipeline PROPERTIES
  LABELS unit TIMEOUT 400 SKIP_RETURN_CODE 77
  ENVIRONMENT "V2V_AGENT=${v2v_agent_fakeconvert}")

# The result table against the exit codes and reasons in the docs.
v2v_test_program(agent_results_dump agent-results-dump)
add_test(NAME agent-results-docs
  COMMAND sh -c "${agent_results_dump} > agent-results.json && python3 ${CMAKE_CURRENT_SOURCE_DIR}/agent-results-docs.py agent-results.json ${PROJECT_SOURCE_DIR}/docs"
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(agent-results-docs PROPERTIES LABELS unit TIMEOUT 60)

# The device map's options and V2V_DEVICE_MAP: each bad entry exits 2
# naming it, before any appliance.
add_test(NAME agent-devmap COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/agent-devmap.sh)
set_tests_properties(agent-devmap PROPERTIES
  LABELS unit TIMEOUT 60 ENVIRONMENT "V2V_AGENT=${v2v_agent}")
