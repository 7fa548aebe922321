#!/bin/bash
# An EC2-layout fixture, unconverted, must NOT boot healthy on virtio.
#   unconverted-fails.sh VARIANT FIRMWARE IMAGE STAGE
# It must fail at STAGE, for a reason a conversion fixes (no virtio driver
# in the initramfs: initramfs-shell; no removable-media UEFI loader:
# no-bootable-device), not time out, so that the e2e conversion tests mean
# something.  The fixture carries no health probe and none is injected
# (--no-inject saves an appliance launch, about 35 s): a guest that did
# boot would end in a timeout (exit 24), which fails the test as well.
# Injection into a disk without the probe is e2e-compat-generic's.
set -euo pipefail
variant=$1 firmware=$2 img=$3 stage=$4
: "${V2V_AGENT:?}"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/functions.sh"
log=$(dirname "$img")/$variant-unconverted-serial.log
# Every failure names the variant and the serial log.
TEST_CASE="$variant, serial log $log"
before=$(stat -c '%s %Y' "$img")

set +e
verdict=$("$V2V_AGENT" verify --firmware "$firmware" --bus virtio \
              --nic-model virtio --no-inject --timeout 400 --log "$log" \
              --json "$img")
rc=$?
set -e
echo "$verdict"
[ "$rc" -eq 23 ] || fail "expected verify exit 23 (no-boot), got $rc"
got=$(echo "$verdict" | jq -r '.verdict + " " + .stage')
[ "$got" = "no-boot $stage" ] || fail "verdict $got, want no-boot $stage"
[ "$(stat -c '%s %Y' "$img")" = "$before" ] || fail "verify wrote to the image"
echo "PASS: $variant does not boot on virtio unconverted ($got: $(echo "$verdict" | jq -r .reason))"
