#!/bin/bash
# The pipeline that "v2v-agent convert" and "v2v-agent run" share, through
# both commands, with convert_run stood in for (agent-fakeconvert.c):
#   1. a conversion is committed, and the report says so;
#   2. a commit that fails on the second disk: exit 12, the report's
#      status commit-failed, disk 0 committed and disk 1 not;
#   3. a --report that cannot be written at the end: exit 16, the
#      disks committed; a failed run keeps its own code;
#   4. a --report that cannot be opened: exit 2, nothing written.
# Every report is validated against docs/report.schema.json.
#
#   agent-pipeline.sh     (V2V_AGENT: v2v-agent-fakeconvert)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/functions.sh"
. "$here/../lib/report.sh"
: "${V2V_AGENT:?}"
agent=$V2V_AGENT
unset V2V_AGENT POD_NAME KUBECONFIG KUBERNETES_SERVICE_HOST
export V2V_ACCEL=tcg V2V_LOG_FORMAT=json

requires jq sfdisk mkfs.ext4 qemu-img qemu-io

scratch_dir T v2v-agent-pipeline

# Two disks an OS could live on: one bootable ext4 partition each.
mkdisk () {
    truncate -s 64M "$1"
    printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$1"
    mkfs.ext4 -q -F -E offset=1048576 "$1" 60M
}
mkdisk "$T/pristine0.img"
mkdisk "$T/pristine1.img"

# 0x5a at 32 MiB is what the stand-in writes into each overlay.
marked () { [ "$(od -An -tx1 -j $((32 << 20)) -N 4 "$1" | tr -d ' ')" = 5a5a5a5a ]; }
sha () { sha256sum < "$1"; }
# The JSON log lines ("convert" also prints a summary for people).
logs () { grep '^{' "$T/$1/log" || true; }

# fresh NAME: new copies of the disks in $T/NAME, and a device dir.
fresh () {
    rm -rf "${T:?}/$1"
    mkdir -p "$T/$1/dev"
    cp "$T/pristine0.img" "$T/$1/d0.img"
    cp "$T/pristine1.img" "$T/$1/d1.img"
    ln -s "$T/$1/d0.img" "$T/$1/dev/block0"
    ln -s "$T/$1/d1.img" "$T/$1/dev/block1"
}

# agent CMD NAME [OPTIONS]: the command on the disks of NAME; sets $rc.
agent () {
    local cmd=$1 name=$2
    shift 2
    rc=0
    if [ "$cmd" = convert ]; then
        "$agent" convert --overlay-dir "$T/$name/overlay" "$@" \
            "$T/$name/d0.img" "$T/$name/d1.img" 2> "$T/$name/log" || rc=$?
    else
        "$agent" run --device-dir "$T/$name/dev" \
            --overlay-dir "$T/$name/overlay" \
            --termination-log "$T/$name/term" "$@" 2> "$T/$name/log" || rc=$?
    fi
}

# term NAME JQ: for run, the termination message satisfies JQ.
term () {
    [ "$cmd" = run ] || return 0
    jq -e "$2" "$T/$1/term" >/dev/null ||
        fail "$cmd: termination message: $(cat "$T/$1/term" 2>/dev/null)"
}

for cmd in convert run; do
    # --- 1. committed ------------------------------------------------------
    n=$cmd-ok; fresh $n
    agent $cmd $n --report "$T/$n/report.json"
    [ $rc -eq 0 ] || { cat "$T/$n/log"; fail "$cmd: exit $rc, want 0"; }
    validate_report "$T/$n/report.json"
    jq -e '.status == "converted" and (has("error") | not) and
        [.disks[].write] == ["committed", "committed"] and
        .guest.product == "Fake Linux 12"' "$T/$n/report.json" >/dev/null ||
        fail "$cmd: report: $(cat "$T/$n/report.json")"
    marked "$T/$n/d0.img" && marked "$T/$n/d1.img" ||
        fail "$cmd: the commit did not reach the disks"
    term $n '.outcome == "Succeeded" and .reason == "Converted" and
        .exitCode == 0 and .guest.product == "Fake Linux 12"'
    echo "ok 1 $cmd: committed, and the report says so"

    # --- 2. the commit fails on disk 1 ---------------------------------------
    n=$cmd-commit; fresh $n
    FAKE_CONVERT_BREAK_COMMIT=1 agent $cmd $n --report "$T/$n/report.json"
    [ $rc -eq 12 ] || { cat "$T/$n/log"; fail "$cmd: commit failure: exit $rc, want 12"; }
    validate_report "$T/$n/report.json"
    d1=$T/$n/d1.img
    [ $cmd = convert ] || d1=$T/$n/dev/block1
    jq -e --arg d1 "$d1" '.status == "commit-failed" and
        (.error | startswith("blockdev_overlay_commit: disk 1 (" + $d1 + ")")) and
        [.disks[].write] == ["committed", "not-committed"]' \
        "$T/$n/report.json" >/dev/null ||
        fail "$cmd: commit failure: report: $(cat "$T/$n/report.json")"
    marked "$T/$n/d0.img" || fail "$cmd: disk 0 was not committed"
    [ "$(sha "$T/$n/d1.img")" = "$(sha "$T/pristine1.img")" ] ||
        fail "$cmd: disk 1 changed although its commit failed"
    logs $n | jq -se 'any(.[]; .level == "error" and
        (.msg | contains("blockdev_overlay_commit: disk 1")))' >/dev/null || fail "$cmd: the commit error was not logged"
    term $n '.outcome == "DeviceError" and .reason == "CommitFailed" and
        .exitCode == 12 and (.message | contains("the commit is incomplete"))'
    echo "ok 2 $cmd: a failed commit is exit 12 and commit-failed in the report"

    # --- 3. the report cannot be written at the end -------------------------
    n=$cmd-full; fresh $n
    agent $cmd $n --report /dev/full
    [ $rc -eq 16 ] || { cat "$T/$n/log"; fail "$cmd: /dev/full: exit $rc, want 16"; }
    logs $n | jq -se 'any(.[]; .level == "error" and
        (.msg | contains("--report /dev/full: cannot write")))' >/dev/null || fail "$cmd: no error about the report"
    marked "$T/$n/d0.img" && marked "$T/$n/d1.img" ||
        fail "$cmd: the disks were not committed before the report"
    term $n '.outcome == "Failed" and .reason == "ReportNotWritten" and
        .exitCode == 16 and (.message | contains("was converted"))'
    # A run that failed keeps its own code.
    n=$cmd-full-failed; fresh $n
    FAKE_CONVERT_STATUS=step-failed agent $cmd $n --report /dev/full
    [ $rc -eq 11 ] || fail "$cmd: step failure and /dev/full: exit $rc, want 11"
    logs $n | jq -se 'any(.[]; .msg | contains("--report /dev/full: cannot write"))' >/dev/null || fail "$cmd: the report error was not logged"
    [ "$(sha "$T/$n/d0.img")" = "$(sha "$T/pristine0.img")" ] ||
        fail "$cmd: a failed step changed disk 0"
    term $n '.reason == "StepFailed" and .exitCode == 11'
    echo "ok 3 $cmd: an unwritable report is exit 16 after a success, and leaves a failure's code"

    # --- 4. the report cannot even be opened ---------------------------------
    n=$cmd-noreport; fresh $n
    agent $cmd $n --report "$T/no/such/dir/report.json"
    [ $rc -eq 2 ] || fail "$cmd: unopenable --report: exit $rc, want 2"
    logs $n | jq -se 'any(.[]; .level == "error" and
        (.msg | contains("no/such/dir/report.json: cannot open")))' >/dev/null || fail "$cmd: no error about the report path"
    [ "$(sha "$T/$n/d0.img")" = "$(sha "$T/pristine0.img")" ] &&
        [ "$(sha "$T/$n/d1.img")" = "$(sha "$T/pristine1.img")" ] ||
        fail "$cmd: disks written although --report could not be opened"
    [ ! -e "$T/$n/overlay" ] || fail "$cmd: overlays made before the report check"
    echo "ok 4 $cmd: an unopenable report stops the run before anything is done"

    # A refusal's report holds to the schema too.
    n=$cmd-refused; fresh $n
    FAKE_CONVERT_STATUS=no-space agent $cmd $n --report "$T/$n/report.json"
    [ $rc -eq 8 ] || fail "$cmd: no-space: exit $rc, want 8"
    validate_report "$T/$n/report.json"
    jq -e '.status == "no-space" and (.error | contains("50 MB needed")) and
        [.disks[].write] == ["untouched", "untouched"]' \
        "$T/$n/report.json" >/dev/null ||
        fail "$cmd: no-space report: $(cat "$T/$n/report.json")"
done
echo "PASS: agent-pipeline"
