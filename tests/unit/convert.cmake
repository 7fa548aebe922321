# Unit tests for convert/: the pure functions (device names, fstab, text
# editing, kernel command lines, kernel versions, network config) on a
# guest model built by hand.  No appliance.
foreach(t fsmap text cmdline kernel netconf)
  v2v_unit_test(test-convert-${t}
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/convert-${t}.c
            ${CMAKE_CURRENT_SOURCE_DIR}/convert-testlib.c
    LIBS v2vconvert)
endforeach()
