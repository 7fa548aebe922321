#!/bin/sh
# Install every Debian package that v2v-agent, v2v-orchestrator and their
# tests need.  Idempotent: packages already installed are not touched, and
# "apt-get update" runs at most once, only when something is missing.
#
#   scripts/deps.sh            build + test dependencies (default)
#   scripts/deps.sh --runtime  only what the container image needs at run time
#
# No mirror host is named here: apt uses the machine's configured sources.
set -eu

mode=full
case "${1:-}" in
    --runtime) mode=runtime ;;
    ""|--full) ;;
    *) echo "usage: $0 [--runtime]" >&2; exit 2 ;;
esac

# What the two binaries need at run time.  libguestfs needs a kernel in
# /boot for its appliance; the cloud kernel is the smallest that has the
# virtio drivers it uses; libarchive unpacks a virtio-win ISO.
runtime_pkgs="
    libguestfs0 libguestfs-tools guestfish libguestfs-xfs
    libnbd0 nbdkit qemu-utils qemu-system-x86
    libcurl4 libjson-c5 libblkid1 libssl3 libxml2 libmicrohttpd12 libyaml-0-2
    linux-image-cloud-amd64 ca-certificates libarchive13
"

# Headers, build tools, and everything the three test tiers use:
#   mmdebstrap, grub, ovmf  - real bootable fixtures and the boot harness
#   hivex, ntfs-3g          - phony Windows guests
#   xorriso                 - a virtio-win ISO for the Windows tests, and the
#                             simulated virt-launcher's cloud-init disks
#   python3-*               - the loopback EC2 and Kubernetes fakes;
#                             yaml reads the manifests (k8s/manifests);
#                             prometheus-client parses the agent's metrics
#   virt-v2v                - the peer we benchmark against
#   buildah                 - builds the container image (image tier)
#   clang, libclang-rt      - the libFuzzer targets (scripts/fuzz.sh)
#   clang-tidy, valgrind    - static analysis and the valgrind run (CI)
#   shellcheck              - the guest scripts (the health probe) are
#                             checked in the unit tier
build_pkgs="
    build-essential cmake pkg-config git
    libguestfs-dev libnbd-dev libcurl4-openssl-dev libjson-c-dev
    libblkid-dev libssl-dev libxml2-dev libmicrohttpd-dev libcriterion-dev
    libyaml-dev libarchive-dev
    mmdebstrap debian-archive-keyring grub-pc-bin grub-efi-amd64-bin
    ovmf dosfstools e2fsprogs fdisk gdisk util-linux lvm2 cryptsetup-bin
    libhivex-bin ntfs-3g busybox-static xorriso
    python3 python3-botocore python3-jsonschema python3-prometheus-client
    python3-yaml
    openssl jq zstd time
    virt-v2v buildah
    clang libclang-rt-14-dev clang-tidy valgrind
    shellcheck
"

pkgs=$runtime_pkgs
[ "$mode" = full ] && pkgs="$pkgs $build_pkgs"

missing=
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
            grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages:$missing" >&2
    echo "deps: run this script as root (or install them with apt-get)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: installing:$missing"
apt-get update -q
# shellcheck disable=SC2086
apt-get install -q -y --no-install-recommends $missing
