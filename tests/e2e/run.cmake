# "v2v-agent run" in a simulated pod against the strict fake kube-apiserver
# (tests/fakes/), on the xen fixture attached through a loop device.
foreach(s report outage cancel rogue-ca)
  add_test(NAME e2e-agent-run-${s}
    COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/agent-run-in-pod.sh ${s}
            ${V2V_REAL_DIR}/xen.img)
  set_tests_properties(e2e-agent-run-${s} PROPERTIES
    LABELS e2e TIMEOUT 900 FIXTURES_REQUIRED guest-xen SKIP_RETURN_CODE 77
    ENVIRONMENT "${V2V_E2E_ENV}")
endforeach()

# The orchestrator's pipeline with the real agent converting the xen
# fixture behind an emulated EBS volume.
add_test(NAME e2e-orch-xen
  COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/orch-e2e.sh ${V2V_REAL_DIR}/xen.img)
set_tests_properties(e2e-orch-xen PROPERTIES
  LABELS e2e TIMEOUT 2000 FIXTURES_REQUIRED guest-xen SKIP_RETURN_CODE 77
  ENVIRONMENT "${V2V_E2E_ENV};V2V_ORCHESTRATOR=$<TARGET_FILE:v2v-orchestrator>")
# The health gate's rollback on a real boot: the guest carries a unit
# that fails off EC2.
add_test(NAME e2e-orch-xen-rollback
  COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/orch-e2e.sh ${V2V_REAL_DIR}/xen.img
          rollback)
set_tests_properties(e2e-orch-xen-rollback PROPERTIES
  LABELS e2e TIMEOUT 2000 FIXTURES_REQUIRED guest-xen SKIP_RETURN_CODE 77
  ENVIRONMENT "${V2V_E2E_ENV};V2V_ORCHESTRATOR=$<TARGET_FILE:v2v-orchestrator>")
