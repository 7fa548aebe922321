# shellcheck shell=bash
# What every shell test under tests/ shares.  Sourced by bash, right after
# "set -euo pipefail":
#
#     . "$(dirname "$0")/../lib/functions.sh"
#
# Messages name the test: V2V_TEST_NAME if set, else the script's name
# without .sh; a script that runs several cases sets TEST_CASE, and the
# messages then read "NAME (CASE)".  See docs/testing.md, "The shell test
# library".
#
#   fail MESSAGE...         "FAIL: NAME: MESSAGE" on stderr, exit 1
#   fail_later MESSAGE...   the same line, but the test goes on; counted
#   finish_checks           exit 1 if fail_later was called ("N checks
#                           failed"); the last line of such a test
#   failed_checks           how many fail_later calls so far
#   skip MESSAGE...         "SKIP: NAME: MESSAGE" on stderr, exit 77
#   requires CMD...         skip unless every CMD is on PATH
#   requires_python MOD...  skip unless /usr/bin/python3 imports them
#   on_exit COMMAND         run COMMAND (a string, eval'd) when the test
#                           exits, however it exits; the last added runs
#                           first, and the test's exit status is kept
#   kill_on_exit PID        kill and reap PID when the test exits
#   scratch_dir VAR NAME [PARENT]
#                           a new directory NAME.XXXXXX in PARENT
#                           (default $TMPDIR, else /tmp) into VAR,
#                           removed when the test exits (kept on failure
#                           if KEEP_T is set)
#   start_kube_fake [OPTION...]
#   start_ec2_emulator [OPTION...]
#   stop_fakes              the strict fakes of tests/fakes/ (below)

V2V_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
V2V_FAKES_DIR=$V2V_TESTS_DIR/fakes
# Debian's python3: the EC2 emulator needs its python3-botocore (a pyenv
# python3 earlier on PATH has another one, or none), and both fakes run
# on the same interpreter.
V2V_PYTHON=/usr/bin/python3
: "${V2V_TEST_NAME:=$(basename "$0" .sh)}"
TEST_CASE=${TEST_CASE:-}

_test_label () { echo "$V2V_TEST_NAME${TEST_CASE:+ ($TEST_CASE)}"; }

fail () {
    echo "FAIL: $(_test_label): $*" >&2
    exit 1
}

_failed_checks=0
fail_later () {
    echo "FAIL: $(_test_label): $*" >&2
    # In a subshell (a pipeline's last command, $(...)) the count would
    # be lost and the test would pass: end the subshell with an error
    # instead, which set -e and pipefail carry to the test.
    [ "$BASHPID" = "$$" ] || exit 1
    _failed_checks=$((_failed_checks + 1))
}

# The number of fail_later calls so far.
failed_checks () { echo "$_failed_checks"; }

finish_checks () {
    [ "$_failed_checks" -eq 0 ] ||
        fail "$_failed_checks check(s) failed (see the FAIL lines above)"
}

skip () {
    echo "SKIP: $(_test_label): $*" >&2
    exit 77
}

requires () {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
    done
}

requires_python () {
    local m
    for m in "$@"; do
        "$V2V_PYTHON" -c "import $m" 2>/dev/null ||
            skip "$V2V_PYTHON cannot import $m (install python3-$m)"
    done
}

# --- cleanup -----------------------------------------------------------------

_exit_hooks=()
on_exit () { _exit_hooks+=("$1"); }

# The test's exit status, for the hooks.
exit_status=0
_run_exit_hooks () {
    exit_status=$?
    local i
    set +e
    for ((i = ${#_exit_hooks[@]} - 1; i >= 0; i--)); do
        eval "${_exit_hooks[i]}"
    done
    exit "$exit_status"
}
trap _run_exit_hooks EXIT
# A signal ends the test through the EXIT trap, so the hooks run.
trap 'exit 130' INT
trap 'exit 143' TERM

kill_on_exit () {
    on_exit "kill $1 2>/dev/null; wait $1 2>/dev/null"
}

scratch_dir () {
    local dir
    dir=$(mktemp -d "${3:-${TMPDIR:-/tmp}}/$2.XXXXXX")
    printf -v "$1" '%s' "$dir"
    on_exit "_remove_scratch '$dir'"
}
_remove_scratch () {
    if [ "$exit_status" -ne 0 ] && [ -n "${KEEP_T:-}" ]; then
        echo "kept $1" >&2
    else
        rm -rf "$1"
    fi
}

# wait_for_file FILE PID WHAT: until FILE has something in it; fail if
# process PID ends first or after 30 s.
wait_for_file () {
    local i
    for i in $(seq 1200); do
        [ -s "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || fail "$3 exited before it was ready"
        sleep 0.1
    done
    fail "$3 was not ready after 120 s"
}

# --- the fakes (tests/fakes/, docs/testing-fakes.md) -------------------------
#
# Both need the scratch directory T.  Each runs in the background, on a
# free loopback port, with --quiet and --record, and is stopped (SIGTERM,
# then reaped) when the test exits, or by stop_fakes.
#
#   start_kube_fake [OPTION...]
#       kube-apiserver.py with the TLS material of make-certs.sh in
#       $T/certs and the schemas of $SHARED_DATA, and OPTIONs (at least
#       --token or --token-file).  Sets KUBE (https://127.0.0.1:PORT),
#       KUBE_PORT, KUBE_CA ($T/certs/ca.crt) and KUBE_RECORD
#       ($T/kube.jsonl).
#   start_ec2_emulator [OPTION...]
#       ec2-emulator.py over plain HTTP with OPTIONs (at least one
#       --credentials).  Sets EC2 (http://127.0.0.1:PORT), EC2_PORT and
#       EC2_RECORD ($T/ec2.jsonl).
#   stop_fakes
#       stops every fake started, and waits for them.

_fake_pids=()

_start_fake () {
    local name=$1 script=$2 pid
    shift 2
    : "${T:?the fakes need the scratch directory T}"
    [ ${#_fake_pids[@]} -gt 0 ] || on_exit stop_fakes
    rm -f "$T/$name.port"
    "$V2V_PYTHON" "$V2V_FAKES_DIR/$script" --quiet \
        --record "$T/$name.jsonl" --port 0 --port-file "$T/$name.port" \
        "$@" &
    pid=$!
    _fake_pids+=("$pid")
    wait_for_file "$T/$name.port" "$pid" "$script"
}

start_kube_fake () {
    requires openssl
    requires_python jsonschema
    : "${SHARED_DATA:?SHARED_DATA must be the shared data directory}"
    "$V2V_FAKES_DIR/make-certs.sh" "$T/certs" >/dev/null
    _start_fake kube kube-apiserver.py \
        --cert "$T/certs/server.crt" --key "$T/certs/server.key" \
        --schemas "$SHARED_DATA/schemas" "$@"
    KUBE_PORT=$(cat "$T/kube.port")
    KUBE=https://127.0.0.1:$KUBE_PORT
    KUBE_CA=$T/certs/ca.crt
    KUBE_RECORD=$T/kube.jsonl
}

start_ec2_emulator () {
    requires_python botocore
    _start_fake ec2 ec2-emulator.py "$@"
    EC2_PORT=$(cat "$T/ec2.port")
    EC2=http://127.0.0.1:$EC2_PORT
    EC2_RECORD=$T/ec2.jsonl
}

stop_fakes () {
    local p
    for p in "${_fake_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${_fake_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    _fake_pids=()
    return 0
}

# validate_report REPORT.json...: every report a test makes holds to
# docs/report.schema.json (tests/lib/report.sh).
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/report.sh"
