# Unit tests for orchestrator/: the EC2 client against a scripted
# endpoint on 127.0.0.1 (ec2-testsrv.h), split as the client is: its
# calls (requests, signing, retries, errors), its XML (hostile answers,
# paging), its endpoint and credentials.  orchestrator-ec2-test.h holds
# what they share.
foreach(part call xml creds)
  v2v_unit_test(test-ec2-${part}
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/orchestrator-ec2-${part}.c
    LIBS v2vec2 PkgConfig::MHD)
endforeach()

# libcurl's SigV4 against AWS's own signer: ec2-sigv4-dump sends one
# request to the scripted endpoint and prints what the server received;
# botocore.auth.SigV4Auth must compute the same signature from it.
# Debian's python3-botocore is for Debian's python3, which a python3
# earlier on PATH (pyenv, a venv) may not see, and may carry another
# botocore: take the first interpreter that can import it.
v2v_test_program(ec2_sigv4_dump ec2-sigv4-dump)

set(V2V_BOTOCORE_PYTHON "")
foreach(py /usr/bin/python3 python3)
  execute_process(COMMAND ${py} -c "import botocore.auth"
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(rc EQUAL 0)
    set(V2V_BOTOCORE_PYTHON ${py})
    break()
  endif()
endforeach()
if(NOT V2V_BOTOCORE_PYTHON)
  # ec2-sigv4-verify.py exits 77 without the module: the tests are skipped.
  set(V2V_BOTOCORE_PYTHON python3)
endif()

set(ec2_secret "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
set(ec2_verify "${V2V_BOTOCORE_PYTHON} ${V2V_TOOLS}/ec2-sigv4-verify.py")
add_test(NAME test-ec2-sigv4-botocore
  COMMAND sh -c "${ec2_sigv4_dump} '${ec2_secret}' > ec2-sigv4.json && ${ec2_verify} '${ec2_secret}' ec2-sigv4.json"
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
add_test(NAME test-ec2-sigv4-botocore-session-token
  COMMAND sh -c "${ec2_sigv4_dump} '${ec2_secret}' 'FwoGZXIvYXdzEXAMPLE/token+=' > ec2-sigv4-token.json && ${ec2_verify} '${ec2_secret}' ec2-sigv4-token.json"
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
# The same check must fail with another secret, so that a verifier that
# accepts anything cannot make the tests above pass.
add_test(NAME test-ec2-sigv4-botocore-rejects-wrong-secret
  COMMAND sh -c "${ec2_sigv4_dump} '${ec2_secret}' > ec2-sigv4-wrong.json && out=$(${ec2_verify} 'not-the-secret' ec2-sigv4-wrong.json 2>&1); rc=$?; echo \"$out\"; [ $rc -ne 77 ] || exit 77; [ $rc -eq 1 ] && echo \"$out\" | grep -q 'botocore computes'"
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(test-ec2-sigv4-botocore
  test-ec2-sigv4-botocore-session-token
  test-ec2-sigv4-botocore-rejects-wrong-secret
  PROPERTIES LABELS unit TIMEOUT 60 SKIP_RETURN_CODE 77)

# The orchestrator's plan checks and rendered objects.
v2v_test_program(orch_render_dump orch-render-dump)

set(V2V_PLANS ${CMAKE_CURRENT_SOURCE_DIR}/plans)

# Every object the orchestrator renders passes the strict schemas that
# the API server (and the fake) hold them to.
add_test(NAME orch-render-schemas
  COMMAND sh -c "${orch_render_dump} ${V2V_PLANS}/full.json ${V2V_PLANS}/compat.json > orch-objects.json && /usr/bin/python3 ${V2V_TOOLS}/validate-k8s.py ${V2V_SHARED_DATA}/schemas orch-objects.json")
set_tests_properties(orch-render-schemas PROPERTIES LABELS unit TIMEOUT 60)

# A plan with many mistakes is refused with every one of them listed.
add_test(NAME orch-plan-problems
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/orch-plan-problems.sh
          ${orch_render_dump} ${V2V_PLANS})
set_tests_properties(orch-plan-problems PROPERTIES LABELS unit TIMEOUT 60)
