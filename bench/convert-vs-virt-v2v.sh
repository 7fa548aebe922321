#!/bin/bash
# Benchmark: v2v-agent convert against virt-v2v-in-place (Debian's virt-v2v
# package) on the same copies of each real fixture, in one run.
#
#   bench/convert-vs-virt-v2v.sh [VARIANT...]     (default: nitro xen uuid)
#
# For each variant and each tool: wall time, max RSS (GNU time; for both
# tools that includes qemu, whose RSS dominates) and the boot verdict of the
# result.  Then v2v-agent on the same guest on a 1 TiB sparse disk against
# a 4 GiB one (the fixture's disk grown, sparse, to each size).  Prints a Markdown table; results are kept in
# docs/performance.md by hand.  Not a test: nothing here asserts.
#
# Needs the fixtures: BUILD (default build/) /fixtures/real/VARIANT.img,
# made by scripts/test.sh or tests/fixtures/fixture-guest.sh.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
agent=$build/agent/v2v-agent
work=${BENCH_DIR:-/var/tmp/v2v-bench}
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(nitro xen uuid)
mkdir -p "$work"

export V2V_AGENT=$agent LIBGUESTFS_BACKEND=direct
V2V_ACCEL=${V2V_ACCEL:-$("$agent" accel)}
export V2V_ACCEL
[ "$V2V_ACCEL" = tcg ] && export LIBGUESTFS_BACKEND_SETTINGS=force_tcg

firmware () { [ "$1" = nitro ] && echo efi || echo bios; }

# run LABEL CMD...: prints "wall_s max_rss_mb exit"
run () {
    local label=$1 tf; shift
    tf=$(mktemp)
    /usr/bin/time -f '%e %M %x' -o "$tf" "$@" > "$work/$label.log" 2>&1
    local e m x; read -r e m x < <(tail -n 1 "$tf"); rm -f "$tf"
    echo "$e $((m / 1024)) $x"
}
# v2v-agent verify injects its probe into the overlay of a disk that has
# none (virt-v2v's), so both are judged by the same health line.
verdict () {
    "$agent" verify --firmware "$(firmware "$1")" --json \
        --timeout 420 "$2" 2>/dev/null |
        jq -r '"\(.verdict)\(if .stage then " at " + .stage else "" end) (\(.reason)) in \(.seconds | floor) s"'
}

echo "accelerator: $V2V_ACCEL; $(nproc) CPUs; $(date -u +%F)"
echo
echo "| guest | tool | wall s | max RSS MB | exit | boot verdict |"
echo "|---|---|---|---|---|---|"
for v in "${variants[@]}"; do
    src=$build/fixtures/real/$v.img
    [ -f "$src" ] || { echo "missing $src" >&2; continue; }
    cp --sparse=always "$src" "$work/$v-virtv2v.img"
    cp --sparse=always "$src" "$work/$v-agent.img"
    read -r e m x < <(cd "$work" && run "virtv2v-$v" virt-v2v-in-place -i disk "$work/$v-virtv2v.img")
    echo "| $v | virt-v2v-in-place | $e | $m | $x | $(verdict "$v" "$work/$v-virtv2v.img") |"
    # For transparency: virt-v2v given the same appliance tweak the agent
    # makes under TCG (norandmaps, see docs/troubleshooting.md).  Not booted:
    # its output is the same as the row above.
    if [ "$V2V_ACCEL" = tcg ]; then
        cp --sparse=always "$src" "$work/$v-virtv2v.img"
        read -r e m x < <(cd "$work" && LIBGUESTFS_APPEND=norandmaps run "virtv2v-nrm-$v" virt-v2v-in-place -i disk "$work/$v-virtv2v.img")
        echo "| $v | virt-v2v-in-place, appliance with norandmaps | $e | $m | $x | (not booted) |"
    fi
    read -r e m x < <(run "agent-$v" "$agent" convert --overlay-dir "$work/ov-$v" "$work/$v-agent.img")
    echo "| $v | v2v-agent convert | $e | $m | $x | $(verdict "$v" "$work/$v-agent.img") |"
    rm -f "$work/$v-virtv2v.img" "$work/$v-agent.img"
done

# Disk size must not matter: the same guest on a 1 TiB sparse disk.  MBR
# layouts only (a GPT backup header would sit at the old end).
v=${SIZE_VARIANT:-xen}
echo
echo "| disk | v2v-agent convert wall s | max RSS MB | exit |"
echo "|---|---|---|---|"
for size in 4G 1T; do
    cp --sparse=always "$build/fixtures/real/$v.img" "$work/size.img"
    truncate -s "$size" "$work/size.img"
    read -r e m x < <(run "size-$size" "$agent" convert --overlay-dir "$work/ov-size" "$work/size.img")
    case $size in *G) human="${size%G} GiB" ;; *T) human="${size%T} TiB" ;; esac
    echo "| $v, $human sparse | $e | $m | $x |"
    rm -f "$work/size.img"
done
