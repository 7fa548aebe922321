#!/bin/bash
# Run every libFuzzer target (tests/fuzz/) for a bounded time.
#
#   scripts/fuzz.sh [SECONDS]       default 20 s per target
#   FUZZ_SEED=N                     libFuzzer's -seed (default 0: random);
#                                   CI fixes it so that a run can be repeated
#
# Builds BUILD_DIR (default build-fuzz/, reused, so a second run only
# rebuilds what changed) with clang and -DFUZZ=ON, then runs each
# fuzz-NAME on a temporary copy of its seed corpus tests/fuzz/NAME/ (the
# source corpus is never written).  Fails on the first target that finds
# a crash, a leak or a timeout, and prints the reproducer's path: run
# build-fuzz/tests/fuzz/fuzz-NAME FILE to replay it, then add FILE to
# tests/fuzz/NAME/ once the bug is fixed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

secs=${1:-20}
[[ $secs =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }
build=${BUILD_DIR:-$top/build-fuzz}
jobs=${JOBS:-$(nproc)}

start=$(date +%s)
CC=clang cmake -S . -B "$build" -DFUZZ=ON -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz -j "$jobs" >/dev/null
built=$(date +%s)
echo "fuzz: built in $((built - start)) s"

# One seed corpus directory per target.
targets=$(cd tests/fuzz && for d in */; do echo "${d%/}"; done)
work=$(mktemp -d "${TMPDIR:-/tmp}/v2v-fuzz.XXXXXX")
keep=0
trap '[ $keep = 1 ] || rm -rf "$work"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=0
for t in $targets; do
    mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
    cp -r "tests/fuzz/$t/." "$work/$t/corpus/"
    t0=$(date +%s)
    rc=0
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb bounds
    # memory; new inputs go to the copy only.
    "$build/tests/fuzz/fuzz-$t" -max_total_time="$secs" -timeout=10 \
        -seed="${FUZZ_SEED:-0}" \
        -rss_limit_mb=2048 -artifact_prefix="$work/$t/artifacts/" \
        "$work/$t/corpus" > "$work/$t/log" 2>&1 || rc=$?
    t1=$(date +%s)
    runs=$(sed -n 's/^#\([0-9]*\).*DONE.*/\1/p' "$work/$t/log" | tail -1)
    if [ $rc -ne 0 ]; then
        failed=1
        keep=1
        echo "fuzz: $t FAILED (exit $rc) after $((t1 - t0)) s" >&2
        grep -E 'ERROR|SUMMARY|runtime error' "$work/$t/log" | head -5 >&2 || :
        for a in "$work/$t/artifacts"/*; do
            [ -e "$a" ] && echo "fuzz: reproducer: $a" >&2
        done
        echo "fuzz: log: $work/$t/log" >&2
    else
        echo "fuzz: $t ok, ${runs:-?} runs in $((t1 - t0)) s"
    fi
done
end=$(date +%s)
echo "fuzz: total $((end - start)) s"
exit $failed
