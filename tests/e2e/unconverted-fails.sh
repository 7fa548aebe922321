#!/bin/bash
# An EC2-layout fixture, unconverted, must NOT boot healthy on virtio.
#   unconverted-fails.sh VARIANT FIRMWARE IMAGE
# It must fail for a reason a conversion fixes (no virtio driver in the
# initramfs, or no removable-media UEFI loader), not time out, so that the
# e2e conversion tests mean something.
set -euo pipefail
variant=$1 firmware=$2 img=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/functions.sh"
TEST_CASE=$variant
log=$(dirname "$img")/$variant-unconverted-serial.log

set +e
verdict=$("$here/../fixtures/bootcheck.py" --firmware "$firmware" \
              --bus virtio --nic virtio --timeout 400 --log "$log" "$img")
rc=$?
set -e
echo "$verdict"
[ "$rc" -eq 1 ] || fail "expected bootcheck exit 1, got $rc"
reason=$(echo "$verdict" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["verdict"], d["reason"])')
case "$reason" in
    "no-boot initramfs-shell"|"no-boot root-not-found"|"no-boot no-bootable-device")
        echo "PASS: $variant does not boot on virtio unconverted ($reason)" ;;
    *)  fail "unexpected verdict: $reason (serial log: $log)" ;;
esac
