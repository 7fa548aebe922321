# Unit tests for blockdev/: discovery, probing and classification of
# images written at test time, overlays and the journal.  They need root
# only for the read-only bind mount test, which skips without it.
foreach(t discover probe overlay)
  v2v_unit_test(test-blockdev-${t}
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/blockdev-${t}.c
            ${CMAKE_CURRENT_SOURCE_DIR}/blockdev-testlib.c
    LIBS v2vblockdev)
  target_include_directories(test-blockdev-${t} PRIVATE
    ${CMAKE_SOURCE_DIR}/blockdev)
endforeach()
