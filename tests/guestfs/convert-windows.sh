#!/bin/bash
# "v2v-agent convert" on a copy of a phony Windows guest, with a fake
# virtio-win tree built here from the shared file lists; then the hives
# are read back (downloaded, and read with hivexget) and every key and
# value the conversion must set is asserted, with the copied files, the
# first boot script and the report.  See docs/windows.md.
#
#   convert-windows.sh CASE
#     win2k22       DriverDatabase path, AWS PV and agents disabled,
#                   a second run is "already converted" and writes nothing
#     win2k22-uefi  the same, plus EFI/BOOT/BOOTX64.EFI on the ESP
#     win7          CriticalDeviceDatabase path, 32-bit, legacy tree
#     win2k22-scsi  --block-driver virtio-scsi; AWS PV filters dropped
#                   from a device class's UpperFilters
#     no-virtio-win VIRTIO_WIN unset: exit 13, the disk unchanged
#     hibernated    hiberfil.sys with a resume image: exit 9, unchanged
#
# Environment: V2V_AGENT, V2V_PHONY_DIR, SHARED_DATA.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../fixtures/lib.sh"
. "$here/../lib/functions.sh"

: "${V2V_AGENT:?V2V_AGENT must be the v2v-agent binary}"
: "${V2V_PHONY_DIR:?V2V_PHONY_DIR must be the phony guest directory}"
: "${SHARED_DATA:?SHARED_DATA must be the shared test data directory}"
[ $# -eq 1 ] || fail "usage: $0 CASE"
case=$1
TEST_CASE=$case
guestfs_env
unset VIRTIO_WIN VIRTIO_WIN_LEGACY

# check DESC GOT WANT
check () {
    if [ "$2" != "$3" ]; then fail_later "$1: got '$2', want '$3'"; fi
}

case $case in
    win2k22|no-virtio-win|hibernated|win2k22-scsi|win2k22-iso)
        guest=win2k22 rootpart=2 ;;
    win2k22-uefi) guest=win2k22-uefi rootpart=3 ;;
    win7) guest=win7 rootpart=2 ;;
    *) fail "unknown case $case" ;;
esac
drv=viostor devs="1001 1042" opts=()
cddb_ids="pci#ven_1af4&dev_1001 pci#ven_1af4&dev_1042 pci#ven_1af4&dev_1001&subsys_00021af4 pci#ven_1af4&dev_1042&subsys_11001af4"
if [ "$case" = win2k22-scsi ]; then
    drv=vioscsi devs="1004 1048" opts=(--block-driver virtio-scsi)
fi
fixture=$V2V_PHONY_DIR/$guest.img
[ -f "$fixture" ] || fail "$fixture is missing (run the phony-guests fixture)"
scratch_dir work "convert-windows-$case" "${TMPDIR:-/var/tmp}"
img=$work/$guest.img
cp --sparse=always "$fixture" "$img"

# shellcheck source=tests/guestfs/fake-virtio-win.sh
. "$here/fake-virtio-win.sh"

convert () {
    local rc=0
    "$V2V_AGENT" convert --report "$work/report.json" \
        --overlay-dir "$work/overlay" "$@" "$img" 2> "$work/convert.log" || rc=$?
    validate_report "$work/report.json"
    return $rc
}

# ---- refusals: exit code, message, report status, disk unchanged -----
refusal () {
    local code=$1 status=$2 msg=$3 before after rc=0
    shift 3
    before=$(sha256sum < "$img")
    convert "$@" || rc=$?
    after=$(sha256sum < "$img")
    check "exit code" "$rc" "$code"
    check "disk sha256" "$after" "$before"
    check "report status" "$(jq -r .status "$work/report.json")" "$status"
    grep -qF -- "$msg" "$work/convert.log" ||
        fail_later "message '$msg' not in: $(grep error "$work/convert.log")"
    [ -z "$(ls -A "$work/overlay" 2>/dev/null | grep -v journal || true)" ] ||
        fail_later "overlay left behind: $(ls -R "$work/overlay")"
}

if [ "$case" = no-virtio-win ]; then
    refusal 13 no-virtio-win \
        "/dev/sda2 is a Windows guest (Windows Server 2022 Phony Edition) and VIRTIO_WIN is not set: point VIRTIO_WIN (or --virtio-win PATH) at a virtio-win directory"
    # An unusable tree is the same refusal.
    mkdir -p "$work/empty"
    refusal 13 no-virtio-win \
        "VIRTIO_WIN=$work/empty has no viostor driver (.sys and .inf) for Windows Server 2022 Phony Edition amd64 (virtio-win directory '2k22')" \
        --virtio-win "$work/empty"
    finish_checks
    echo "PASS: $case"
    exit 0
fi
if [ "$case" = hibernated ]; then
    # Windows writes "HIBR" at the start of hiberfil.sys when it
    # hibernates (and for Fast Startup); it is zeroed on resume.
    guestfish -a "$img" <<EOF
run
mount /dev/sda$rootpart /
write /hiberfil.sys "HIBR then the resume image"
EOF
    fake_tree "$work/vw"
    refusal 9 fs-state \
        "/dev/sda2: Windows is hibernated or was shut down with Fast Startup (" \
        --virtio-win "$work/vw"
    finish_checks
    echo "PASS: $case"
    exit 0
fi

# ---- a conversion ----------------------------------------------------
fake_tree "$work/vw"
if [ "$guest" = win7 ]; then
    # Windows 7 without SP1: the legacy tree (any tree with w7 drivers).
    fake_tree "$work/vw-legacy"
    export VIRTIO_WIN_LEGACY=$work/vw-legacy
    vdir=$work/vw-legacy/drivers/by-os/i386/w7 arch=x86 ga=qemu-ga-i386.msi
    gaw=$work/vw-legacy/guest-agent/$ga
else
    vdir=$work/vw/drivers/by-os/amd64/2k22 arch=amd64 ga=qemu-ga-x86_64.msi
    gaw=$work/vw/guest-agent/$ga
fi
export VIRTIO_WIN=$work/vw
if [ "$case" = win2k22-iso ]; then
    # The same tree as an ISO image: the agent unpacks what it needs into
    # a private directory under TMPDIR and removes it afterwards.
    xorriso -as mkisofs -quiet -R -J -o "$work/virtio-win.iso" "$work/vw" \
        2> /dev/null || fail "xorriso could not make the ISO"
    export VIRTIO_WIN=$work/virtio-win.iso
    mkdir -p "$work/tmp"
    # libguestfs keeps its appliance cache under TMPDIR too: not here.
    export LIBGUESTFS_CACHEDIR=${LIBGUESTFS_CACHEDIR:-${TMPDIR:-/var/tmp}}
    export TMPDIR=$work/tmp
fi
# inject_reg SYSTEM_REG [SOFTWARE_REG]: merge .reg files into the
# copy's hives, in one appliance: download, edit on the host ("!"),
# upload.
inject_reg () {
    {
        echo "download /Windows/System32/Config/SYSTEM $work/SYSTEM.in"
        echo "! hivexregedit --merge $work/SYSTEM.in --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' $1"
        echo "upload $work/SYSTEM.in /Windows/System32/Config/SYSTEM"
        if [ $# -ge 2 ]; then
            echo "download /Windows/System32/Config/SOFTWARE $work/SOFTWARE.in"
            echo "! hivexregedit --merge $work/SOFTWARE.in --prefix 'HKEY_LOCAL_MACHINE\SOFTWARE' $2"
            echo "upload $work/SOFTWARE.in /Windows/System32/Config/SOFTWARE"
        fi
    } | guestfish -a "$img" -m /dev/sda$rootpart
}
# multi_sz STRING...: a REG_MULTI_SZ in .reg hex(7) notation.
multi_sz () {
    local s out='' i
    for s in "$@"; do
        for ((i = 0; i < ${#s}; i++)); do out+=$(printf '%02x,00,' "'${s:i:1}"); done
        out+='00,00,'
    done
    echo "hex(7):${out}00,00"
}
if [ "$guest" = win7 ]; then
    # Windows's default: no RealTimeIsUniversal, the RTC in local time.
    # (The fixture sets it to 1, for every guest; this copy drops it.)
    printf '[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\TimeZoneInformation]\n"RealTimeIsUniversal"=-\n' > "$work/inject.reg"
    inject_reg "$work/inject.reg"
    [ "$(hivexget "$work/SYSTEM.in" 'ControlSet001\Control\TimeZoneInformation' RealTimeIsUniversal 2>/dev/null || echo absent)" = absent ] ||
        fail "could not drop RealTimeIsUniversal"
fi
if [ "$case" = win2k22-scsi ]; then
    # AWS PV filters on two device classes, as the PV installer adds them.
    cat > "$work/inject.reg" <<EOF
[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\Class]

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\Class\{4d36e97d-e325-11ce-bfc1-08002be10318}]
"UpperFilters"=$(multi_sz xenfilt partmgr)

[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\Class\{4d36e96a-e325-11ce-bfc1-08002be10318}]
"LowerFilters"=$(multi_sz XENFILT)
"UpperFilters"=$(multi_sz iaStorF)
EOF
    # And a device installation policy and an antivirus, to be warned of.
    cat > "$work/inject-soft.reg" <<'EOF'
[HKEY_LOCAL_MACHINE\SOFTWARE\Policies]

[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft]

[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows]

[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\DeviceInstall]

[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\DeviceInstall\Restrictions]
"DenyUnspecified"=dword:00000001

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{0D2B0E4A-5C3F-4E11-9A77-C2F4E1D0B001}]
"DisplayName"="CrowdStrike Windows Sensor"
EOF
    inject_reg "$work/inject.reg" "$work/inject-soft.reg"
    check "injected UpperFilters" \
        "$(hivexget "$work/SYSTEM.in" 'ControlSet001\Control\Class\{4d36e97d-e325-11ce-bfc1-08002be10318}' UpperFilters | grep -v '^$' | paste -sd' ')" \
        "xenfilt partmgr"
fi
start=$(date +%s)
rc=0
convert "${opts[@]}" || rc=$?
if [ "$rc" -ne 0 ]; then
    cat "$work/convert.log" >&2
    fail "convert $guest exited $rc"
fi
echo "== converted $guest in $(( $(date +%s) - start )) s"
sed -n '/^guest:/,$p' "$work/convert.log" | grep -v '^  create  *.*/Drivers/VirtIO/'

# Read back: the hives, the VirtIO directory, checksums of what we copied.
echo "== read back"
rb=$work/rb
mkdir -p "$rb"
{
    printf 'add "%s" readonly:true format:raw\nrun\n' "$img"
    echo "mount-ro /dev/sda$rootpart /"
    echo "download /Windows/System32/Config/SYSTEM $rb/SYSTEM"
    echo "download /Windows/System32/Config/SOFTWARE $rb/SOFTWARE"
    echo "download /Windows/Drivers/VirtIO/v2v-firstboot.cmd $rb/firstboot.cmd"
    echo "download /Windows/Drivers/VirtIO/v2v-health.ps1 $rb/health.ps1"
    echo "download /ProgramData/v2v-kubevirt/converted.json $rb/marker"
    echo "download /ProgramData/v2v-kubevirt/backup/Windows/System32/Config/SYSTEM $rb/SYSTEM.backup"
    echo "ls /Windows/Drivers/VirtIO"
    echo "echo ==$drv"
    echo "checksum sha256 /Windows/System32/drivers/$drv.sys"
    if [ "$guest" = win2k22-uefi ]; then
        echo "umount-all"
        echo "mount-ro /dev/sda1 /"
        echo "echo ==efi"
        echo "checksum sha256 /EFI/Microsoft/Boot/bootmgfw.efi"
        echo "checksum sha256 /EFI/BOOT/BOOTX64.EFI"
    fi
} > "$rb/read.gf"
guestfish -f "$rb/read.gf" > "$rb/out"

sys=$rb/SYSTEM soft=$rb/SOFTWARE
cs='ControlSet001'
reg () { hivexget "$1" "$2" "$3" 2>/dev/null || echo "<absent>"; }

# The copied drivers: exactly the chosen directory's driver files (no
# .pdb or read-me), qemu-ga, the first boot script and its health probe.
want=$( (cd "$vdir" && ls | grep -Ev '\.(pdb|md|doc|txt)$'; echo "$ga"; echo v2v-firstboot.cmd; echo v2v-health.ps1) | sort)
got=$(sed "/^==$drv/,\$d" "$rb/out" | sort)
check "files in \\Windows\\Drivers\\VirtIO" "$got" "$want"
check "$drv.sys in system32\\drivers" \
    "$(sed -n "/^==$drv/{n;p}" "$rb/out")" \
    "$(sha256sum < "$vdir/$drv.sys" | cut -d' ' -f1)"
grep -q "$ga" <<<"$got" || fail_later "$ga not copied"
[ -f "$gaw" ] || fail_later "the fake tree has no $gaw"

# The boot-start storage service.
k="$cs\\Services\\$drv"
check "$drv Type" "$(reg "$sys" "$k" Type)" 1
check "$drv Start" "$(reg "$sys" "$k" Start)" 0
check "$drv ErrorControl" "$(reg "$sys" "$k" ErrorControl)" 1
check "$drv Group" "$(reg "$sys" "$k" Group)" "SCSI miniport"
check "$drv ImagePath" "$(reg "$sys" "$k" ImagePath)" "system32\\drivers\\$drv.sys"

if [ "$guest" = win7 ]; then
    for id in $cddb_ids; do
        k="$cs\\Control\\CriticalDeviceDatabase\\$id"
        check "CDDB $id Service" "$(reg "$sys" "$k" Service)" $drv
        check "CDDB $id ClassGUID" "$(reg "$sys" "$k" ClassGUID)" \
            '{4D36E97B-E325-11CE-BFC1-08002BE10318}'
    done
    [ "$(reg "$sys" 'DriverDatabase' Version)" = "<absent>" ] ||
        fail_later "a DriverDatabase was written on Windows 7"
    # The fixture's own CDDB entries are still there.
    check "CDDB intelide kept" \
        "$(reg "$sys" "$cs\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_7010" Service)" intelide
else
    pkg=$(reg "$sys" "DriverDatabase\\DriverInfFiles\\$drv.inf" Active)
    [[ $pkg =~ ^$drv\.inf_amd64_[0-9a-f]{16}$ ]] || fail_later "DriverInfFiles Active: '$pkg'"
    # The default value is a multi-string (hivexget prints one a line).
    check "DriverInfFiles default" \
        "$(reg "$sys" "DriverDatabase\\DriverInfFiles\\$drv.inf" '@')" "$pkg"
    hivexregedit --export "$sys" "DriverDatabase\\DriverInfFiles\\$drv.inf" |
        grep -q '^@=hex(7):' || fail_later "DriverInfFiles default value is not REG_MULTI_SZ"
    for dev in $devs; do
        check "DeviceIds DEV_$dev" \
            "$(hivexregedit --export "$sys" "DriverDatabase\\DeviceIds\\PCI\\VEN_1AF4&DEV_$dev" | grep $drv)" \
            '"'$drv'.inf"=hex(3):01,ff,00,00'
        check "Descriptors DEV_$dev" \
            "$(reg "$sys" "DriverDatabase\\DriverPackages\\$pkg\\Descriptors\\PCI\\VEN_1AF4&DEV_$dev" Configuration)" \
            ${drv}_inst
    done
    check "DriverPackages default" "$(reg "$sys" "DriverDatabase\\DriverPackages\\$pkg" '@')" $drv.inf
    check "Configurations Service" \
        "$(reg "$sys" "DriverDatabase\\DriverPackages\\$pkg\\Configurations\\${drv}_inst" Service)" $drv
    # The fixture's xenvbd package is still there.
    check "xenvbd DriverInfFiles kept" \
        "$(reg "$sys" 'DriverDatabase\DriverInfFiles\xenvbd.inf' Active)" \
        xenvbd.inf_amd64_8a2b1c4d5e6f7a8b
    [ "$(reg "$sys" "$cs\\Control\\CriticalDeviceDatabase\\pci#ven_1af4&dev_1001" Service)" = "<absent>" ] ||
        fail_later "CriticalDeviceDatabase written on Windows Server 2022"
    # The package files are in the DriverStore too.
    jq -r '.changes[].path' "$work/report.json" > "$rb/paths"
    for f in $drv.inf $drv.sys $drv.cat; do
        grep -qx "/Windows/System32/DriverStore/FileRepository/$pkg/$f" "$rb/paths" ||
            fail_later "$f not in the DriverStore package $pkg"
    done
fi

# DevicePath: the fixture's value, then the VirtIO directory.
check "DevicePath" "$(reg "$soft" 'Microsoft\Windows\CurrentVersion' DevicePath)" \
    '%SystemRoot%\inf;%SystemRoot%\Drivers\VirtIO'

# AWS PV drivers and EC2 agents disabled; ENA and AWS NVMe left alone.
agents='AmazonSSMAgent'
if [ "$guest" = win7 ]; then agents+=' Ec2Config'; else agents+=' Amazon EC2Launch'; fi
for s in xenbus xenfilt xeniface xenvbd xenvif xennet; do
    check "$s Start" "$(reg "$sys" "$cs\\Services\\$s" Start)" 4
done
if [ "$guest" = win7 ]; then
    check "Ec2Config Start" "$(reg "$sys" "$cs\\Services\\Ec2Config" Start)" 4
else
    check "EC2Launch Start" "$(reg "$sys" "$cs\\Services\\Amazon EC2Launch" Start)" 4
    check "ena Start (kept)" "$(reg "$sys" "$cs\\Services\\ena" Start)" 3
    check "AWSNVMe Start (kept)" "$(reg "$sys" "$cs\\Services\\AWSNVMe" Start)" 0
    for d in AWSNVMe ena; do
        jq -e --arg d "$d" '.warnings | any(contains("AWS driver " + $d + " left installed"))' \
            "$work/report.json" > /dev/null || fail_later "no warning for $d"
    done
fi
check "AmazonSSMAgent Start" "$(reg "$sys" "$cs\\Services\\AmazonSSMAgent" Start)" 4
# The original SYSTEM hive is the backup.
check "SYSTEM backup" "$(hivexget "$rb/SYSTEM.backup" "$cs\\Services\\xenvbd" Start)" 0

# First boot: the service runs the script through cmd.exe.
k="$cs\\Services\\v2v-firstboot"
check "firstboot Type" "$(reg "$sys" "$k" Type)" 16
check "firstboot Start" "$(reg "$sys" "$k" Start)" 2
check "firstboot ImagePath" "$(reg "$sys" "$k" ImagePath)" \
    '%SystemRoot%\System32\cmd.exe /c start "v2v-firstboot" /b %SystemRoot%\System32\cmd.exe /c %SystemRoot%\Drivers\VirtIO\v2v-firstboot.cmd'
check "firstboot ObjectName" "$(reg "$sys" "$k" ObjectName)" LocalSystem
fb=$(tr -d '\r' < "$rb/firstboot.cmd")
grep -q '^set MAX=5$' <<<"$fb" || fail_later "firstboot: no retry cap"
grep -qF 'pnputil.exe" -i -a "%%~fF"' <<<"$fb" || fail_later "firstboot: no pnputil -i -a"
grep -qF 'for %%F in ("%V2VDIR%\*.inf")' <<<"$fb" || fail_later "firstboot: not over the VirtIO infs"
grep -qx "set \"QEMUGA=$ga\"" <<<"$fb" || fail_later "firstboot: qemu-ga is not $ga"
grep -qF 'set "LOG=%STATE%\firstboot.log"' <<<"$fb" || fail_later "firstboot: no log file"
grep -qF 'RebootPending' <<<"$fb" || fail_later "firstboot: no pending reboot check"
grep -q "$(printf '\r')$" "$rb/firstboot.cmd" || fail_later "firstboot: not CRLF"
# The health probe (docs/agent-run.md): the tree's script, well formed,
# run after the installs of each attempt and when a reboot is pending,
# and printing the V2V-HEALTH line on COM1.  No Windows boots here: this
# is as far as the tests can go (docs/windows.md).
cmp -s "$rb/health.ps1" "$here/../../convert/windows/health-probe.ps1" ||
    fail_later "firstboot: v2v-health.ps1 is not convert/windows/health-probe.ps1"
"$here/../tools/ps1-check.py" "$rb/health.ps1" || fail_later "firstboot: v2v-health.ps1 is not well formed"
grep -qF "\$line = 'V2V-HEALTH ' + \$json" "$rb/health.ps1" &&
    grep -qF "SerialPort 'COM1'" "$rb/health.ps1" ||
    fail_later "firstboot: the probe does not print the health line on COM1"
health_call='"%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%V2VDIR%\v2v-health.ps1" -Attempt !ATTEMPT! -Failed %1 %2 >>"%LOG%" 2>&1'
grep -qxF "$health_call" <<<"$fb" || fail_later "firstboot: the probe is not run as expected"
# In order: the installs, the health line, then the verdict on them; and
# the pending-reboot path reports too.
order=$(grep -nE '^  "%SystemRoot%\\System32\\pnputil.exe"|^call :health !FAILED!$|^if !FAILED! NEQ 0 \($|^:pending$|^call :health 0 -Pending$|^:health$' <<<"$fb" |
        cut -d: -f2- | sed 's/^  "%SystemRoot%.*pnputil.*/pnputil/')
check "firstboot: health probe order" "$order" "pnputil
call :health !FAILED!
if !FAILED! NEQ 0 (
:pending
call :health 0 -Pending
:health"
jq -e '.changes | any(.path == "/Windows/Drivers/VirtIO/v2v-health.ps1" and .action == "create")' \
    "$work/report.json" >/dev/null || fail_later "firstboot: the report does not list v2v-health.ps1"
if [ "$guest" = win7 ]; then
    grep -qx 'set "PVUNINSTALL="' <<<"$fb" || fail_later "firstboot: an uninstaller on win7"
else
    grep -qx 'set "PVUNINSTALL={8A3E5E6B-1E47-4DA2-9C0B-5C1B3E0F2A11}"' <<<"$fb" ||
        fail_later "firstboot: the AWS PV Drivers uninstaller is not scheduled"
fi

# UEFI fallback.
if [ "$guest" = win2k22-uefi ]; then
    efi=$(sed -n '/^==efi/,$p' "$rb/out" | tail -2)
    [ "$(sed -n 1p <<<"$efi")" = "$(sed -n 2p <<<"$efi")" ] && [ -n "$(sed -n 2p <<<"$efi")" ] ||
        fail_later "EFI/BOOT/BOOTX64.EFI is not bootmgfw.efi: $efi"
    check "clock hint" "$(jq -r .kubevirt_hints.firmware "$work/report.json")" efi
fi

# The report: clock from RealTimeIsUniversal, legacy, registry list,
# every hive change with checksums and a backup.
r=$work/report.json
check "status" "$(jq -r .status "$r")" converted
if [ "$guest" = win7 ]; then want_clock=localtime; else want_clock=utc; fi
check "clock hint" "$(jq -r .kubevirt_hints.clock "$r")" "$want_clock"
check "diskBus hint" "$(jq -r .kubevirt_hints.diskBus "$r")" \
    "$([ "$drv" = vioscsi ] && echo scsi || echo virtio)"
if [ "$case" = win2k22-scsi ]; then
    check "UpperFilters without xenfilt" \
        "$(reg "$sys" "$cs\\Control\\Class\\{4d36e97d-e325-11ce-bfc1-08002be10318}" UpperFilters)" partmgr
    check "LowerFilters without XENFILT" \
        "$(reg "$sys" "$cs\\Control\\Class\\{4d36e96a-e325-11ce-bfc1-08002be10318}" LowerFilters)" ""
    check "other class filter kept" \
        "$(reg "$sys" "$cs\\Control\\Class\\{4d36e96a-e325-11ce-bfc1-08002be10318}" UpperFilters)" iaStorF
    jq -e '.warnings | any(startswith("group policy restricts device installation") and contains("DenyUnspecified=1"))' \
        "$r" > /dev/null || fail_later "no warning for the device installation policy"
    jq -e '.warnings | any(startswith("antivirus installed (CrowdStrike Windows Sensor)"))' \
        "$r" > /dev/null || fail_later "no warning for the antivirus"
    [ "$(reg "$sys" "$cs\\Services\\viostor" Start)" = "<absent>" ] ||
        fail_later "viostor installed with --block-driver virtio-scsi"
fi
check "virtio-win os" "$(jq -r .guest.windows.virtio_win_os "$r")" \
    "$([ "$guest" = win7 ] && echo w7 || echo 2k22)"
jq -e --arg k "SYSTEM\\ControlSet001\\Services\\$drv" '.registry | any(.key == $k and .name == "Start" and .data == "0")' \
    "$r" > /dev/null || fail_later "report: the $drv Start value is not listed"
jq -e '[.changes[] | select(.path == "/Windows/System32/Config/SYSTEM")] | length >= 3 and
       all(.sha256_before and .sha256_after and .backup)' "$r" > /dev/null ||
    fail_later "report: SYSTEM hive changes without checksums or backup"
last_sys=$(jq -r '[.changes[] | select(.path == "/Windows/System32/Config/SYSTEM")] | last | .sha256_after' "$r")
check "SYSTEM sha256_after" "$last_sys" "$(sha256sum < "$sys" | cut -d' ' -f1)"
# The drivers came from the tree the guest needs (legacy for win7).
if [ "$case" = win2k22-iso ]; then
    jq -r '.steps[] | select(.step == "virtio-drivers") | .reason' "$r" |
        grep -q "from $work/tmp/v2v-virtio-win-[A-Za-z0-9]*/drivers/by-os/amd64/2k22 to" ||
        fail_later "drivers not taken from the unpacked ISO"
    ! ls -d "$work"/tmp/v2v-virtio-win-* > /dev/null 2>&1 ||
        fail_later "the unpacked ISO was left behind: $(ls -d "$work"/tmp/v2v-virtio-win-*)"
else
    jq -r '.steps[] | select(.step == "virtio-drivers") | .reason' "$r" |
        grep -qF "from $vdir to" || fail_later "drivers not taken from $vdir"
fi
jq -e '.converted_by' "$rb/marker" > /dev/null || fail_later "no marker"

# A second run: already converted, nothing written.
before=$(sha256sum < "$img")
rc=0
convert "${opts[@]}" || rc=$?
check "second run exit" "$rc" 0
check "second run status" "$(jq -r .status "$work/report.json")" already-converted
check "second run disk sha256" "$(sha256sum < "$img")" "$before"

finish_checks
echo "PASS: $case"
