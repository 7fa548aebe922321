#!/bin/bash
# --dry-run opens the disk read-only, prints a plan, and writes nothing.
#   dry-run.sh FIXTURE.img
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
img=$1
: "${V2V_AGENT:?}"
. "$(dirname "$0")/../lib/report.sh"
scratch_dir out e2e-dry-run
before=$(sha256sum < "$img")
"$V2V_AGENT" convert --dry-run --report "$out/plan.json" "$img"
after=$(sha256sum < "$img")
[ "$before" = "$after" ] || fail "--dry-run changed $img"
validate_report "$out/plan.json"
jq -e '.dry_run == true and .status == "planned" and (.changes | length == 0) and
       (.steps | any(.result == "planned")) and
       (.steps | all(.result == "planned" or .result == "skipped"))' \
    "$out/plan.json" >/dev/null || { cat "$out/plan.json"; fail "unexpected plan"; }
echo "PASS: dry run planned $(jq '[.steps[] | select(.result == "planned")] | length' "$out/plan.json") steps and wrote nothing"
