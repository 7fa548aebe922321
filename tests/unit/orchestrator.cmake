# Unit tests for orchestrator/: the EC2 client against a scripted
# endpoint on 127.0.0.1.
v2v_unit_test(test-ec2
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/orchestrator-ec2.c
  LIBS v2vec2 PkgConfig::MHD)
