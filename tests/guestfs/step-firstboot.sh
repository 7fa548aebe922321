#!/bin/bash
# guestfs tier: the firstboot step alone, on a copy of the phony Windows
# Server 2022: the v2v-firstboot service and its script.  See
# tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step firstboot
sys=$conv/Windows/System32/Config/SYSTEM
k='ControlSet001\Services\v2v-firstboot'

expect_result applied
expect_changes <<'EOF2'
+ /Windows/Drivers/VirtIO/v2v-firstboot.cmd
+ /Windows/Drivers/VirtIO/v2v-health.ps1
~ /Windows/System32/Config/SYSTEM
EOF2
expect_output "firstboot service" 0 sh -c 'for v in Type Start ImagePath ObjectName; do hivexget "$1" "$2" $v; done' - "$sys" "$k" <<'EOF2'
16
2
%SystemRoot%\System32\cmd.exe /c start "v2v-firstboot" /b %SystemRoot%\System32\cmd.exe /c %SystemRoot%\Drivers\VirtIO\v2v-firstboot.cmd
LocalSystem
EOF2
fb=$(tr -d '\r' < "$conv/Windows/Drivers/VirtIO/v2v-firstboot.cmd")
grep -q '^set MAX=5$' <<<"$fb" || fail_later "firstboot: no retry cap"
grep -qF 'pnputil.exe" -i -a "%%~fF"' <<<"$fb" || fail_later "firstboot: no pnputil -i -a"
grep -qx 'set "QEMUGA=qemu-ga-x86_64.msi"' <<<"$fb" || fail_later "firstboot: qemu-ga is not scheduled"
grep -qx 'set "PVUNINSTALL={8A3E5E6B-1E47-4DA2-9C0B-5C1B3E0F2A11}"' <<<"$fb" ||
    fail_later "firstboot: the AWS PV Drivers uninstaller is not scheduled"
grep -qF 'v2v-health.ps1' <<<"$fb" || fail_later "firstboot: the health probe is not run"
cmp -s "$conv/Windows/Drivers/VirtIO/v2v-health.ps1" "$V2V_TESTS_DIR/../convert/windows/health-probe.ps1" ||
    fail_later "firstboot: v2v-health.ps1 is not convert/windows/health-probe.ps1"
grep -q "$(printf '\r')$" "$conv/Windows/Drivers/VirtIO/v2v-firstboot.cmd" || fail_later "firstboot: not CRLF"
check_step_report
finish
