#!/bin/bash
# Devices that appear 2 s late are waited for (0.5 s doubling backoff),
# whether a missing blockN, a dangling symlink whose target arrives, an
# explicit path or an NBD server; one that never comes is a clear error.
source "$(dirname "$0")/blockdev-lib.sh"

make_mbr "$T/mbr.img"
attach dev0 "$T/mbr.img"
ln -s "$dev0" "$D/block0"

# elapsed COMMAND...: run it, and set $ms to how long it took.
elapsed () {
    local t0 t1
    t0=$(date +%s%N)
    "$@"
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
}

# 1. block1 appears 2 s late: a loop device attached and linked then.
truncate -s 16M "$T/late1.img"
{ sleep 2; dev=$(losetup -f --show "$T/late1.img");
  echo "$dev" > "$T/late1.dev"; ln -s "$dev" "$D/block1"; } &
late_pid=$!
on_exit "[ -s $T/late1.dev ] && losetup -d \$(cat $T/late1.dev)"
elapsed "$V2V_AGENT" devices --json --expect-disks 2 --device-dir "$D" \
    > "$T/1.json" 2> "$T/1.err"
wait "$late_pid"
json=$(cat "$T/1.json")
jq_is "$json" 'length' 2
jq_is "$json" '.[1].class' blank
[ "$ms" -ge 2000 ] || fail "returned after $ms ms, before the disk appeared"
[ "$ms" -lt 10000 ] || fail "took $ms ms for a disk 2 s late"
grep -q "$D/block1: stat: No such file or directory (retrying)" "$T/1.err" ||
    fail "no retry logged: $(cat "$T/1.err")"

# 2. A dangling symlink whose image is published 2 s later.
rm "$D/block1"
truncate -s 16M "$T/late2.img.tmp"
ln -s "$T/late2.img" "$D/block1"
{ sleep 2; publish "$T/late2.img"; } &
elapsed "$V2V_AGENT" devices --json --device-dir "$D" > "$T/2.json"
jq_is "$(cat "$T/2.json")" '.[1].size' 16777216
[ "$ms" -ge 2000 ] || fail "dangling symlink: returned after $ms ms"

# 3. An explicit path.
truncate -s 4M "$T/late3.img.tmp"
{ sleep 2; publish "$T/late3.img"; } &
elapsed "$V2V_AGENT" devices --json "$T/late3.img" > "$T/3.json"
jq_is "$(cat "$T/3.json")" '.[0].size' 4194304
[ "$ms" -ge 2000 ] || fail "explicit path: returned after $ms ms"

# 4. An NBD server that starts listening 2 s late.
start_nbdkit --after 2 "$T/late.sock" memory 8M
elapsed "$V2V_AGENT" devices --json "$(nbd_uri "$T/late.sock")" > "$T/4.json"
jq_is "$(cat "$T/4.json")" '.[0].size' 8388608
[ "$ms" -ge 2000 ] || fail "NBD: returned after $ms ms"

# 5. Never: a clear error naming the device once the deadline passes.
if "$V2V_AGENT" devices --device-dir "$D" --expect-disks 3 --timeout 3 \
        2> "$T/5.err"; then
    fail "a disk that never appeared was accepted"
fi
grep -qF "blockdev_discover: $D/block2: did not appear within 3 s (stat: No such file or directory)" "$T/5.err" ||
    fail "never-appears message: $(cat "$T/5.err")"

echo "PASS: $(basename "$0")"
