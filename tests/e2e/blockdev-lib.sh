# Shared by the blockdev e2e tests.  Sourced; the test is run with bash.
#
# Gives each test (through tests/lib/functions.sh) a scratch directory $T
# and a device directory $D for blockN symlinks; every loop device
# attached with attach is detached, and every daemon started with
# start_nbdkit killed, when the test exits.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/functions.sh"

: "${V2V_AGENT:?V2V_AGENT must name the v2v-agent binary}"
export LVM_SUPPRESS_FD_WARNINGS=1

requires jq sha256sum truncate
[ "$(id -u)" -eq 0 ] || skip "needs root for loop devices"

scratch_dir T v2v-blockdev-e2e
D=$T/dev
mkdir "$D"

# attach VAR IMAGE [losetup options]: attach IMAGE to a free loop device
# and set VAR to its name.  Detached by the trap.  (Not "$(attach ...)":
# the trap must know the device, and a subshell cannot tell it.)
attach () {
    local var=$1 img=$2 dev
    shift 2
    requires losetup
    dev=$(losetup -f --show "$@" "$img") || skip "cannot attach a loop device"
    on_exit "losetup -d '$dev' 2>/dev/null"
    printf -v "$var" '%s' "$dev"
}

# start_nbdkit [--after SECONDS] SOCKET PLUGIN ARGS...: serve on a Unix
# socket, in the foreground of a child of this shell so the trap can kill
# and reap it.  Without --after, returns once the socket exists.
start_nbdkit () {
    local delay=0 sock i
    if [ "$1" = --after ]; then delay=$2; shift 2; fi
    sock=$1
    shift
    requires nbdkit
    { sleep "$delay"; exec nbdkit -f --unix "$sock" "$@"; } &
    kill_on_exit $!
    [ "$delay" = 0 ] || return 0
    for i in $(seq 100); do
        [ -S "$sock" ] && return 0
        sleep 0.1
    done
    fail "nbdkit did not create $sock"
}

nbd_uri () { echo "nbd+unix:///?socket=$1"; }

# jq_is JSON FILTER EXPECTED: the filter's raw output must be EXPECTED.
jq_is () {
    local got
    got=$(jq -r "$2" <<<"$1") || fail "jq $2 failed"
    [ "$got" = "$3" ] || fail "$2: got '$got', expected '$3'"
}

sha () { sha256sum < "$1" | cut -d' ' -f1; }

# Write to X.tmp and rename, so a half-built image is never used.
publish () { mv -f "$1.tmp" "$1"; }

# make_gpt_esp IMG: 64 MiB, ESP (vfat, 1..17 MiB), Linux ext4 after it.
make_gpt_esp () {
    requires sfdisk mkfs.vfat mkfs.ext4
    truncate -s 64M "$1.tmp"
    printf 'label: gpt\nstart=2048, size=32768, type=U\ntype=L\n' |
        sfdisk -q "$1.tmp"
    mkfs.vfat -n EFI --offset=2048 "$1.tmp" 16384 >/dev/null
    mkfs.ext4 -q -F -L root -E offset=$((34816 * 512)) "$1.tmp" 40M
    publish "$1"
}

# make_mbr IMG: 64 MiB, active ext4 partition and a swap partition.
make_mbr () {
    requires sfdisk mkfs.ext4
    truncate -s 64M "$1.tmp"
    printf 'label: dos\n,32M,83,*\n,,82\n' | sfdisk -q "$1.tmp"
    mkfs.ext4 -q -F -E offset=1048576 "$1.tmp" 32M
    publish "$1"
}
