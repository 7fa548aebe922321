#!/bin/bash
# guestfs tier: the launch watchdog.  "v2v-agent convert" on a copy of
# the phony Debian guest with V2V_LAUNCH_TIMEOUT=1: the appliance cannot
# start in 1 s (7 to 12 s under TCG), so the watchdog must kill its qemu,
# the agent must try a fresh appliance once and then fail with the
# timeout message.  Without a working watchdog the conversion succeeds
# after a minute or more, which fails every assertion below.
#
# Asserts: exit code 1 (internal error), the error message, the report's
# status and launch_attempts (2), the retry in the log, the run took well
# under one normal launch, no qemu of this run is left, and the disk's
# sha256 is unchanged.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../fixtures/lib.sh"
. "$here/../lib/functions.sh"

: "${V2V_AGENT:?V2V_AGENT must be the v2v-agent binary}"
: "${V2V_PHONY_DIR:?V2V_PHONY_DIR must be the phony guest directory}"
guestfs_env
export V2V_LOG_FORMAT=text

fixture=$V2V_PHONY_DIR/debian.img
[ -f "$fixture" ] || fail "$fixture is missing (run the phony-guests fixture)"
scratch_dir work launch-watchdog "${TMPDIR:-/var/tmp}"
cp --sparse=always "$fixture" "$work/debian.img"
sha256sum "$work/debian.img" > "$work/before"

rc=0
start=$(date +%s)
V2V_LAUNCH_TIMEOUT=1 timeout 240 "$V2V_AGENT" convert \
    --report "$work/report.json" --overlay-dir "$work/overlay" \
    "$work/debian.img" 2> "$work/convert.log" || rc=$?
elapsed=$(( $(date +%s) - start ))
cat "$work/convert.log"
echo "elapsed: ${elapsed} s"

[ "$rc" -eq 1 ] || fail_later "exit code $rc, expected 1 (internal error)"
msg='the libguestfs appliance did not start within 1 s (tried twice); see docs/troubleshooting.md'
grep -qxF "v2v: error: $msg" "$work/convert.log" ||
    fail_later "no error line '$msg'"
grep -qF 'the appliance did not start within 1 s; its qemu was killed; starting the appliance again (attempt 2 of 2)' \
    "$work/convert.log" || fail_later "the retry is not in the log"
if [ -f "$work/report.json" ]; then
    validate_report "$work/report.json"
    got=$(jq -r '[.status, .launch_attempts, .launch_timeout, .error] | @tsv' \
          "$work/report.json")
    want=$(printf '%s\t%s\t%s\t%s' internal-error 2 1 "$msg")
    [ "$got" = "$want" ] || fail_later "report: got '$got', expected '$want'"
else
    fail_later "no report was written"
fi
# Two launches of 1 s each, the accelerator verdict cached by
# guestfs_env: a few seconds.  This catches a watchdog that fires late
# or a launch that ignores the kill (a missing watchdog is caught above:
# the conversion then succeeds); 60 s leaves room for a loaded machine.
[ "$elapsed" -lt 60 ] || fail_later "took $elapsed s; the watchdog did not cut the launches short"
# Every qemu of this run has the overlay under $work on its command line.
if pgrep -af -- "$work" | grep -i qemu; then
    fail_later "a qemu of this run is still running"
fi
sha256sum --quiet -c "$work/before" || fail_later "the disk was written"

finish_checks
echo "launch-watchdog: ok"
