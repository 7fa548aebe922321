#!/bin/bash
# Protective overlays on loop devices and an NBD export, written with
# qemu-io as a conversion would write through libguestfs:
#   - the device is untouched until commit (checked while writing);
#   - after commit it differs only where the overlay was written;
#   - a failure, or SIGKILL, before commit leaves it byte-identical;
#   - a commit interrupted between two disks is reported, then finished.
source "$(dirname "$0")/blockdev-lib.sh"
requires qemu-io qemu-img
: "${BLOCKDEV_OVERLAY_TOOL:?}"
tool=$BLOCKDEV_OVERLAY_TOOL

head -c 32M /dev/urandom > "$T/a.img"
head -c 32M /dev/urandom > "$T/b.img"
attach a "$T/a.img"
attach b "$T/b.img"
mkdir "$T/work"

# expect NAME DEVICE PATTERN OFFSET: NAME.img is a copy of DEVICE with
# 64 KiB of PATTERN written at OFFSET, made the plain way.
expect () {
    cat "$2" > "$T/$1.img"
    qemu-io -f raw -c "write -q -P $3 $4 64k" "$T/$1.img" >/dev/null
}

# 1. Write, check the device is untouched, commit, check only the written
#    blocks changed.
before=$(sha "$a")
expect want-a "$a" 0xab 1M
"$tool" "$T/work" "$a" -- sh -c '
    qemu-io -f qcow2 -c "write -q -P 0xab 1M 64k" "$BLOCKDEV_OVERLAY_0" &&
    [ "$(sha256sum < "$1" | cut -d" " -f1)" = "$2" ]' sh "$a" "$before" \
    > "$T/1.out" || fail "convert and commit failed"
grep -q "^overlay 0 $T/work/blockdev-overlay-0.qcow2\$" "$T/1.out" ||
    fail "overlay path: $(cat "$T/1.out")"
[ "$(sha "$a")" = "$(sha "$T/want-a.img")" ] ||
    fail "after commit the device is not the expected image"
cmp -l "$T/a.img" "$T/want-a.img" >/dev/null ||
    fail "the backing image differs from the expected one"
[ -z "$(ls "$T/work")" ] || fail "left behind: $(ls "$T/work")"

# 2. A failed conversion: discarded, device byte-identical.
before=$(sha "$a")
if "$tool" "$T/work" "$a" -- sh -c '
    qemu-io -f qcow2 -c "write -q -P 0xcd 0 1M" "$BLOCKDEV_OVERLAY_0"
    exit 1' > /dev/null; then
    fail "a failed conversion was committed"
fi
[ "$(sha "$a")" = "$before" ] || fail "a failed conversion changed the device"
[ -z "$(ls "$T/work")" ] || fail "left behind: $(ls "$T/work")"

# 3. SIGKILL before commit: device byte-identical; the next run removes
#    the leftovers (nothing was committed) and starts afresh.
before=$(sha "$a")
"$tool" "$T/work" "$a" -- sh -c '
    qemu-io -f qcow2 -c "write -q -P 0xef 0 1M" "$BLOCKDEV_OVERLAY_0"
    kill -9 $PPID' > /dev/null 2>&1 || true
[ "$(sha "$a")" = "$before" ] || fail "SIGKILL before commit changed the device"
[ -e "$T/work/blockdev-journal.json" ] || fail "no journal after SIGKILL"
jq_is "$(cat "$T/work/blockdev-journal.json")" .state prepared
"$tool" --status "$T/work" "$a" || fail "status after SIGKILL before commit"
[ -z "$(ls "$T/work")" ] || fail "leftovers not removed: $(ls "$T/work")"

# 4. A commit interrupted after disk 0: disk 1's overlay is unreadable when
#    its turn comes.  Reported honestly, left for the next run, finished.
expect want-a "$a" 0x11 2M
expect want-b "$b" 0x22 3M
before_b=$(sha "$b")
if "$tool" "$T/work" "$a" "$b" -- sh -c '
    qemu-io -f qcow2 -c "write -q -P 0x11 2M 64k" "$BLOCKDEV_OVERLAY_0" &&
    qemu-io -f qcow2 -c "write -q -P 0x22 3M 64k" "$BLOCKDEV_OVERLAY_1" &&
    mv "$BLOCKDEV_OVERLAY_1" "$BLOCKDEV_OVERLAY_1.hidden"' \
    > /dev/null 2> "$T/4.err"; then
    fail "the commit of disk 1 did not fail"
fi
grep -qF "blockdev_overlay_commit: disk 1 ($b)" "$T/4.err" ||
    fail "commit error: $(cat "$T/4.err")"
grep -qF "the commit is incomplete: committed: disk 0 ($a); not committed: disk 1 ($b)" "$T/4.err" ||
    fail "commit error: $(cat "$T/4.err")"
[ "$(sha "$a")" = "$(sha "$T/want-a.img")" ] || fail "disk 0 not committed"
[ "$(sha "$b")" = "$before_b" ] || fail "disk 1 changed"

set +e
"$tool" --status "$T/work" "$a" "$b" 2> "$T/4s.err"
rc=$?
set -e
[ "$rc" = 3 ] || fail "--status exited $rc, expected 3"
grep -qF "an earlier commit was interrupted (journal in $T/work): committed: disk 0 ($a); not committed: disk 1 ($b)" "$T/4s.err" ||
    fail "status message: $(cat "$T/4s.err")"
# A new conversion may not start over it.
if "$tool" "$T/work" "$a" "$b" -- true 2> "$T/4c.err"; then
    fail "a conversion started over an interrupted commit"
fi
grep -qF "blockdev_overlay_create: blockdev_overlay_recover: an earlier commit was interrupted" "$T/4c.err" ||
    fail "create message: $(cat "$T/4c.err")"

mv "$T/work/blockdev-overlay-1.qcow2.hidden" "$T/work/blockdev-overlay-1.qcow2"
"$tool" --recover "$T/work" "$a" "$b" > "$T/4r.out" ||
    fail "recover failed"
grep -q "finished the commit interrupted earlier" "$T/4r.out" ||
    fail "recover said: $(cat "$T/4r.out")"
[ "$(sha "$a")" = "$(sha "$T/want-a.img")" ] || fail "disk 0 after recovery"
[ "$(sha "$b")" = "$(sha "$T/want-b.img")" ] || fail "disk 1 after recovery"
[ -z "$(ls "$T/work")" ] || fail "left behind: $(ls "$T/work")"

# 5. An NBD export as the base.
head -c 16M /dev/urandom > "$T/n.img"
start_nbdkit "$T/n.sock" file "$T/n.img"
n=$(nbd_uri "$T/n.sock")
cp "$T/n.img" "$T/want-n.img"
qemu-io -f raw -c "write -q -P 0x5a 4M 64k" "$T/want-n.img" >/dev/null
before=$(sha "$T/n.img")
"$tool" "$T/work" "$n" -- sh -c '
    qemu-io -f qcow2 -c "write -q -P 0x5a 4M 64k" "$BLOCKDEV_OVERLAY_0" &&
    [ "$(sha256sum < "$1" | cut -d" " -f1)" = "$2" ]' sh "$T/n.img" "$before" \
    > /dev/null || fail "NBD convert and commit failed"
[ "$(sha "$T/n.img")" = "$(sha "$T/want-n.img")" ] ||
    fail "NBD export after commit is not the expected image"

echo "PASS: $(basename "$0")"
