#!/bin/bash
# v2v-agent devices on nbdkit exports over Unix sockets: probed through
# libnbd, an export must give the same inventory as the same image read
# locally, partitions deep in the disk included.
source "$(dirname "$0")/blockdev-lib.sh"
requires nbdkit

make_gpt_esp "$T/gpt.img"
make_mbr "$T/mbr.img"

start_nbdkit "$T/gpt.sock" file "$T/gpt.img"
start_nbdkit "$T/mbr.sock" -r file "$T/mbr.img"
start_nbdkit "$T/mem.sock" memory 64M
gpt=$(nbd_uri "$T/gpt.sock")
mbr=$(nbd_uri "$T/mbr.sock")
mem=$(nbd_uri "$T/mem.sock")

json=$("$V2V_AGENT" devices --json "$gpt" "$mbr" "$mem")
jq_is "$json" 'length' 3
jq_is "$json" '[.[].nbd] | join(",")' true,true,true
jq_is "$json" '.[0].path' "$gpt"

# The same answers as probing the images in place: only path and nbd
# may differ.
local_json=$("$V2V_AGENT" devices --json "$T/gpt.img" "$T/mbr.img")
for i in 0 1; do
    a=$(jq -S ".[$i] | del(.path, .nbd, .readonly)" <<<"$json")
    b=$(jq -S ".[$i] | del(.path, .nbd, .readonly)" <<<"$local_json")
    [ "$a" = "$b" ] || fail "disk $i differs over NBD:
$a
---
$b"
done
jq_is "$json" '.[0].partitions[1].fstype' ext4
jq_is "$json" '.[0].partitions[1].start' $((34816 * 512))
jq_is "$json" '.[0].class' bootable-candidate
jq_is "$json" '.[1].partitions[0].fstype' ext4

# nbdkit -r: read-only, and refused for writing.
jq_is "$json" '.[0].readonly' false
jq_is "$json" '.[1].readonly' true
mkdir "$T/work"
if "$BLOCKDEV_OVERLAY_TOOL" "$T/work" "$mbr" -- true 2> "$T/ro.err"; then
    fail "a read-only export was accepted for writing"
fi
grep -qF "blockdev_discover: $mbr: the disk is read-only" "$T/ro.err" ||
    fail "read-only message: $(cat "$T/ro.err")"

# The memory plugin starts out all zero.
jq_is "$json" '.[2].class' blank
jq_is "$json" '.[2].size' 67108864

# No server at all: a clear error once the deadline passes.
if "$V2V_AGENT" devices --timeout 1 "$(nbd_uri "$T/none.sock")" \
        2> "$T/none.err"; then
    fail "a missing NBD server was accepted"
fi
grep -qF "did not appear within 1 s (nbd_connect_uri: " "$T/none.err" ||
    fail "missing server message: $(cat "$T/none.err")"

echo "PASS: $(basename "$0")"
