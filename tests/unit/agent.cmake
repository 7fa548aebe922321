# Unit tests for agent/: the run state and the status server.
v2v_unit_test(test-agent-status
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/agent-status.c
  LIBS v2vagent PkgConfig::LIBXML2)

# The status server against the real HTTP client on 127.0.0.1.
v2v_unit_test(test-agent-httpd
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/agent-httpd.c
  LIBS v2vagent)
