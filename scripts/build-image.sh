#!/bin/bash
# Build the container image (images/Containerfile) with buildah, without a
# registry or a Docker engine, and check it.
#
#   scripts/build-image.sh [--check PHONY_DISK]
#
# 1. images/build-base.sh makes a Debian 12 minbase rootfs with mmdebstrap
#    from this machine's apt sources (cached in $V2V_CACHE_DIR); it is
#    imported as localhost/debian:12.
# 2. buildah bud builds the Containerfile from it (--build-arg BASE=...),
#    with --layers, so an unchanged deps.sh reuses the package layers.
# 3. --check runs, inside the image, as the image's user (uid 107):
#    "v2v-agent --version", and "v2v-agent convert --dry-run" on a copy
#    of PHONY_DISK (a phony guest, tests/fixtures/phony), whose report
#    must say "planned".
#
# Storage is vfs and isolation chroot: this works with no user
# namespaces and no overlay mounts.  The store lives in
# $V2V_CACHE_DIR/containers; vfs copies every layer in full, so one
# cached build takes 11 to 14 GB there (reclaim it with rm -rf).  A
# failed build leaves no working container behind (--force-rm).
# V2V_IMAGE names the result
# (default localhost/v2v-kubevirt:dev).  Exit 77 when buildah is missing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/fixtures/lib.sh"

check_disk=
case "${1:-}" in
--check) check_disk=${2:?--check needs a disk image}; shift 2 ;;
"") ;;
*) echo "usage: $0 [--check PHONY_DISK]" >&2; exit 2 ;;
esac

command -v buildah >/dev/null || {
    echo "build-image: buildah is not installed (apt-get install buildah)" >&2
    exit 77
}
[ "$(id -u)" -eq 0 ] || die "run as root (the store is $V2V_CACHE_DIR)"

image=${V2V_IMAGE:-localhost/v2v-kubevirt:dev}
B=(buildah --root "$V2V_CACHE_DIR/containers/storage"
           --runroot /run/v2v-kubevirt-containers --storage-driver vfs)
export BUILDAH_ISOLATION=chroot

# The base image, tagged with its tarball's key so that a new tarball
# makes a new base image.
base_tar=$("$top/images/build-base.sh")
key=$(basename "$base_tar" .tar)
key=${key##*-}
if ! "${B[@]}" inspect --type image "localhost/debian:12-$key" \
        >/dev/null 2>&1; then
    echo "build-image: importing $base_tar as localhost/debian:12" >&2
    ctr=$("${B[@]}" from scratch)
    "${B[@]}" add "$ctr" "$base_tar" /
    "${B[@]}" config --cmd /bin/bash "$ctr"
    "${B[@]}" commit --rm "$ctr" "localhost/debian:12-$key" >/dev/null
fi
"${B[@]}" tag "localhost/debian:12-$key" localhost/debian:12

echo "build-image: buildah bud -> $image" >&2
"${B[@]}" bud --layers --force-rm --isolation chroot \
    --build-arg BASE=localhost/debian:12 \
    -f "$top/images/Containerfile" -t "$image" "$top"

[ -n "$check_disk" ] || exit 0

work=$(mktemp -d /var/tmp/v2v-image-check.XXXXXX)
ctr=
cleanup () {
    [ -z "$ctr" ] || "${B[@]}" rm "$ctr" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
# A copy, owned by uid 107 as a PVC's block device would be usable by
# it (fsGroup), so that the image's user can open it and the original
# is never touched.
cp --sparse=always "$check_disk" "$work/disk.img"
# /var/tmp a fresh directory of uid 107, as the pod's emptyDir, and /tmp
# read-only: the image's user can then write nowhere else (the root is
# root's), which stands in for readOnlyRootFilesystem.
mkdir "$work/var-tmp" "$work/ro"
chown -R 107:107 "$work"
chown root:root "$work/ro"
ctr=$("${B[@]}" from "$image")

echo "build-image: check 1: v2v-agent --version as the image's user" >&2
out=$("${B[@]}" run "$ctr" -- sh -c 'id -u; v2v-agent --version')
echo "$out"
[ "$(echo "$out" | head -1)" = 107 ] || die "the image does not run as uid 107"
echo "$out" | grep -q '^v2v-agent ' || die "v2v-agent --version failed"

echo "build-image: check 2: v2v-agent convert --dry-run on a phony guest" >&2
"${B[@]}" run -v "$work:/work" -v "$work/var-tmp:/var/tmp" \
    -v "$work/ro:/tmp:ro" "$ctr" -- \
    v2v-agent convert --dry-run --report /work/report.json /work/disk.img
read -r status accel < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["status"], r.get("accelerator"))' "$work/report.json")
echo "build-image: dry-run report status: $status, accelerator: $accel" >&2
[ "$status" = planned ] || die "dry run: status '$status', not 'planned'"
echo "build-image: image $image checked" >&2
