#!/bin/bash
# Build (or reuse from the cache) a Debian 12 base rootfs tarball for the
# container image, made with mmdebstrap from this machine's apt sources,
# so no registry is needed.  Prints the tarball's path.
#
# minbase is what the official debian:12 image holds.  The apt sources
# inside it are the machine's own (mmdebstrap writes them into the
# rootfs), so apt-get in the image build reaches the same mirror.
set -euo pipefail
. "$(dirname "$0")/../tests/fixtures/lib.sh"

mkdir -p "$V2V_CACHE_DIR"
key=$(sha256sum < "$0" | cut -c1-16)
out="$V2V_CACHE_DIR/debian12-base-$key.tar"
if [ -s "$out" ]; then
    echo "$out"
    exit 0
fi

mapfile -t sources < <(apt_sources_files)
[ "${#sources[@]}" -gt 0 ] ||
    die "no bookworm apt sources found in /etc/apt (set V2V_APT_SOURCES)"

echo "build-base: mmdebstrap from ${sources[*]} -> $out" >&2
# Check-Valid-Until off: the machine's mirror may be a dated snapshot,
# whose Release files have expired; the host's apt is set up the same way.
mmdebstrap --variant=minbase --mode=root --format=tar \
    --aptopt='Acquire::Retries "3"' \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm "$out.tmp" "${sources[@]}" >&2
publish "$out"
echo "$out"
