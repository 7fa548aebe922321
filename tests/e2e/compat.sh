#!/bin/bash
# Compatibility mode (SATA + e1000e, no rework), end to end:
#   compat.sh EXPECT FIXTURE.img
#
# EXPECT=bootable (the generic-kernel fixture): `convert --compat` says
#   "bootable" (exit 0) and writes nothing, and the guest then boots
#   healthy on SATA + e1000e, with root on /dev/sda1.
# EXPECT=will-not-boot (a cloud-kernel fixture): it says "will-not-boot"
#   (exit 21) because the kernel has no AHCI, writes nothing, and the
#   guest indeed does not boot on SATA + e1000e.
set -euo pipefail
expect=$1 fixture=$2
here=$(cd "$(dirname "$0")" && pwd)
: "${V2V_AGENT:?}"
. "$here/../fixtures/lib.sh"
. "$here/../lib/functions.sh"
guestfs_env
name=$(basename "$fixture" .img)
TEST_CASE=$name
work=$(dirname "$fixture")/work-compat-$name
rm -rf "$work"
mkdir -p "$work"
img=$work/$name.img
cp --sparse=always "$fixture" "$img"
before=$(sha256sum < "$img")

report () { jq -r "$1" "$work/report.json"; }

echo "== preflight $name"
set +e
"$V2V_AGENT" convert --compat --report "$work/report.json" "$img"
rc=$?
set -e
validate_report "$work/report.json"
[ "$(sha256sum < "$img")" = "$before" ] || fail "the preflight wrote to the disk"
[ "$(report .preflight.verdict)" = "$expect" ] ||
    fail "verdict $(report .preflight.verdict), want $expect"
[ "$(report .status)" = "$expect" ] || fail "status $(report .status)"
[ "$(report .kubevirt_hints.diskBus)/$(report .kubevirt_hints.nicModel)" = sata/e1000e ] ||
    fail "hints are not sata/e1000e: $(report -c .kubevirt_hints)"
case $expect in
bootable)
    [ "$rc" -eq 0 ] || fail "exit $rc, want 0"
    [ "$(report '.preflight.fixes | length')" -eq 0 ] ||
        fail "fixes listed for a bootable guest: $(report -c .preflight.fixes)"
    ;;
will-not-boot)
    [ "$rc" -eq 21 ] || fail "exit $rc, want 21"
    report '.preflight.reasons[]' | grep -q 'CONFIG_SATA_AHCI is not set' ||
        fail "no AHCI reason: $(report -c .preflight.reasons)"
    ;;
esac

echo "== boot $name on SATA + e1000e"
# Compatibility mode installs no probe: v2v-agent verify injects one into
# its boot overlay, as for any disk converted by another tool.
set +e
verdict=$("$V2V_AGENT" verify --report "$work/report.json" --timeout 420 \
              --log "$work/serial.log" --json "$img")
brc=$?
set -e
echo "$verdict"
[ "$(echo "$verdict" | jq -r '.bus + "/" + .nic_model')" = sata/e1000e ] ||
    fail "verify did not boot on the report's hints: $(echo "$verdict" | jq -c '[.bus, .nic_model]')"
case $expect in
bootable)
    [ "$brc" -eq 0 ] || fail "not healthy on SATA + e1000e, verify exit $brc (serial log: $work/serial.log)"
    echo "$verdict" | jq -e '.probe == "injected"' >/dev/null ||
        fail "the probe was not injected: $(echo "$verdict" | jq -r .probe_detail)"
    echo "$verdict" | jq -e '.health.root.source == "/dev/sda1"' >/dev/null ||
        fail "root is not on the SATA disk"
    echo "$verdict" | jq -e '.health.nics | length == 1 and all(.ipv4 == ["10.0.2.15"])' \
        >/dev/null || fail "the e1000e NIC has not its address"
    ;;
will-not-boot)
    [ "$brc" -eq 23 ] || fail "the preflight said will-not-boot, but verify exit $brc, not no-boot (23)"
    ;;
esac
echo "PASS: compat $name is $expect, and the boot agrees"
rm -f "$img"
