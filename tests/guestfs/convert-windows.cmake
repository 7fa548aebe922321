# guestfs tier: "v2v-agent convert" on the phony Windows guests with a
# fake virtio-win tree built at test time (convert-windows.sh CASE):
# conversions read the hives back and assert every value, refusals
# assert the exit code and an unchanged disk.  About a minute and a half
# a conversion under TCG on 2 cores.
foreach(case win2k22 win2k22-uefi win7 win2k22-scsi win2k22-iso
             no-virtio-win hibernated)
  v2v_guestfs_test(convert-windows-${case} TIMEOUT 900
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/convert-windows.sh ${case})
endforeach()

# Compatibility mode on Windows: storahci boot-start as the one fix, and
# Windows 7 refused for want of an e1000e driver.
v2v_guestfs_test(compat-windows TIMEOUT 900
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/compat-windows.sh)

# Labelled slow, so scripts/test.sh --sanitize leaves them out (they all
# run in the main run): under ASan each is about two minutes of appliance
# under TCG, and CI's time is budgeted (docs/testing.md).  The sanitizer
# run keeps win2k22, -uefi and -iso, which reach the Windows code these
# take (registry edits, driver copies, the ESP and BCD, libarchive); these
# differ from them in the data (a Windows 7 hive, the virtio-scsi driver
# set) or stop at a refusal before the rework.
set_tests_properties(convert-windows-win7 convert-windows-win2k22-scsi
                     convert-windows-no-virtio-win convert-windows-hibernated
                     compat-windows
  PROPERTIES LABELS "guestfs;slow")
