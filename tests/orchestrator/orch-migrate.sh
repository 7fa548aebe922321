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
#   orch-migrate.sh convert         the conversion Job (simulated kubelet):
#                                   its spec, and the agent's hints in the VM
#   orch-migrate.sh compat          useCompatibilityMode: --compat=fix, SATA
#                                   and e1000e
#   orch-migrate.sh cleanup         cleanup after a crash; --purge
#   orch-migrate.sh job-fail        the Job fails: snapshots, volumes, PV,
#                                   PVC and Job deleted, source restarted
#   orch-migrate.sh secrets         every secret through success, retry
#                                   and failure: none in any output
set -euo pipefail
scenario=$1
TEST_CASE=$scenario
. "$(dirname "$0")/orch-lib.sh"

migrate () {
    local rc=0
    timeout 300 "$orch" migrate --plan "$PLAN" "$@" 2>> "$T/orch.log" || rc=$?
    return $rc
}

# The simulated kubelet's answer for the agent: converted, and the disk
# says BIOS.
converted_result () {
    cat > "$T/result.json" <<'JSON'
{"outcome": "Succeeded", "reason": "Converted", "exitCode": 0,
 "message": "Debian GNU/Linux 12 (bookworm) was converted",
 "kubevirtHints": {"firmware": "bios", "diskBus": "virtio", "nicModel": "virtio"},
 "warnings": []}
JSON
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
    # Killed right after sharing the snapshots, then resumed.
    rc=0; V2V_ORCH_CRASH_AFTER=share migrate || rc=$?
    [ $rc -eq 137 ] || fail "the crash point after share did not fire ($rc)"
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc"; }
    check_migrated "$DST"
    ec2_requests | jq -e --arg d "$DST" 'any(.[]; .action ==
        "ModifySnapshotAttribute" and .params["UserId.1"] == $d and
        .status == 200)' >/dev/null || fail "the snapshots were not shared"
    ec2_requests | jq -e --arg d "$DST" '[.[] | select(.action ==
        "CreateVolume" and .status == 200)] | length == 3 and
        all(.[]; .account == $d)' \
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
    echo '{"outcome": "Succeeded", "reason": "Converted", "exitCode": 0,
           "kubevirtHints": {"firmware": "efi"}}' > "$T/result.json"
    KUBELET_ARGS="--kubelet succeed --kubelet-delay 0.2 --kubelet-result $T/result.json"
    start_fakes
    write_plan '.'
    for phase in stop snapshot volumes bind convert vm cleanup; do
        curl -sf -X POST "$EC2/_fake/reset" >/dev/null
        curl -sf -X DELETE "$EC2/_fake/requests" >/dev/null
        curl -sf -X POST --cacert "$T/certs/ca.crt" "$KUBE/_fake/reset" >/dev/null
        rc=0
        V2V_ORCH_CRASH_AFTER=$phase migrate || rc=$?
        [ $rc -eq 137 ] || fail "$phase: the crash point did not fire (exit $rc)"
        migrate || { tail -20 "$T/orch.log"; fail "$phase: the resume exited $?"; }
        check_migrated
        n=$(curl -sf --cacert "$T/certs/ca.crt" "$KUBE/_fake/requests" | jq '[.[] |
            select(.method == "POST" and (.path | endswith("/jobs")) and
                   .status == 201)] | length')
        [ "$n" -eq 1 ] || fail "$phase: $n conversion Jobs created, want 1"
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
convert|compat)
    # The agent's result says BIOS: it looked at the disk, and that wins
    # over the instance's boot mode (uefi in the seed).
    converted_result
    KUBELET_ARGS="--kubelet succeed --kubelet-delay 0.3 --kubelet-result $T/result.json"
    start_fakes
    if [ "$scenario" = compat ]; then
        write_plan '.useCompatibilityMode = true'
    else
        write_plan '.'
    fi
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc"; }
    check_migrated "$SRC" bios
    job=$(kube_kind Job)
    # deleteGuestConversionPod (default true): the Job is gone at the end,
    # but the fake recorded what was created.
    [ "$(echo "$job" | jq length)" -eq 0 ] || fail "the Job was not deleted"
    spec=$(curl -sf --cacert "$T/certs/ca.crt" "$KUBE/_fake/requests" |
           jq '[.[] | select(.method == "POST" and (.path | endswith("/jobs")))][0].body')
    echo "$spec" | jq -e '.spec.template.spec as $p |
        $p.nodeSelector["topology.kubernetes.io/zone"] == "us-east-1a" and
        $p.securityContext.runAsNonRoot == true and
        ($p.containers[0] | .resources.requests["devices.kubevirt.io/kvm"] == "1"
         and ([.volumeDevices[].devicePath] ==
              ["/dev/block0", "/dev/block1", "/dev/block2"])
         and ([.env[].name] | index("POD_NAME") != null)
         and .securityContext.readOnlyRootFilesystem == true) and
        ([$p.volumes[] | select(.persistentVolumeClaim) |
          .persistentVolumeClaim.claimName] ==
         ["web-1-disk0", "web-1-disk1", "web-1-disk2"])' >/dev/null ||
        fail "Job spec: $(echo "$spec" | jq -c .spec.template.spec)"
    vm=$(kube_kind VirtualMachine | jq '.[0].spec.template.spec')
    echo "$vm" | jq -e '.domain.firmware.bootloader.bios != null' >/dev/null ||
        fail "the agent's firmware hint (bios) was not used"
    if [ "$scenario" = compat ]; then
        echo "$spec" | jq -e '.spec.template.spec.containers[0].args |
            index("--compat=fix") != null' >/dev/null || fail "no --compat=fix"
        echo "$vm" | jq -e '(.domain.devices.disks | all(.disk.bus == "sata")) and
            (.domain.devices.interfaces | all(.model == "e1000e"))' >/dev/null ||
            fail "compat VM devices: $(echo "$vm" | jq -c .domain.devices)"
    else
        echo "$vm" | jq -e '(.domain.devices.disks | all(.disk.bus == "virtio")) and
            (.domain.devices.interfaces | all(.model == "virtio"))' >/dev/null ||
            fail "VM devices: $(echo "$vm" | jq -c .domain.devices)"
    fi
    echo "PASS: $scenario: Job ran, VM made with the agent's hints"
    ;;
job-fail)
    cat > "$T/result.json" <<'JSON'
{"outcome": "Refused", "reason": "NoOperatingSystem", "exitCode": 4,
 "message": "no operating system found: 3 disks are blank or unrecognised"}
JSON
    KUBELET_ARGS="--kubelet fail --kubelet-delay 0.3 --kubelet-result $T/result.json"
    start_fakes
    write_plan '.'
    rc=0; migrate || rc=$?
    [ $rc -eq 1 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc, want 1"; }
    grep -q "no operating system found" "$T/orch.log" ||
        fail "the agent's message is not in the log"
    s=$(ec2_state)
    echo "$s" | jq -e --arg i "$INSTANCE" '(.instances[] | select(.InstanceId
        == $i) | .State) as $st | ($st == "running" or $st == "pending" or
        $st.Name? == "running" or $st.Name? == "pending")' >/dev/null ||
        fail "the source instance was not started again"
    n=$(echo "$s" | jq '[.snapshots[] | select(.tags | has("v2v-kubevirt/plan"))
        | select(.State != "deleted")] | length')
    [ "$n" -eq 0 ] || fail "$n snapshot(s) left after a failure"
    n=$(echo "$s" | jq '[.volumes[] | select(.tags | has("v2v-kubevirt/plan"))
        | select(.State != "deleted")] | length')
    [ "$n" -eq 0 ] || fail "$n target volume(s) left after a failure"
    for k in PersistentVolume PersistentVolumeClaim Job VirtualMachine; do
        [ "$(kube_kind $k | jq length)" -eq 0 ] || fail "a $k left after a failure"
    done
    "$orch" status --plan "$PLAN" > "$T/status" 2>>"$T/orch.log"
    grep -q "Failed.*no operating system" "$T/status" ||
        fail "status: $(cat "$T/status")"
    echo "PASS: job-fail: cleaned up and restarted the source"
    ;;
secrets)
    # Every secret the orchestrator holds: the source account's key and
    # session token (environment), the target account's key and session
    # token (the plan's secretDir), a wrong target key, and the kube
    # token.  They go through every path: debug logging, EC2 throttling
    # and kube 503s (retry logs), a failed run (the target key is wrong:
    # AuthFailure, rollback), a successful run with the conversion Job,
    # and status.  None may appear in the log, status, the fakes' request
    # records (which keep bodies), or any stored object (ConfigMap, Job,
    # Events, PV/PVC, VM).
    export AWS_SESSION_TOKEN=src-session-$RANDOM$RANDOM
    DST_SESSION=dst-session-$RANDOM$RANDOM
    wrong=wrong-secret-$RANDOM$RANDOM
    export V2V_DEBUG=1
    converted_result
    echo '[{"method": "POST", "path_regex": "/(configmaps|jobs|events)", "times": 3, "status": 503},
           {"method": "PATCH", "path_regex": "/configmaps/", "times": 2, "status": 429, "retry_after": 0}]' \
        > "$T/faults.json"
    KUBELET_ARGS="--kubelet succeed --kubelet-delay 0.3 --kubelet-result $T/result.json --faults $T/faults.json"
    start_fakes --throttle-rate 0.2 --seed-random 11
    mkdir -p "$T/target-creds"
    printf '%s' "$DST_AKID" > "$T/target-creds/aws_access_key_id"
    printf '%s' "$wrong" > "$T/target-creds/aws_secret_access_key"
    printf '%s' "$DST_SESSION" > "$T/target-creds/aws_session_token"
    write_plan ".targetCredentials = {\"secretDir\": \"$T/target-creds\",
        \"accountId\": \"$DST\"}"
    rc=0; migrate || rc=$?
    [ $rc -ne 0 ] || fail "a wrong target secret key did not fail the run"
    grep -q 'SignatureDoesNotMatch\|AuthFailure' "$T/orch.log" ||
        fail "the failure does not say why: $(tail -5 "$T/orch.log")"
    # The right key: the same plan now runs to the end.
    printf '%s' "$DST_SECRET" > "$T/target-creds/aws_secret_access_key"
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc"; }
    check_migrated "$DST" bios
    "$orch" status --plan "$PLAN" > "$T/status" 2>>"$T/orch.log"
    n=$(ec2_requests | jq '[.[] | select(.error == "RequestLimitExceeded")] | length')
    [ "$n" -ge 1 ] || fail "no EC2 call was throttled: no retry path taken"
    grep -q '"status": *503\|"status":503' "$T/kube.jsonl" ||
        fail "no kube request failed: no retry path taken"
    # The emulator refuses a request without the account's session token,
    # so both tokens were sent: calls succeeded in both accounts.
    ec2_requests | jq -e --arg s "$SRC" --arg d "$DST" '
        any(.[]; .account == $s and .status == 200) and
        any(.[]; .account == $d and .status == 200)' >/dev/null ||
        fail "no successful call in each account"
    kube_objects > "$T/objects.json"
    curl -sf --cacert "$T/certs/ca.crt" "$KUBE/_fake/requests" > "$T/kube-requests.json"
    [ "$(grep -c . "$T/orch.log")" -gt 50 ] || fail "the debug log is short"
    for s in "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$DST_SECRET" \
             "$DST_SESSION" "$wrong" "$KUBE_TOKEN"; do
        for f in "$T/orch.log" "$T/status" "$T/ec2.jsonl" "$T/kube.jsonl" \
                 "$T/objects.json" "$T/kube-requests.json"; do
            ! grep -qF -- "$s" "$f" ||
                fail "secret ${s%%-*}... appears in $(basename "$f")"
        done
    done
    echo "PASS: secrets: 6 secrets, none in the log, status, records or objects"
    ;;
selector)
    # VMs by tag; no newName: the VM and its PVCs are named by the id.
    start_fakes
    write_plan '.skipGuestConversion = true | del(.vms) |
        .vmSelector = {"tags": {"Name": "web"}}'
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc"; }
    kube_kind VirtualMachine | jq -e --arg i "$INSTANCE" 'length == 1 and
        .[0].metadata.name == $i' >/dev/null || fail "no VM named $INSTANCE"
    kube_kind PersistentVolumeClaim | jq -e --arg i "$INSTANCE" '
        [.[].metadata.name] | sort == [$i + "-disk0", $i + "-disk1",
                                       $i + "-disk2"]' >/dev/null ||
        fail "PVC names: $(kube_kind PersistentVolumeClaim | jq -c '[.[].metadata.name]')"
    # A tag nothing has: refused before anything changes.
    write_plan '.skipGuestConversion = true | del(.vms) | .name = "wave2" |
        .vmSelector = {"tags": {"Name": "nothing"}}'
    rc=0; migrate || rc=$?
    [ $rc -eq 5 ] && grep -q "vmSelector matches no instance" "$T/orch.log" ||
        fail "an empty selection: exit $rc"
    echo "PASS: selector: VMs chosen by tag"
    ;;
no-nodes)
    # The target AZ has only a cordoned node: validation fails, nothing
    # is stopped.
    start_fakes
    curl -sf -X POST --cacert "$T/certs/ca.crt" -H 'Content-Type: application/json' \
        -d '{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a",
             "labels": {"topology.kubernetes.io/zone": "us-east-1a"}},
             "spec": {"unschedulable": true}}' "$KUBE/_fake/objects" >/dev/null
    write_plan '.skipGuestConversion = true'
    rc=0; migrate || rc=$?
    [ $rc -eq 1 ] && grep -q "no schedulable node" "$T/orch.log" ||
        fail "a cordoned AZ: exit $rc"
    ec2_requests | jq -e 'all(.[]; .polling == true)' >/dev/null ||
        fail "something was changed in EC2 for an AZ without nodes"
    echo "PASS: no-nodes: refused before stopping the instance"
    ;;
cleanup)
    # An interrupted migration, then cleanup: snapshots go, what was
    # migrated stays; with --purge that goes too.
    start_fakes
    write_plan '.skipGuestConversion = true'
    rc=0; V2V_ORCH_CRASH_AFTER=bind migrate || rc=$?
    [ $rc -eq 137 ] || fail "the crash point did not fire ($rc)"
    before=$(ec2_requests | jq length)
    "$orch" cleanup --plan "$PLAN" 2>> "$T/orch.log" || fail "cleanup exited $?"
    s=$(ec2_state)
    n=$(echo "$s" | jq '[.snapshots[] | select(.tags | has("v2v-kubevirt/plan"))
        | select(.State != "deleted")] | length')
    [ "$n" -eq 0 ] || fail "cleanup left $n snapshot(s)"
    n=$(echo "$s" | jq '[.volumes[] | select(.tags | has("v2v-kubevirt/plan"))
        | select(.State != "deleted")] | length')
    [ "$n" -eq 3 ] || fail "cleanup without --purge removed volumes ($n left)"
    # One batched look (paged), not one per VM.
    n=$(ec2_requests | jq --argjson b "$before" '[.[$b:][] |
        select(.action == "DescribeSnapshots" and .params.NextToken == null)] | length')
    [ "$n" -eq 1 ] || fail "cleanup made $n DescribeSnapshots calls, want 1"
    "$orch" cleanup --purge --plan "$PLAN" 2>> "$T/orch.log" ||
        fail "cleanup --purge exited $?"
    n=$(ec2_state | jq '[.volumes[] | select(.tags | has("v2v-kubevirt/plan"))
        | select(.State != "deleted")] | length')
    [ "$n" -eq 0 ] || fail "cleanup --purge left $n volume(s)"
    for k in PersistentVolume PersistentVolumeClaim ConfigMap; do
        [ "$(kube_kind $k | jq length)" -eq 0 ] || fail "a $k left after --purge"
    done
    echo "PASS: cleanup: snapshots removed; --purge removed the rest"
    ;;
*) fail "unknown scenario $scenario" ;;
esac
