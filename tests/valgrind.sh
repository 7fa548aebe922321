#!/bin/sh
# valgrind.sh PROGRAM [ARGS...]: run PROGRAM under memcheck, as the
# valgrind build (-DVALGRIND=ON, scripts/test.sh --valgrind) runs every one
# of our executables in the unit tier.  Exits with PROGRAM's status, or 99
# if valgrind reported anything in PROGRAM or any process under it.  See
# docs/testing.md, "Valgrind".
set -u
here=$(cd "$(dirname "$0")" && pwd)
logs=$(mktemp -d "${TMPDIR:-/tmp}/v2v-valgrind.XXXXXX") || exit 99

# One log per process, read when PROGRAM is done: an exit status cannot
# carry valgrind's verdict on every process.  Criterion runs each test
# in a child it re-executes (boxfort) and ignores how that child exits
# once the test has reported, which is before the leak check at exit;
# v2v-agent reads its phase child's result from a pipe, not from the
# exit status.  With -q a clean process writes nothing.
#
# --error-exitcode=99, not 1: v2v-orchestrator exits 1 when a VM failed
#   and v2v-agent when it hit an internal error, and tests expect both;
#   a memory error there must not pass for the expected failure.
# --errors-for-leak-kinds: every block no pointer reaches any more
#   (definite, indirect) or only a pointer into its middle reaches
#   (possible) is an error; "still reachable" at exit is memory a
#   global still holds (libraries' one-time setup), not a leak.
# --trace-children: the children above are ours and are checked too;
#   programs installed on the system (qemu-img, sfdisk, /bin/sh) are not
#   ours and are not traced.
# --vgdb=no: no gdbserver, so no vgdb FIFOs in $TMPDIR; a process that
#   ends without valgrind's own exit path (exec, SIGKILL) would leave
#   them behind, and tests check that our programs leave $TMPDIR empty.
# --read-inline-info=no: a process costs about a second under valgrind
#   whatever it does (reading libc6-dbg's debug information, relocating
#   and initialising the libraries); without inlined frames that is a
#   tenth less, and a report still names the function and line around
#   the inlined code.
valgrind -q \
    --error-exitcode=99 \
    --leak-check=full \
    --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible \
    --trace-children=yes \
    --trace-children-skip='/usr/*,/bin/*,/sbin/*,/lib/*' \
    --read-inline-info=no \
    --vgdb=no \
    --suppressions="$here/valgrind.supp" \
    --log-file="$logs/%p" \
    "$@" <&0 &
pid=$!

# Tests signal the program (SIGTERM to cancel, timeout(1)): pass the
# signal on, and wait again until it has really gone.
for sig in TERM INT HUP; do
    trap "kill -$sig $pid 2>/dev/null" $sig
done
while :; do
    wait $pid
    rc=$?
    kill -0 $pid 2>/dev/null || break
done

# Tests often keep a program's stderr to themselves: the reports also
# go to V2V_VALGRIND_REPORT, which scripts/test.sh --valgrind prints.
for log in "$logs"/*; do
    [ -s "$log" ] || continue
    cat "$log" >&2
    if [ -n "${V2V_VALGRIND_REPORT:-}" ]; then
        { echo "== valgrind: ${1##*/}"; cat "$log"; } >> "$V2V_VALGRIND_REPORT"
    fi
    rc=99
done
rm -rf "$logs"
exit $rc
