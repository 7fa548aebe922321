#!/bin/bash
# Benchmark blockdev (not a test: nothing asserts):
#   1. probe time for 26 disks (v2v-agent devices --json);
#   2. overlay commit time for a 1 GiB change on a 100 GiB sparse disk
#      against the same change on a 4 GiB disk: the commit must cost time
#      in proportion to the blocks changed, not to the disk size.
# Prints Markdown tables; results are kept in docs/performance.md by hand.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
agent=$build/agent/v2v-agent
tool=$build/tests/tools/blockdev-overlay-tool
work=$(mktemp -d /var/tmp/v2v-bench-blockdev.XXXXXX)
trap 'rm -rf "$work"' EXIT

ms () { date +%s%N | cut -c1-13; }

# 26 disks: an MBR with ext4 on each, like a guest with many volumes.
mkdir -p "$work/dev"
for i in $(seq 0 25); do
    img=$work/d$i.img
    truncate -s 64M "$img"
    echo 'start=2048, type=83' | sfdisk -q "$img"
    mkfs.ext4 -q -F -E offset=1048576 "$img" 63M
    ln -s "$img" "$work/dev/block$i"
done
best=
for run in 1 2 3; do
    t0=$(ms)
    "$agent" devices --json --device-dir "$work/dev" > "$work/inv.json"
    t=$(( $(ms) - t0 ))
    [ -z "$best" ] || [ "$t" -lt "$best" ] && best=$t
done
echo "| disks | probe (best of 3) | disks found |"
echo "|---|---|---|"
echo "| 26 × 64 MiB, MBR + ext4 | ${best} ms | $(jq length "$work/inv.json") |"
rm -f "$work"/d*.img "$work"/dev/*

echo
echo "| disk | write 1 GiB to an overlay | write + blockdev commit | commit alone (difference) |"
echo "|---|---|---|---|"
for size in 4G 100G; do
    disk=$work/disk-$size.img
    truncate -s "$size" "$disk"
    # The write alone, on a throwaway overlay of the same disk.
    qemu-img create -q -f qcow2 -b "$disk" -F raw "$work/scratch.qcow2"
    t0=$(ms)
    qemu-io -f qcow2 -c "write -P 0x5a 1G 1G" "$work/scratch.qcow2" >/dev/null
    w=$(( $(ms) - t0 ))
    rm -f "$work/scratch.qcow2"
    # The same write as the "conversion" through blockdev's overlay, which
    # the tool then commits into the disk.
    t0=$(ms)
    "$tool" "$work/ov-$size" "$disk" -- sh -c \
        'qemu-io -f qcow2 -c "write -P 0x5a 1G 1G" "$BLOCKDEV_OVERLAY_0" >/dev/null'
    total=$(( $(ms) - t0 ))
    echo "| $size sparse | ${w} ms | ${total} ms | $(( total - w )) ms |"
    rm -f "$disk"
done
