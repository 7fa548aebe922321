# Unit tests for common/: one per module.

foreach(t error buf log sha256 accel json backoff strv string-table spawn
    fileio retry timeutil health)
  v2v_unit_test(test-${t}
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test-${t}.c
    LIBS v2vcommon)
endforeach()

# The HTTP client is tested against a real server on 127.0.0.1.
v2v_unit_test(test-http
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test-http.c
  LIBS v2vcommon PkgConfig::MHD)

# The Kubernetes client's configuration (kubeconfig, in-cluster, YAML).
v2v_unit_test(test-k8s-kube
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/k8s-kube.c
  LIBS v2vk8s)

# UTF-8 checks and copies (the agent's status, termination message and
# inspection XML).
v2v_unit_test(test-utf8
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test-utf8.c
  LIBS v2vcommon)
