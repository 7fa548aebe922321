# Real guest fixtures: the Debian 12 rootfs (cached across runs by its
# package list) and the EC2-layout disks built from it.  The disks live in
# the build tree and are rebuilt only when their inputs change.
set(V2V_FIXTURES ${CMAKE_SOURCE_DIR}/tests/fixtures)
set(V2V_REAL_DIR ${CMAKE_BINARY_DIR}/fixtures/real)
set(V2V_REAL_VARIANTS nitro xen uuid)
# The firmware each variant boots with on KubeVirt.
set(V2V_FIRMWARE_nitro efi)
set(V2V_FIRMWARE_xen bios)
set(V2V_FIRMWARE_uuid bios)
# Where each, unconverted, stops on virtio: the UEFI firmware finds no
# removable-media loader; the initramfs finds no root disk.
set(V2V_NOBOOT_nitro no-bootable-device)
set(V2V_NOBOOT_xen initramfs-shell)
set(V2V_NOBOOT_uuid initramfs-shell)

set(V2V_E2E_ENV
  "V2V_AGENT=$<TARGET_FILE:v2v-agent>"
  "V2V_REAL_DIR=${V2V_REAL_DIR}"
  "SHARED_DATA=${V2V_SHARED_DATA}")

add_test(NAME fixture-rootfs COMMAND ${V2V_FIXTURES}/build-rootfs.sh)
set_tests_properties(fixture-rootfs PROPERTIES
  LABELS e2e TIMEOUT 1200 FIXTURES_SETUP rootfs
  ENVIRONMENT "${V2V_E2E_ENV}")

foreach(v ${V2V_REAL_VARIANTS})
  add_test(NAME fixture-guest-${v}
    COMMAND ${V2V_FIXTURES}/fixture-guest.sh ${v} ${V2V_REAL_DIR}/${v}.img)
  set_tests_properties(fixture-guest-${v} PROPERTIES
    LABELS e2e TIMEOUT 900 FIXTURES_SETUP guest-${v} FIXTURES_REQUIRED rootfs
    COST 100 ENVIRONMENT "${V2V_E2E_ENV}")

  # The premise of the whole project: as built for EC2, the guest does not
  # come up on KubeVirt's virtio devices.
  add_test(NAME e2e-unconverted-${v}
    COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/unconverted-fails.sh
            ${v} ${V2V_FIRMWARE_${v}} ${V2V_REAL_DIR}/${v}.img
            ${V2V_NOBOOT_${v}})
  set_tests_properties(e2e-unconverted-${v} PROPERTIES
    LABELS e2e TIMEOUT 600 FIXTURES_REQUIRED guest-${v}
    ENVIRONMENT "${V2V_E2E_ENV}")
endforeach()

# Conversion: each variant converts and then boots healthy on virtio.
foreach(v ${V2V_REAL_VARIANTS})
  add_test(NAME e2e-convert-${v}
    COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/convert-boots.sh
            ${v} ${V2V_FIRMWARE_${v}} ${V2V_REAL_DIR}/${v}.img)
  set_tests_properties(e2e-convert-${v} PROPERTIES
    LABELS e2e TIMEOUT 1200 FIXTURES_REQUIRED guest-${v} COST 50
    ENVIRONMENT "${V2V_E2E_ENV}")
endforeach()

# Compatibility mode: the preflight's verdict, proved by booting on SATA +
# e1000e either way (the generic-kernel guest boots, the cloud-kernel one
# has no AHCI and does not).
add_test(NAME fixture-guest-generic
  COMMAND ${V2V_FIXTURES}/fixture-guest.sh generic ${V2V_REAL_DIR}/generic.img)
set_tests_properties(fixture-guest-generic PROPERTIES
  LABELS e2e TIMEOUT 1500 FIXTURES_SETUP guest-generic COST 100
  ENVIRONMENT "${V2V_E2E_ENV}")
add_test(NAME e2e-compat-generic
  COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/compat.sh bootable
          ${V2V_REAL_DIR}/generic.img)
set_tests_properties(e2e-compat-generic PROPERTIES
  LABELS e2e TIMEOUT 900 FIXTURES_REQUIRED guest-generic
  ENVIRONMENT "${V2V_E2E_ENV}")
add_test(NAME e2e-compat-cloud
  COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/compat.sh will-not-boot
          ${V2V_REAL_DIR}/uuid.img)
set_tests_properties(e2e-compat-cloud PROPERTIES
  LABELS e2e TIMEOUT 900 FIXTURES_REQUIRED guest-uuid
  ENVIRONMENT "${V2V_E2E_ENV}")

add_test(NAME e2e-dry-run
  COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/dry-run.sh ${V2V_REAL_DIR}/xen.img)
set_tests_properties(e2e-dry-run PROPERTIES
  LABELS e2e TIMEOUT 600 FIXTURES_REQUIRED guest-xen
  ENVIRONMENT "${V2V_E2E_ENV}")
