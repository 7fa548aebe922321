#!/bin/bash
# Static analysis of the whole tree: common/, blockdev/, convert/ (with
# linux/ and windows/), k8s/, agent/ and orchestrator/; tests/ is not
# analysed.  Any finding fails the run (docs/reliability.md).
#
#   scripts/analyze.sh
#
# Two tools, each where it sees more:
#   gcc -fanalyzer  every source compiled at -O0 with -Werror, so a
#                   warning stops the build; -Wno-analyzer-malloc-leak
#                   because gcc 12 loses heap pointers stored in array
#                   elements and calls each one a leak
#   clang-tidy      the checks in .clang-tidy (the analyzer's core,
#                   dead stores, nonnull arguments, bugprone-*, cert-*),
#                   every finding an error
#
# BUILD_DIR (default build-analyze/) holds gcc/ and tidy/; reused.
# The counts in .clang-tidy are clang-tidy 14's (Debian 12); a newer one
# has more checks under bugprone-* and cert-*.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

for c in gcc cmake clang-tidy run-clang-tidy; do
    command -v $c >/dev/null ||
        { echo "analyze: $c is missing (scripts/deps.sh installs it)" >&2
          exit 1; }
done

build=${BUILD_DIR:-$top/build-analyze}
jobs=${JOBS:-$(nproc)}
start=$(date +%s)

# -O0: at -O2, gcc 12 reports the NULL that initialises a CLEANUP_FREE
# variable as uninitialised on some early returns (the optimiser has
# moved the store); -O0 keeps the code as written.  -Wno-restrict: at
# -O0 gcc cannot place struct members and calls two distinct members of
# one struct overlapping (the orchestrator's old describe_plan); the
# -O2 build of scripts/test.sh has -Wrestrict with -Werror.  make -k:
# one file's findings do not hide another's (but a program is not
# analysed until the libraries it links have no findings).
cmake -S . -B "$build/gcc" -G "Unix Makefiles" -DBUILD_TESTING=OFF \
    -DWERROR=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_C_FLAGS="-O0 -fanalyzer -Wno-analyzer-malloc-leak -Wno-restrict" \
    >/dev/null
rc=0
cmake --build "$build/gcc" -j "$jobs" -- -k >"$build/gcc.log" 2>&1 || rc=$?
if [ $rc -ne 0 ]; then
    grep -E 'error:|warning:' "$build/gcc.log" >&2 || :
    echo "analyze: gcc -fanalyzer found the above; full paths in" \
         "$build/gcc.log" >&2
fi
gcc_done=$(date +%s)
echo "analyze: gcc -fanalyzer $((gcc_done - start)) s"

# clang-tidy needs only the compile commands, not a build.
cmake -S . -B "$build/tidy" -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc >/dev/null
tidy_rc=0
# Only the tree's own sources: the files cmake generates (the embedded
# health-probe scripts, cmake/Embed.cmake) are data, and are not written
# in a configure-only build.
run-clang-tidy -quiet -j "$jobs" -p "$build/tidy" \
    "^$top/(common|blockdev|convert|k8s|agent|orchestrator)/" \
    >"$build/tidy.log" 2>&1 || tidy_rc=$?
if [ $tidy_rc -ne 0 ]; then
    sed 's/\x1b\[[0-9;]*m//g' "$build/tidy.log" |
        grep -E '(error|warning):' | sort -u >&2 || :
    echo "analyze: clang-tidy found the above; full log in" \
         "$build/tidy.log" >&2
    rc=1
fi
end=$(date +%s)
echo "analyze: clang-tidy $((end - gcc_done)) s, total $((end - start)) s"
exit $rc
