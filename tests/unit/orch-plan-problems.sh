#!/bin/bash
# orch-plan-problems.sh RENDER_DUMP PLANS_DIR: plan_load refuses bad.json
# and names each of its problems; the good plans load.
set -euo pipefail
dump=$1 plans=$2
. "$(dirname "$0")/../lib/functions.sh"

"$dump" "$plans/full.json" "$plans/compat.json" > /dev/null ||
    fail "the good plans were refused"
rc=0
out=$("$dump" "$plans/bad.json" 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "bad.json was accepted"
# 1 and nothing else: not a crash, nor valgrind's 99 (tests/valgrind.sh).
[ $rc -eq 1 ] || { echo "$out"; fail "bad.json: exit $rc, want 1"; }
echo "$out"
for want in "name 'Plan_A'" "targetAZ 'eu-west-1a' is not in region" \
            "targetNamespace is required" "vms\[0\].id 'i-123'" \
            "vms\[2\].id 'i-0123456789abcdef0' is listed twice" \
            "'gp9' is not an EBS volume type" "type 'bridge'" \
            "maxInFlight must be between" "accountId" \
            "skipGuestConversion must be true or false" \
            "unknown field 'typo'" "conversionImage is required"; do
    grep -q -- "$want" <<< "$out" || fail "no problem mentions: $want"
done
echo "PASS: every problem of bad.json is listed"
