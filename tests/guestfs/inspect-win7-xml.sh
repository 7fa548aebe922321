#!/bin/bash
# guestfs tier: the phony win7 guest is libguestfs's own phony Windows.
#
#   inspect-win7-xml.sh PHONY_DIR
#
# virt-inspector's XML for win7.img must equal, byte for byte, the
# expected output that guestfs-tools keeps for its phony Windows
# (SHARED_DATA/inspector-expected/expected-windows.img.xml, read in
# place): same product, version, arch, hostname, drive mapping, NTFS
# serial and installed applications.  It proves that the hives are built
# the way virt-v2v builds them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../fixtures/lib.sh"
. "$here/../lib/functions.sh"

[ $# -eq 1 ] || fail "usage: $0 PHONY_DIR"
img=$1/win7.img
[ -f "$img" ] || fail "$img is missing (run the phony-guests fixture)"
[ -n "${SHARED_DATA:-}" ] || fail "SHARED_DATA is not set"
expected=$SHARED_DATA/inspector-expected/expected-windows.img.xml
[ -r "$expected" ] || fail "$expected not found"
guestfs_env

actual=$(mktemp "${TMPDIR:-/tmp}/win7-xml.XXXXXX")
on_exit 'rm -f "$actual"'
virt-inspector --format=raw -a "$img" > "$actual" || fail "virt-inspector failed"
diff -u "$expected" "$actual" ||
    fail "virt-inspector output differs from $expected"
echo "inspect-win7-xml: win7.img inspects exactly as libguestfs's phony Windows"
