# Every third-party library is found through pkg-config.  A missing one
# stops configuration with the Debian package that provides it, because
# "Package 'libguestfs' not found" alone does not tell a user what to do.
find_package(PkgConfig REQUIRED)

function(v2v_require_pkg target module debian_pkg)
  pkg_check_modules(${target} IMPORTED_TARGET ${module})
  if(NOT ${target}_FOUND)
    message(FATAL_ERROR
      "${module} was not found by pkg-config.\n"
      "Install the Debian package '${debian_pkg}' "
      "(or run scripts/deps.sh, which installs everything).")
  endif()
endfunction()

v2v_require_pkg(GUESTFS  libguestfs  libguestfs-dev)
v2v_require_pkg(NBD      libnbd      libnbd-dev)
v2v_require_pkg(CURL     libcurl     libcurl4-openssl-dev)
v2v_require_pkg(JSONC    json-c      libjson-c-dev)
v2v_require_pkg(BLKID    blkid       libblkid-dev)
v2v_require_pkg(OPENSSL  libcrypto   libssl-dev)
# kubeconfig files are YAML.
v2v_require_pkg(YAML     yaml-0.1    libyaml-dev)
# The agent's optional status server; the HTTP client tests use it too.
v2v_require_pkg(MHD      libmicrohttpd libmicrohttpd-dev)
# The orchestrator's EC2 client reads EC2's XML responses; tests also
# check that the agent's inspection XML is well-formed.
v2v_require_pkg(LIBXML2  libxml-2.0  libxml2-dev)
# The agent unpacks a virtio-win ISO image.
v2v_require_pkg(ARCHIVE  libarchive  libarchive-dev)
if(BUILD_TESTING)
  v2v_require_pkg(CRITERION criterion libcriterion-dev)
endif()

set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
