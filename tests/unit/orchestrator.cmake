# The orchestrator's plan checks and rendered objects.
add_executable(orch-render-dump ${CMAKE_CURRENT_SOURCE_DIR}/orch-render-dump.c)
target_link_libraries(orch-render-dump PRIVATE v2vorch)

set(V2V_PLANS ${CMAKE_CURRENT_SOURCE_DIR}/plans)

# Every object the orchestrator renders passes the strict schemas that
# the API server (and the fake) hold them to.
add_test(NAME orch-render-schemas
  COMMAND sh -c "$<TARGET_FILE:orch-render-dump> ${V2V_PLANS}/full.json ${V2V_PLANS}/compat.json > orch-objects.json && /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/validate-k8s.py ${V2V_SHARED_DATA}/schemas orch-objects.json")
set_tests_properties(orch-render-schemas PROPERTIES LABELS unit TIMEOUT 60)

# A plan with many mistakes is refused with every one of them listed.
add_test(NAME orch-plan-problems
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/orch-plan-problems.sh
          $<TARGET_FILE:orch-render-dump> ${V2V_PLANS})
set_tests_properties(orch-plan-problems PROPERTIES LABELS unit TIMEOUT 60)
