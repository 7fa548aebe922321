# Unit tests for convert/: the pure functions (device names, fstab, text
# editing, kernel command lines, kernel versions, network config) on a
# guest model built by hand.  No appliance.
foreach(t fsmap text cmdline kernel netconf preflight)
  v2v_unit_test(test-convert-${t}
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/convert-${t}.c
            ${CMAKE_CURRENT_SOURCE_DIR}/convert-testlib.c
    LIBS v2vconvert)
endforeach()

# Left out of scripts/test.sh --valgrind (label valgrind-slow): a case
# costs about 2 s under valgrind, nearly none of it in the code under
# test (valgrind, Criterion and libguestfs's 68 libraries, never called
# here, starting up), and both are fuzzed under ASan and UBSan
# (fuzz-fstab, fuzz-cmdline).  ctest -L valgrind-slow runs them.
set_property(TEST test-convert-fsmap test-convert-cmdline
             APPEND PROPERTY LABELS valgrind-slow)
