# The deployment manifests (k8s/manifests): strict schemas where the
# shared data has one, structural checks for the other kinds (see
# tests/tools/validate-k8s.py), and the examples kept in step with the code.
file(GLOB v2v_manifests CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/k8s/manifests/*.yaml)

add_test(NAME manifests-validate
  COMMAND /usr/bin/python3 ${V2V_TOOLS}/validate-k8s.py
          ${V2V_SHARED_DATA}/schemas ${v2v_manifests})
set_tests_properties(manifests-validate PROPERTIES LABELS unit TIMEOUT 60)

# The structural checks refuse what they should, each with its message.
add_test(NAME manifests-bad
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/manifests-bad.sh
          ${V2V_SHARED_DATA}/schemas)
set_tests_properties(manifests-bad PROPERTIES LABELS unit TIMEOUT 60)

# conversion-job.example.yaml is what orchestrator/render.c makes.
v2v_test_program(orch_render_dump orch-render-dump)
add_test(NAME manifests-conversion-job
  COMMAND /usr/bin/python3
          ${V2V_TOOLS}/conversion-job-example.py
          ${orch_render_dump} ${CMAKE_CURRENT_SOURCE_DIR}/plans/full.json
          ${CMAKE_SOURCE_DIR}/k8s/manifests/conversion-job.example.yaml
          --check)
set_tests_properties(manifests-conversion-job PROPERTIES LABELS unit
  TIMEOUT 60)

# The example plan in plan.example.yaml is one the orchestrator loads.
add_test(NAME manifests-plan
  COMMAND sh -c "/usr/bin/python3 -c 'import sys, yaml; sys.stdout.write(yaml.safe_load(open(sys.argv[1]))[\"data\"][\"plan.json\"])' ${CMAKE_SOURCE_DIR}/k8s/manifests/plan.example.yaml > manifests-plan.json && ${orch_render_dump} manifests-plan.json > /dev/null")
set_tests_properties(manifests-plan PROPERTIES LABELS unit TIMEOUT 60)
