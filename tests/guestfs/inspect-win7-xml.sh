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

[ $# -eq 1 ] || die "usage: $0 PHONY_DIR"
img=$1/win7.img
[ -f "$img" ] || die "$img is missing (run the phony-guests fixture)"
[ -n "${SHARED_DATA:-}" ] || die "SHARED_DATA is not set"
expected=$SHARED_DATA/inspector-expected/expected-windows.img.xml
[ -r "$expected" ] || die "$expected not found"
guestfs_env

actual=$(mktemp "${TMPDIR:-/tmp}/win7-xml.XXXXXX")
trap 'rm -f "$actual"' EXIT
virt-inspector --format=raw -a "$img" > "$actual" || die "virt-inspector failed"
if ! diff -u "$expected" "$actual"; then
    echo "inspect-win7-xml: virt-inspector output differs from $expected" >&2
    exit 1
fi
echo "inspect-win7-xml: win7.img inspects exactly as libguestfs's phony Windows"
