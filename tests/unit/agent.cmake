# Unit tests for agent/: the run state and the status server.
v2v_unit_test(test-agent-status
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/agent-status.c
  LIBS v2vagent PkgConfig::LIBXML2)
