#!/bin/bash
# v2v-orchestrator against the EC2 emulator and the fake kube-apiserver.
#
#   orch-migrate.sh skip            skipGuestConversion: snapshots, volumes,
#                                   PV/PVC, VM; cleanup; ≤ 3 + 2·disks calls
#   orch-migrate.sh cross-account   volumes made in another account
#   orch-migrate.sh throttle        a throttling storm (30 % of calls 503)
#   orch-migrate.sh crash-resume    SIGKILL after each phase's first change,
#                                   then a re-run: no duplicates, all clean
#   orch-migrate.sh bad-plan        every problem listed, nothing called
set -euo pipefail
scenario=$1
. "$(dirname "$0")/orch-lib.sh"

migrate () {
    local rc=0
    timeout 300 "$orch" migrate --plan "$PLAN" "$@" 2>> "$T/orch.log" || rc=$?
    return $rc
}

case $scenario in
skip)
    start_fakes
    write_plan '.skipGuestConversion = true'
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc"; }
    check_migrated
    [ "$(kube_kind Job | jq length)" -eq 0 ] || fail "a Job with skipGuestConversion"
    calls=$(non_polling_calls)
    # 3 disks: at most 3 + 2*3.
    [ "$calls" -le 9 ] || fail "$calls non-polling EC2 calls for one 3-disk VM (max 9): $(ec2_requests | jq -c '[.[] | select(.polling != true) | .action]')"
    # Polls are batched: no Describe call names a single snapshot or volume.
    ec2_requests | jq -e 'all(.[]; (.params | keys | map(select(test(
        "^(SnapshotId|VolumeId)\\.")))) | length <= 3)' >/dev/null ||
        fail "polls are not batched"
    # status reads the same record.
    "$orch" status --plan "$PLAN" > "$T/status" 2>>"$T/orch.log"
    grep -q "$INSTANCE.*100%.*Succeeded" "$T/status" || fail "status: $(cat "$T/status")"
    # A second run finds everything done and changes nothing.
    before=$(ec2_requests | jq length)
    migrate || fail "the re-run exited $?"
    after_mut=$(ec2_requests | jq --argjson b "$before" '[.[$b:][] | select(.polling != true)] | length')
    [ "$after_mut" -eq 0 ] || fail "a re-run of a finished plan changed $after_mut thing(s)"
    echo "PASS: skip: migrated with $calls non-polling EC2 calls"
    ;;
cross-account)
    start_fakes
    mkdir -p "$T/target-creds"
    printf '%s' "$DST_AKID" > "$T/target-creds/aws_access_key_id"
    printf '%s' "$DST_SECRET" > "$T/target-creds/aws_secret_access_key"
    write_plan ".skipGuestConversion = true | .targetCredentials =
        {\"secretDir\": \"$T/target-creds\", \"accountId\": \"$DST\"}"
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc"; }
    check_migrated "$DST"
    ec2_requests | jq -e --arg d "$DST" 'any(.[]; .action ==
        "ModifySnapshotAttribute" and .params["UserId.1"] == $d and
        .status == 200)' >/dev/null || fail "the snapshots were not shared"
    ec2_requests | jq -e --arg d "$DST" '[.[] | select(.action ==
        "CreateVolume")] | length == 3 and all(.[]; .account == $d)' \
        >/dev/null || fail "CreateVolume did not run in the target account"
    for s in "$AWS_SECRET_ACCESS_KEY" "$DST_SECRET" "$KUBE_TOKEN"; do
        ! grep -qF -- "$s" "$T/orch.log" "$T/ec2.jsonl" "$T/kube.jsonl" ||
            fail "a secret leaked"
    done
    echo "PASS: cross-account: volumes made in $DST from shared snapshots"
    ;;
throttle)
    start_fakes --throttle-rate 0.3 --seed-random 7
    write_plan '.skipGuestConversion = true'
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc under throttling"; }
    check_migrated
    n=$(ec2_requests | jq '[.[] | select(.error == "RequestLimitExceeded")] | length')
    [ "$n" -ge 5 ] || fail "only $n throttled calls: the storm did not happen"
    echo "PASS: throttle: migrated through $n RequestLimitExceeded answers"
    ;;
crash-resume)
    start_fakes
    write_plan '.skipGuestConversion = true'
    for phase in stop snapshot volumes bind vm cleanup; do
        curl -sf -X POST "$EC2/_fake/reset" >/dev/null
        curl -sf -X DELETE "$EC2/_fake/requests" >/dev/null
        curl -sf -X POST --cacert "$T/certs/ca.crt" "$KUBE/_fake/reset" >/dev/null
        rc=0
        V2V_ORCH_CRASH_AFTER=$phase migrate || rc=$?
        [ $rc -eq 137 ] || fail "$phase: the crash point did not fire (exit $rc)"
        migrate || { tail -20 "$T/orch.log"; fail "$phase: the resume exited $?"; }
        check_migrated
        req=$(ec2_requests)
        for a in CreateSnapshots:1 CreateVolume:3 StopInstances:1; do
            n=$(echo "$req" | jq --arg a "${a%:*}" '[.[] | select(.action == $a
                and .status == 200)] | length')
            [ "$n" -eq "${a#*:}" ] ||
                fail "$phase: ${a%:*} succeeded $n times, want ${a#*:}"
        done
        echo "ok: killed after $phase, resumed without duplicates"
    done
    echo "PASS: crash-resume"
    ;;
bad-plan)
    start_fakes
    write_plan '.storageMap = {"gp3": "ebs-gp3"} | .maxInFlight = 0 |
        .vms[0].id = "i-1" | del(.targetNamespace)'
    rc=0
    "$orch" migrate --plan "$PLAN" 2> "$T/orch.log" || rc=$?
    [ $rc -eq 3 ] || fail "a bad plan exited $rc, want 3"
    grep -q "3 problem(s)" "$T/orch.log" || fail "$(cat "$T/orch.log")"
    [ "$(ec2_requests | jq length)" -eq 0 ] || fail "EC2 was called for a bad plan"
    echo "PASS: bad-plan: refused before any call"
    ;;
*) fail "unknown scenario $scenario" ;;
esac
