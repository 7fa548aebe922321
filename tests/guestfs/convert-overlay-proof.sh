#!/bin/bash
# Nothing is lost: the disks stay byte-identical until every step of the
# conversion succeeded (issue 3's overlay proof, with the real agent).
#
#  1. SIGKILL to the whole agent (as when a pod is killed) in the middle
#     of the rework steps: the disk's sha256 is unchanged.
#  2. A step that fails (/etc/initramfs-tools/modules is a symlink to
#     /dev/zero, which the engine refuses to read): exit 11, the report
#     names the step, the disk's sha256 is unchanged, no overlay is left.
#  3. A normal run after the kill: it clears the dead run's overlay,
#     converts, commits, and leaves no overlay behind.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../fixtures/lib.sh"
. "$here/../lib/functions.sh"
: "${V2V_AGENT:?}" "${V2V_PHONY_DIR:?}"
guestfs_env

scratch_dir work overlay-proof "${TMPDIR:-/var/tmp}"
sum () { sha256sum < "$1" | cut -d' ' -f1; }

img=$work/debian.img
cp --sparse=always "$V2V_PHONY_DIR/debian.img" "$img"
before=$(sum "$img")

echo "== 1. kill -9 during the rework steps"
V2V_LOG_FORMAT=json setsid "$V2V_AGENT" convert --overlay-dir "$work/ov" \
    "$img" 2> "$work/kill.log" &
pid=$!
for _ in $(seq 1 600); do
    grep -q '"phase":"aws-agents"' "$work/kill.log" && break
    kill -0 "$pid" 2>/dev/null || fail "the agent ended before the kill: $(tail -3 "$work/kill.log")"
    sleep 0.2
done
grep -q '"phase":"aws-agents"' "$work/kill.log" || fail "never reached the rework steps"
kill -KILL -- "-$pid"          # the agent and its appliance, like a pod kill
wait "$pid" 2>/dev/null || true
[ "$(sum "$img")" = "$before" ] || fail "the disk changed after kill -9"
echo "PASS: disk unchanged after kill -9 mid-conversion"

echo "== 2. a step fails"
trap_img=$work/trap.img
cp --sparse=always "$V2V_PHONY_DIR/debian.img" "$trap_img"
guestfish -a "$trap_img" -m /dev/sda1 <<'FISH'
rm /etc/initramfs-tools/modules
ln-s /dev/zero /etc/initramfs-tools/modules
FISH
trap_before=$(sum "$trap_img")
set +e
timeout 600 "$V2V_AGENT" convert --report "$work/fail.json" \
    --overlay-dir "$work/ov-fail" "$trap_img" 2> "$work/fail.log"
rc=$?
set -e
[ "$rc" -eq 11 ] || fail "exit $rc, expected 11 (a step failed): $(tail -3 "$work/fail.log")"
validate_report "$work/fail.json"
jq -e '.status == "step-failed" and
       (.steps | any(.step == "initramfs" and .result == "failed" and
                     (.error | contains("/etc/initramfs-tools/modules: not a regular file"))))' \
    "$work/fail.json" >/dev/null || fail "report does not name the failed step: $(jq -c .steps "$work/fail.json")"
[ "$(sum "$trap_img")" = "$trap_before" ] || fail "the disk changed after a failed step"
[ -z "$(ls -A "$work/ov-fail" 2>/dev/null)" ] || fail "overlay left behind: $(ls "$work/ov-fail")"
echo "PASS: failed step, exit 11, disk unchanged, no overlay left"

echo "== 3. the next run converts and commits"
timeout 600 "$V2V_AGENT" convert --report "$work/ok.json" \
    --overlay-dir "$work/ov" "$img" 2> "$work/ok.log" || fail "convert after kill: $(tail -3 "$work/ok.log")"
validate_report "$work/ok.json"
[ "$(jq -r .status "$work/ok.json")" = converted ] || fail "status $(jq -r .status "$work/ok.json")"
[ "$(sum "$img")" != "$before" ] || fail "the commit did not reach the disk"
[ -z "$(ls -A "$work/ov" 2>/dev/null)" ] || fail "overlay left behind: $(ls "$work/ov")"
echo "PASS: converted and committed after the killed run; no overlay left"
