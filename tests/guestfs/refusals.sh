#!/bin/bash
# One refusal of v2v-agent convert (issue 4, "Refusals"): the exit code
# of docs/operations.md, the error message, the report's status, and
# nothing written -- every input disk has the same sha256 afterwards and
# no overlay is left behind.
#
#   refusals.sh DISKDIR CASE
#
# DISKDIR holds the disks (and the accelerator) refusals-build.sh found.
# Environment: V2V_AGENT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../fixtures/lib.sh"
. "$here/../lib/functions.sh"

[ $# -eq 2 ] || fail "usage: $0 DISKDIR CASE"
dir=$1 case=$2
TEST_CASE=$case
opts=() status='' msg='' re='' secret='' keyfile=''

# disks: the images, in order (/dev/sda, /dev/sdb... in the appliance)
# code:  the exit code
# msg:   what the error message starts with (after "v2v: error: "), or
# re:    an extended regular expression for it, where it holds a number
# status: the report's status, empty where it is not checked
case $case in
    blank)
        # blockdev refuses before the appliance is started: a report
        # without a guest (validated below like every other).
        disks=(blank) code=4
        msg='no operating system found: 1 disks are blank or unrecognised' ;;
    no-os-release)
        disks=(noosrel) code=4 status=no-os
        msg='no operating system found on 1 disk(s): no filesystem holds /etc/os-release' ;;
    multi-os)
        disks=(noinit xenpv) code=5 status=multiple-os
        msg='several operating systems found: /dev/sda1 (Debian GNU/Linux 12 (bookworm)), /dev/sdb1 (Debian GNU/Linux 10 (buster)); choose one with --root DEVICE' ;;
    root-not-os)
        disks=(noinit noosrel) code=4 status=no-os opts=(--root /dev/sdb1)
        msg='--root /dev/sdb1: no operating system on that device (found: /dev/sda1)' ;;
    unsupported-distro)
        disks=(distro) code=6 status=unsupported
        msg="/dev/sda1: unsupported Linux distribution 'gentoo'" ;;
    unsupported-arch)
        disks=(arm) code=6 status=unsupported
        msg="/dev/sda1: unsupported architecture 'aarch64' (only x86_64)" ;;
    xen-pv-only)
        disks=(xenpv) code=7 status=xen-pv-only
        msg='/dev/sda1: the guest has only Xen PV kernels, which cannot boot on KVM' ;;
    no-space)
        disks=(full) code=8 status=no-space
        re='/ in the guest has [0-9]+ MB free; conversion needs 50 MB' ;;
    luks-no-key)
        disks=(luks) code=10 status=luks-key
        msg='/dev/sda1 is LUKS-encrypted and no key was given for it: pass --key /dev/sda1:key:' ;;
    luks-wrong-key)
        # A key that does not open the device: refused, and the key is in
        # neither the messages nor the report (checked below).
        secret=wrong-passphrase-$RANDOM$RANDOM
        disks=(luks) code=10 status=luks-key opts=(--key "/dev/sda1:key:$secret")
        msg='/dev/sda1: the key given for this LUKS device does not open it' ;;
    luks-right-key)
        # The right key, from a file and with debug logging: the device
        # opens, and holds no filesystem, so no OS; the passphrase is
        # nowhere in the output.
        secret=refusal-test-passphrase
        disks=(luks) code=4 status=no-os
        keyfile=$(mktemp) && printf '%s\n' "$secret" > "$keyfile"
        opts=(--key "all:file:$keyfile")
        export V2V_DEBUG=1
        msg='no operating system found on 1 disk(s)' ;;
    no-initramfs-tool)
        disks=(noinit) code=6 status=unsupported
        msg='/dev/sda1: no initramfs tool (update-initramfs, dracut or mkinitrd) in the guest' ;;
    hibernated)
        disks=(hibernated) code=9 status=fs-state
        msg="$dir/hibernated.img partition 2: the guest is hibernated (a suspend image is on its swap)" ;;
    *) fail "unknown case $case" ;;
esac

# The accelerator refusals-build.sh probed, to save a probe per case.
if [ -z "${V2V_ACCEL:-}" ] && [ -s "$dir/accel" ]; then
    V2V_ACCEL=$(cat "$dir/accel")
    export V2V_ACCEL
fi
guestfs_env
export V2V_LOG_FORMAT=text
scratch_dir work "refusal-$case"
on_exit 'rm -f ${keyfile:+"$keyfile"}'

paths=()
for d in "${disks[@]}"; do
    [ -f "$dir/$d.img" ] || fail "$dir/$d.img is missing (run refusals-build.sh)"
    paths+=("$dir/$d.img")
done
sha256sum "${paths[@]}" > "$work/before"

rc=0
timeout 240 "$V2V_AGENT" convert "${opts[@]}" --report "$work/report.json" \
    --overlay-dir "$work/overlay" "${paths[@]}" 2> "$work/stderr" || rc=$?
sed 's/^/  | /' "$work/stderr"

[ $rc -ne 124 ] || fail "v2v-agent timed out"
[ $rc -eq "$code" ] || fail "exit code $rc, expected $code"
# Every refusal writes a report, blockdev's too.
validate_report "$work/report.json"

# The message the user reads in the termination log: once, as an error.
found=0
while IFS= read -r line; do
    if [ -n "$re" ]; then
        [[ $line =~ ^v2v:\ error:\ $re ]] && found=1
    else
        [[ $line == "v2v: error: $msg"* ]] && found=1
    fi
done < "$work/stderr"
[ $found = 1 ] || fail "no error line starting: ${re:-$msg}"

if [ -n "$status" ]; then
    [ -f "$work/report.json" ] || fail "no report written"
    got=$(jq -r .status "$work/report.json")
    [ "$got" = "$status" ] || fail "report status '$got', expected '$status'"
    jq -e '.changes == []' "$work/report.json" >/dev/null ||
        fail "the report lists changes"
fi

# A key given on the command line or in a file never comes back out.
if [ -n "$secret" ]; then
    for f in "$work/stderr" "$work/report.json"; do
        [ ! -e "$f" ] || ! grep -qF -- "$secret" "$f" ||
            fail "the LUKS passphrase appears in $(basename "$f")"
    done
fi

# Nothing written: the disks are as they were, and no overlay is left.
sha256sum -c --quiet "$work/before" || fail "an input disk was written"
if [ -d "$work/overlay" ] &&
       [ -n "$(find "$work/overlay" -name '*.qcow2' -print -quit)" ]; then
    fail "an overlay was left behind: $(ls "$work/overlay")"
fi
echo "ok $case: exit $rc"
