#!/bin/bash
# Run the whole test suite: install dependencies, build, then ctest over
# the three tiers unit, guestfs and e2e.  This is what CI runs.
#
#   scripts/test.sh                 unit, guestfs, e2e
#   scripts/test.sh -L unit         any extra arguments go to ctest
#   scripts/test.sh -L image        the container image build (slow; not
#                                   in the default run, see docs/deploy.md)
#   scripts/test.sh --sanitize      ASan+UBSan build, unit and guestfs tiers
#                                   (not the tests labelled "slow")
#   scripts/test.sh --valgrind      the unit tier with our executables under
#                                   valgrind (tests/valgrind.sh)
#
# BUILD_DIR (default build/, or build-asan/ with --sanitize, build-valgrind/
# with --valgrind) is reused.
# V2V_NO_SKIP=1 makes a skipped test (exit 77) an error, as CI requires.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

sanitize=OFF
valgrind=OFF
jobs=2
if [ "${1:-}" = --sanitize ]; then
    sanitize=ON
    shift
    set -- -L 'unit|guestfs' -LE '^slow$' "$@"
elif [ "${1:-}" = --valgrind ]; then
    valgrind=ON
    shift
    # Three jobs on two CPUs: under valgrind the tests are CPU-bound but
    # for their waits (fakes' latencies, retries), which a third fills.
    jobs=3
    # Not the tests labelled valgrind-slow (tests/unit/convert.cmake).
    set -- -L unit -LE valgrind-slow "$@"
fi
# The image tier rebuilds the container image: minutes even with a warm
# cache, so only when asked for.
[ $# -gt 0 ] || set -- -LE image
suffix=
[ "$sanitize" = ON ] && suffix=-asan
[ "$valgrind" = ON ] && suffix=-valgrind
build=${BUILD_DIR:-$top/build$suffix}

scripts/deps.sh
cmake -S . -B "$build" -DWERROR=ON -DSANITIZE=$sanitize \
    -DVALGRIND=$valgrind
cmake --build "$build" -j "$(nproc)"

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

cd "$build"
rm -f valgrind/report.txt
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
ctest --output-on-failure --no-tests=error -j "$jobs" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# What valgrind found, even where a test kept the program's stderr.
[ ! -s valgrind/report.txt ] || cat valgrind/report.txt
if [ "${V2V_NO_SKIP:-0}" = 1 ] && grep -q '\*\*\*Skipped\|Not Run' "$log"; then
    echo "test.sh: some tests were skipped, which CI does not allow" >&2
    exit 1
fi
exit "$rc"
