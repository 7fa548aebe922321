#!/bin/bash
# guestfs tier: compatibility mode on the phony Windows guests.
#
#  win2k22: storahci is installed but demand-start (Start=3), as on any
#    EC2 instance, and the inbox e1iexpress driver is there:
#    --compat says bootable-with-fixes (exit 20) and writes nothing;
#    --compat=fix sets only storahci's Start to 0 (read back from the
#    SYSTEM hive with hivexget), installs no virtio driver, and the
#    preflight after it says bootable.
#  win7: msahci is there but Windows 7 has no driver for the e1000e NIC:
#    will-not-boot (exit 21), nothing written.
# No VIRTIO_WIN is set: compatibility mode needs none.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../fixtures/lib.sh"
. "$here/../lib/functions.sh"
: "${V2V_AGENT:?}" "${V2V_PHONY_DIR:?}"
guestfs_env
unset VIRTIO_WIN VIRTIO_WIN_LEGACY
scratch_dir work compat-windows "${TMPDIR:-/var/tmp}"

# run GUEST MODE: convert a copy; sets $rc, $img, $rep.
run () {
    img=$work/$1-$2.img rep=$work/$1-$2.json
    cp --sparse=always "$V2V_PHONY_DIR/$1.img" "$img"
    rc=0
    "$V2V_AGENT" convert "--compat=$2" --report "$rep" "$img" \
        2> "$work/$1-$2.log" || rc=$?
    validate_report "$rep"
}

# win2k22, check: read-only, one fix.
run win2k22 check
before=$(sha256sum < "$V2V_PHONY_DIR/win2k22.img")
[ "$rc" -eq 20 ] || { cat "$work/win2k22-check.log" >&2; fail_later "win2k22 check exited $rc, want 20"; }
[ "$(sha256sum < "$img")" = "$before" ] || fail_later "win2k22 check wrote to the disk"
got=$(jq -c '[.status, .preflight.fixes, .kubevirt_hints.diskBus,
              .kubevirt_hints.nicModel]' "$rep")
want='["bootable-with-fixes",["compat-storahci: storahci is Start=3: a SATA boot disk needs it boot-start (0)"],"sata","e1000e"]'
[ "$got" = "$want" ] || fail_later "win2k22 check: $got, want $want"
jq -e '.preflight.warnings | any(test("AmazonSSMAgent is left"))' "$rep" \
    > /dev/null || fail_later "win2k22 check: no warning about the SSM agent"

# win2k22, fix: storahci Start=0 and nothing else in SYSTEM.
run win2k22 fix
[ "$rc" -eq 0 ] || { cat "$work/win2k22-fix.log" >&2; fail_later "win2k22 fix exited $rc, want 0"; }
[ "$(jq -r .status "$rep")" = fixed ] || fail_later "win2k22 fix: status $(jq -r .status "$rep")"
[ "$(jq -r .preflight_after_fixes.verdict "$rep")" = bootable ] ||
    fail_later "win2k22 fix: after the fixes $(jq -c .preflight_after_fixes "$rep")"
[ "$(jq -c '[.steps[] | select(.result == "applied") | .step]' "$rep")" = '["compat-storahci"]' ] ||
    fail_later "win2k22 fix: steps $(jq -c '[.steps[] | {step, result}]' "$rep")"
guestfish --ro -a "$img" -m /dev/sda2 \
    download /Windows/System32/Config/SYSTEM "$work/SYSTEM.fixed"
guestfish --ro -a "$V2V_PHONY_DIR/win2k22.img" -m /dev/sda2 \
    download /Windows/System32/Config/SYSTEM "$work/SYSTEM.orig"
start=$(hivexget "$work/SYSTEM.fixed" 'ControlSet001\Services\storahci' Start)
[ "$start" = 0 ] || fail_later "storahci Start is $start after the fix, want 0"
[ "$(hivexget "$work/SYSTEM.orig" 'ControlSet001\Services\storahci' Start)" = 3 ] ||
    fail_later "the phony win2k22 no longer has storahci at Start=3"
for s in xenvbd AmazonSSMAgent; do
    [ "$(hivexget "$work/SYSTEM.fixed" "ControlSet001\\Services\\$s" Start)" = \
      "$(hivexget "$work/SYSTEM.orig" "ControlSet001\\Services\\$s" Start)" ] ||
        fail_later "compatibility mode changed $s"
done
hivexget "$work/SYSTEM.fixed" 'ControlSet001\Services\viostor' Start \
    > /dev/null 2>&1 && fail_later "compatibility mode installed viostor"
jq -e '.changes | any(.path | test("SYSTEM$"))' "$rep" > /dev/null ||
    fail_later "the SYSTEM hive edit is not in the change log"

# win7: no e1000e driver.
run win7 check
before=$(sha256sum < "$V2V_PHONY_DIR/win7.img")
[ "$rc" -eq 21 ] || fail_later "win7 check exited $rc, want 21"
[ "$(sha256sum < "$img")" = "$before" ] || fail_later "win7 check wrote to the disk"
jq -e '.preflight.reasons | any(test("no e1000e-class driver"))' "$rep" \
    > /dev/null || fail_later "win7: no e1000e reason: $(jq -c .preflight.reasons "$rep")"

finish_checks
echo "PASS: Windows compatibility preflight and fix"
