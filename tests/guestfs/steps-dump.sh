#!/bin/bash
# Run convert-step-dump (tests/tools/) with the test environment's
# libguestfs settings: one appliance for all the STEP=IMAGE pairs given,
# each step alone on its own overlay of its image.  The step-STEP tests
# then assert on what it wrote to OUTDIR.
#
#   steps-dump.sh [--virtio-win] TOOL OUTDIR STEP=IMAGE...
#
# --virtio-win: VIRTIO_WIN is a fake virtio-win tree built in OUTDIR
# (fake-virtio-win.sh), for the Windows steps.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../fixtures/lib.sh"
. "$here/../lib/functions.sh"
vw=false
if [ "${1:-}" = --virtio-win ]; then vw=true; shift; fi
[ $# -ge 3 ] || fail "usage: $0 [--virtio-win] TOOL OUTDIR STEP=IMAGE..."
tool=$1 out=$2
shift 2
guestfs_env
unset VIRTIO_WIN VIRTIO_WIN_LEGACY
rm -rf "$out"
mkdir -p "$out"
if $vw; then
    : "${SHARED_DATA:?SHARED_DATA must be the shared test data directory}"
    # shellcheck source=tests/guestfs/fake-virtio-win.sh
    . "$here/fake-virtio-win.sh"
    fake_tree "$out/vw"
    export VIRTIO_WIN=$out/vw
fi
start=$(date +%s)
"$tool" "$out" "$@"
echo "steps-dump: $# step(s) in $(( $(date +%s) - start )) s"
