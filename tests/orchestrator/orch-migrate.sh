#!/bin/bash
# v2v-orchestrator against the EC2 emulator and the fake kube-apiserver.
#
#   orch-migrate.sh skip            skipGuestConversion: snapshots, volumes,
#                                   PV/PVC, VM; cleanup; ≤ 3 + 2·disks calls
#   orch-migrate.sh cross-account   volumes made in another account
#   orch-migrate.sh throttle        a throttling storm (30 % of calls 503)
#   orch-migrate.sh crash-resume    SIGKILL after each phase's first change,
#                                   then a re-run: no duplicates, all clean
#   orch-migrate.sh presnapshot     pre-copy snapshots while running, then
#                                   the delta: call sequence, progress,
#                                   less downtime than without
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
#   orch-migrate.sh lost-answer     EC2 acts and the answer is lost: no
#                                   second snapshot set or volume
#   orch-migrate.sh credentials     refused credentials: exit 4, who refused
#   orch-migrate.sh after-cleanup   a migrated instance is not migrated again
#   orch-migrate.sh nic-order       interfaces in ENI device-index order
#   orch-migrate.sh device-map      the Job's V2V_DEVICE_MAP (EC2 device
#                                   names, source volume ids, ENIs by
#                                   device index), --network=dhcp, and an
#                                   emptyDisk per instance-store volume
#   orch-migrate.sh terminated      terminated instances are not migrated
#   orch-migrate.sh volume-tags     source volume tags copied (not aws:)
#   orch-migrate.sh too-many        41 disks, 17 NICs: refused up front
#   orch-migrate.sh cleanup-fail    failed deletes named, exit 1
#   orch-migrate.sh usage           exit 2
#   orch-migrate.sh verify-rollback the guest is unhealthy: VM halted,
#                                   source started again, status says why
#   orch-migrate.sh verify-keep     onUnhealthy keep: Degraded, VM runs
#   orch-migrate.sh verify-timeout  no health line in time: rolled back
set -euo pipefail
scenario=$1
TEST_CASE=$scenario
. "$(dirname "$0")/orch-lib.sh"


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
    # The cold path (no pre-copy); orch-presnapshot checks the other.
    write_plan '.skipGuestConversion = true | .preSnapshot = false'
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
    for phase in presnapshot stop snapshot volumes bind convert vm verify cleanup; do
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
            n=$(echo "$req" | jq --arg a "${a%:*}" "$PRE_SNAPSHOTS"'[.[] | select(.action == $a
                and .status == 200) | select(pre_snapshots | not)] | length')
            [ "$n" -eq "${a#*:}" ] ||
                fail "$phase: ${a%:*} succeeded $n times, want ${a#*:}"
        done
        # preSnapshot (default on): one pre-copy set too.
        n=$(echo "$req" | jq "$PRE_SNAPSHOTS"'[.[] | select(.action ==
            "CreateSnapshots" and .status == 200) | select(pre_snapshots)] |
            length')
        [ "$n" -eq 1 ] || fail "$phase: $n pre-copy snapshot sets, want 1"
        echo "ok: killed after $phase, resumed without duplicates"
    done
    echo "PASS: crash-resume"
    ;;
presnapshot)
    # Snapshots while the instance runs, then the delta: the emulated
    # guest writes 16 MiB/s to each volume; a snapshot copies 256 MiB/s;
    # 16 emulated seconds a real one.  The 16 GiB volume's first snapshot
    # takes 4 s (cold, all of it downtime); its delta after the pre-copy
    # about 0.25 s.  The margin is seconds so that a loaded CI machine,
    # whose polls run late, cannot turn the comparison below around.
    EC2_LATENCY="--state-latency 0.3 --volume-latency 0.4 --page-size 2
        --write-rate 16 --snapshot-rate 256 --time-scale 16"
    start_fakes
    downtime () {
        kube_kind ConfigMap | jq -r --arg i "$INSTANCE" \
            '.[] | select(.metadata.name == "v2v-plan-wave1") | .data[$i] |
             fromjson | .downtimeSeconds'
    }
    write_plan '.skipGuestConversion = true | .preSnapshot = false'
    migrate || { tail -20 "$T/orch.log"; fail "cold: migrate exited $?"; }
    check_migrated
    cold=$(downtime)
    curl -sf -X POST "$EC2/_fake/reset" >/dev/null
    curl -sf -X POST --cacert "$T/certs/ca.crt" "$KUBE/_fake/reset" >/dev/null
    : > "$T/orch.log"
    write_plan '.skipGuestConversion = true'
    migrate || { tail -20 "$T/orch.log"; fail "migrate exited $?"; }
    check_migrated
    warm=$(downtime)
    # The call sequence: pre-copy snapshots, stop, final snapshots,
    # volumes from the final ones, every snapshot deleted.
    req=$(ec2_requests)
    seq=$(echo "$req" | jq -c "$PRE_SNAPSHOTS"'[.[] | select(.polling != true
        and .status == 200) | if .action == "CreateSnapshots" and
        pre_snapshots then "CreateSnapshots(pre)" else .action end] |
        reduce .[] as $a ([]; if .[-1] == $a then . else . + [$a] end)')
    [ "$seq" = '["CreateSnapshots(pre)","StopInstances","CreateSnapshots","CreateVolume","DeleteSnapshot"]' ] ||
        fail "call sequence: $seq"
    echo "$req" | jq -e '[.[] | select(.action == "CreateVolume" and
        .status == 200) | .params.SnapshotId] as $from |
        [.[] | select(.action == "DeleteSnapshot" and .status == 200) |
         .params.SnapshotId] as $deleted |
        ($from | length) == 3 and ($deleted | length) == 6 and
        all($from[]; . as $s | $deleted | index($s) != null)' >/dev/null ||
        fail "volumes not from the final snapshots, or snapshots left"
    # Only 1 + D calls more than a cold migration: 4 + 3·D.
    calls=$(non_polling_calls)
    [ "$calls" -le 13 ] || fail "$calls non-polling EC2 calls (max 13)"
    # The progress reached the record (and so status), with an ETA.
    curl -sf --cacert "$T/certs/ca.crt" "$KUBE/_fake/requests" | jq -e '
        any(.[]; .method == "PATCH" and (.path | test("configmaps/v2v-plan")) and
            ((.body.data // {}) | to_entries | any(.value | fromjson |
             .phase == "presnapshot" and .progress > 0 and .etaSeconds >= 0)))' \
        >/dev/null || fail "no pre-copy progress in the plan's ConfigMap"
    grep -q "pre-copy snapshots [0-9]*%" "$T/orch.log" ||
        fail "no pre-copy progress logged"
    "$orch" status --plan "$PLAN" > "$T/status" 2>>"$T/orch.log"
    grep -q "$INSTANCE.*Succeeded.*downtime [0-9.]* s" "$T/status" ||
        fail "status shows no downtime: $(cat "$T/status")"
    awk -v c="$cold" -v w="$warm" 'BEGIN { exit !(c >= 1.0 && w < c) }' ||
        fail "downtime with preSnapshot $warm s, without $cold s"
    echo "PASS: presnapshot: downtime $warm s, $cold s without; $calls calls"
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
    # ... and its Pod with it (propagationPolicy=Background): a Job's
    # Pods are orphaned by default.
    # (The VM's virt-launcher Pod runs on.)
    [ "$(kube_kind Pod | jq '[.[] | select(.metadata.labels["job-name"])] | length')" -eq 0 ] ||
        fail "the conversion Pod was left behind: $(kube_kind Pod | jq -c '[.[].metadata.name]')"
    # The health gate read the guest's line from the console log, and
    # the downtime (StopInstances sent -> healthy) is kept and shown.
    rec=$(record)
    echo "$rec" | jq -e '.outcome == "Succeeded" and .verdict == "healthy" and
        .downtimeSeconds > 0 and .downtimeSeconds < 120' >/dev/null ||
        fail "record: $rec"
    curl -sf --cacert "$T/certs/ca.crt" "$KUBE/_fake/requests" | jq -e '
        any(.[]; .method == "GET" and (.path | test("/pods/virt-launcher-web-1-[a-z0-9]+/log$")) and
            .query.container == "guest-console-log" and .status == 200)' >/dev/null ||
        fail "the console was not read from the virt-launcher Pod's guest-console-log"
    "$orch" status --plan "$PLAN" > "$T/status" 2>>"$T/orch.log"
    grep -Eq "$INSTANCE.*100%.*Succeeded.*downtime [0-9]+\.[0-9] s" "$T/status" ||
        fail "status shows no downtime: $(cat "$T/status")"
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
    # The device map: each PVC's EC2 device name and source volume, each
    # NIC the VM gets by device index; nic0 is on the pod network.
    echo "$spec" | jq -e '.spec.template.spec.containers[0] |
        ([.env[] | select(.name == "V2V_DEVICE_MAP") | .value] ==
         ["disk 0=/dev/xvda,vol-0000000000000000a\ndisk 1=/dev/xvdb,vol-0000000000000000b\ndisk 2=/dev/xvdf,vol-0000000000000000c\nnic 0=02:00:00:00:00:01\nnic 1=02:00:00:00:00:02\n"])
        and (.args | index("--network=dhcp") != null)' >/dev/null ||
        fail "no device map or --network=dhcp: $(echo "$spec" | jq -c '.spec.template.spec.containers[0] | {env, args}')"
    ec2_requests | jq -e 'all(.[]; .action != "DescribeImages")' >/dev/null ||
        fail "DescribeImages for an instance type without instance store"
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
verify-rollback|verify-keep|verify-timeout)
    # The guest comes up unhealthy (a unit that fails off EC2), or says
    # nothing in time: rollback (the default) halts the VM and starts the
    # source again; keep leaves it running, Degraded.
    converted_result
    KUBELET_ARGS="--kubelet succeed --kubelet-delay 0.2 --kubelet-result $T/result.json"
    start_fakes
    if [ "$scenario" = verify-timeout ]; then
        console_says "$(printf '%s\n' '[    1.234567] simulated kernel' \
            'Begin: Running /scripts/local-block ... done.' \
            'Gave up waiting for root file system device.')"
        write_plan '.verifyTimeoutSeconds = 10'
        want_problem='no health line within 10 s'
        want_tail='Gave up waiting for root file system device'
    else
        console_says "$(printf '%s\n' '[  OK  ] Reached target multi-user.target.' \
            '[FAILED] Failed to start aws-only.service - Needs EC2.' \
            'V2V-HEALTH {"version":1,"probe":"linux","status":"unhealthy","problems":["the system is degraded","failed units: aws-only.service"],"system":"degraded","failed_units":["aws-only.service"]}')"
        if [ "$scenario" = verify-keep ]; then
            write_plan '.onUnhealthy = "keep"'
        else
            write_plan '.'
        fi
        want_problem='failed units: aws-only.service'
        want_tail='Failed to start aws-only.service'
    fi
    rc=0; migrate || rc=$?
    [ $rc -eq 1 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc, want 1"; }
    rec=$(record)
    want_outcome=RolledBack; [ "$scenario" != verify-keep ] || want_outcome=Degraded
    echo "$rec" | jq -e --arg o "$want_outcome" --arg p "$want_problem" \
        --arg t "$want_tail" '.outcome == $o and .verdict == "unhealthy" and
        (.problems | contains($p)) and (.error | contains($p)) and
        (.consoleTail | contains($t)) and (has("downtimeSeconds") | not)' \
        >/dev/null || fail "record: $rec"
    "$orch" status --plan "$PLAN" > "$T/status" 2>>"$T/orch.log"
    grep -q "$INSTANCE.*$want_outcome.*$want_problem" "$T/status" ||
        fail "status: $(cat "$T/status")"
    grep -q "^    | .*$want_tail" "$T/status" ||
        fail "status shows not the console's last lines: $(cat "$T/status")"
    reason=MigrationRolledBack; [ "$scenario" != verify-keep ] || reason=MigrationDegraded
    kube_kind Event | jq -e --arg r "$reason" --arg p "$want_problem" 'any(.[];
        .reason == $r and .type == "Warning" and
        .involvedObject.kind == "VirtualMachine" and
        .involvedObject.name == "web-1" and (.message | contains($p)) and
        (.message | index("; console: ") != null))' \
        >/dev/null || fail "no $reason Event: $(kube_kind Event | jq -c '[.[] | {reason, message}]')"
    starts=$(ec2_requests | jq '[.[] | select(.action == "StartInstances" and .status == 200)] | length')
    vm=$(kube_kind VirtualMachine)
    if [ "$scenario" = verify-keep ]; then
        [ "$starts" -eq 0 ] || fail "keep started the source ($starts)"
        echo "$vm" | jq -e '.[0].spec.runStrategy == "Always"' >/dev/null ||
            fail "keep: the VM does not run: $(echo "$vm" | jq -c '.[0].spec.runStrategy')"
    else
        [ "$starts" -eq 1 ] || fail "StartInstances $starts times, want 1"
        # StopInstances, then (after the verdict) StartInstances.
        ec2_requests | jq -e '[.[] | select(.status == 200 and (.action ==
            "StopInstances" or .action == "StartInstances")) | .action] ==
            ["StopInstances", "StartInstances"]' >/dev/null ||
            fail "EC2 calls: $(ec2_requests | jq -c '[.[] | .action]')"
        echo "$vm" | jq -e '.[0].spec.runStrategy == "Halted"' >/dev/null ||
            fail "rollback: the VM is not halted: $(echo "$vm" | jq -c '.[0].spec.runStrategy')"
        wait_source_running
        # The volumes and PVCs are kept for diagnosis.
        [ "$(kube_kind PersistentVolumeClaim | jq length)" -eq 3 ] ||
            fail "the PVCs were not kept"
        # A re-run changes nothing: no second StartInstances.
        before=$(ec2_requests | jq length)
        rc=0; migrate || rc=$?
        [ $rc -eq 1 ] || fail "the re-run exited $rc, want 1"
        n=$(ec2_requests | jq --argjson b "$before" '[.[$b:][] | select(.polling != true)] | length')
        [ "$n" -eq 0 ] || fail "a re-run of a rolled-back plan made $n EC2 change(s)"
        # Plain cleanup keeps the halted VM; --purge removes it.
        "$orch" cleanup --plan "$PLAN" >/dev/null 2>>"$T/orch.log" ||
            fail "cleanup exited $?"
        [ "$(kube_kind VirtualMachine | jq length)" -eq 1 ] ||
            fail "plain cleanup deleted the halted VM"
        "$orch" cleanup --plan "$PLAN" --purge >/dev/null 2>>"$T/orch.log" ||
            fail "cleanup --purge exited $?"
        [ "$(kube_kind VirtualMachine | jq length)" -eq 0 ] ||
            fail "cleanup --purge kept the VM"
    fi
    echo "PASS: $scenario: $want_outcome, $want_problem"
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
lost-answer)
    # EC2 acts and the answer is lost: CreateSnapshots (no ClientToken)
    # answers 500 after making the set, CreateVolume's connection drops
    # after making the volume.  The run must adopt what was made, not
    # make a second snapshot set or volume.
    echo '[{"action": "CreateSnapshots", "times": 1, "after": true,
            "status": 500, "code": "InternalError"},
           {"action": "CreateVolume", "times": 1, "after": true,
            "drop": true}]' > "$T/faults.json"
    start_fakes --faults "$T/faults.json"
    # The cold path (no pre-copy); orch-presnapshot checks the other.
    write_plan '.skipGuestConversion = true | .preSnapshot = false'
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc"; }
    check_migrated
    n=$(ec2_requests | jq '[.[] | select(.action == "CreateSnapshots" and
        (.status == 200 or .acted == true))] | length')
    [ "$n" -eq 1 ] || fail "CreateSnapshots acted $n times, want 1"
    # A second set made behind the orchestrator's back (a second run at
    # the same time, an old orchestrator's retry): the resume keeps one
    # and deletes the other.
    curl -sf -X POST "$EC2/_fake/reset" >/dev/null
    curl -sf -X POST --cacert "$T/certs/ca.crt" "$KUBE/_fake/reset" >/dev/null
    curl -sf -X POST -d '[]' "$EC2/_fake/faults" >/dev/null
    rc=0; V2V_ORCH_CRASH_AFTER=snapshot migrate || rc=$?
    [ $rc -eq 137 ] || fail "the crash point did not fire ($rc)"
    ec2_py "ec2.create_snapshots(InstanceSpecification={'InstanceId': '$INSTANCE'},
        TagSpecifications=[{'ResourceType': 'snapshot', 'Tags': [
            {'Key': 'v2v-kubevirt/plan', 'Value': 'wave1'},
            {'Key': 'v2v-kubevirt/vm', 'Value': '$INSTANCE'}]}])"
    [ "$(plan_snapshots)" -eq 6 ] || fail "want two snapshot sets to start"
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "the resume exited $rc"; }
    check_migrated
    echo "PASS: lost-answer: one snapshot set and three volumes, extra set deleted"
    ;;
credentials)
    # Credentials refused by EC2 (either account) or by the Kubernetes
    # API: exit 4, naming who refused them.
    start_fakes
    write_plan '.skipGuestConversion = true'
    rc=0; AWS_SECRET_ACCESS_KEY=wrong-$RANDOM migrate || rc=$?
    [ $rc -eq 4 ] || fail "a wrong source key exited $rc, want 4"
    grep -q "source account.*SignatureDoesNotMatch" "$T/orch.log" ||
        fail "no 'source account' message: $(tail -3 "$T/orch.log")"
    rc=0; AWS_ACCESS_KEY_ID=AKIAUNKNOWN000000000 migrate || rc=$?
    [ $rc -eq 4 ] || fail "an unknown access key exited $rc, want 4"
    for cmd in status cleanup; do
        rc=0; AWS_SECRET_ACCESS_KEY=wrong "$orch" $cmd --plan "$PLAN" \
            2>>"$T/orch.log" >/dev/null || rc=$?
        [ $rc -eq 4 ] || [ $cmd = status ] ||
            fail "$cmd with a wrong key exited $rc, want 4"
    done
    sed -i "s/token: $KUBE_TOKEN/token: wrong-token/" "$T/kubeconfig"
    : > "$T/orch.log"
    rc=0; migrate || rc=$?
    [ $rc -eq 4 ] || fail "a wrong Kubernetes token exited $rc, want 4"
    grep -q "Kubernetes API $KUBE.*401\|Kubernetes API $KUBE.*Unauthorized" \
        "$T/orch.log" || fail "no 'Kubernetes API' message: $(tail -3 "$T/orch.log")"
    rc=0; "$orch" status --plan "$PLAN" 2>>"$T/orch.log" >/dev/null || rc=$?
    [ $rc -eq 4 ] || fail "status with a wrong token exited $rc, want 4"
    sed -i "s/token: wrong-token/token: $KUBE_TOKEN/" "$T/kubeconfig"
    # The target account refuses (cross-account): the VM is rolled back
    # and the source started again; the run says why, and exits 4.
    mkdir -p "$T/target-creds"
    printf '%s' "$DST_AKID" > "$T/target-creds/aws_access_key_id"
    printf '%s' "wrong-$RANDOM" > "$T/target-creds/aws_secret_access_key"
    write_plan ".skipGuestConversion = true | .targetCredentials =
        {\"secretDir\": \"$T/target-creds\", \"accountId\": \"$DST\"}"
    : > "$T/orch.log"
    rc=0; migrate || rc=$?
    [ $rc -eq 4 ] || fail "a wrong target key exited $rc, want 4"
    grep -q "target account.*SignatureDoesNotMatch" "$T/orch.log" ||
        fail "no 'target account' message: $(tail -3 "$T/orch.log")"
    [ "$(plan_snapshots)" -eq 0 ] || fail "snapshots left after the refusal"
    echo "PASS: credentials: exit 4 naming the source, target and Kubernetes API"
    ;;
after-cleanup)
    # cleanup deletes the plan's ConfigMap; the VirtualMachine (found by
    # its labels) still says the instance is migrated: a new migrate
    # must not stop, snapshot or convert it again.
    start_fakes
    write_plan '.skipGuestConversion = true'
    migrate || fail "migrate exited $?"
    "$orch" cleanup --plan "$PLAN" 2>> "$T/orch.log" || fail "cleanup exited $?"
    [ "$(kube_kind ConfigMap | jq length)" -eq 0 ] || fail "the ConfigMap is left"
    ec2_py "ec2.start_instances(InstanceIds=['$INSTANCE'])"
    before=$(ec2_requests | jq length)
    migrate || fail "the migrate after cleanup exited $?"
    n=$(ec2_requests | jq --argjson b "$before" '[.[$b:][] |
        select(.polling != true)] | length')
    [ "$n" -eq 0 ] || fail "the migrate after cleanup changed $n thing(s) in EC2: $(ec2_requests | jq -c --argjson b "$before" '[.[$b:][] | select(.polling != true) | .action]')"
    grep -q "$INSTANCE: already migrated.*VirtualMachine vms/web-1" "$T/orch.log" ||
        fail "the log does not say why: $(tail -3 "$T/orch.log")"
    "$orch" status --plan "$PLAN" > "$T/status" 2>>"$T/orch.log"
    grep -q "$INSTANCE.*100%.*Succeeded.*VirtualMachine vms/web-1" "$T/status" ||
        fail "status: $(cat "$T/status")"
    echo "PASS: after-cleanup: a migrated instance is not migrated again"
    ;;
device-map)
    # An instance type with two instance-store volumes, an AMI that maps
    # them to /dev/sdc and /dev/sdd, a root device named /dev/sda1 (as
    # many AMIs name it: the whole volume), and ENIs listed 1, 0.
    EC2_SEED_FILTER='.instances[0].InstanceType = "m5d.4xlarge" |
        .instances[0].RootDeviceName = "/dev/sda1" |
        .instances[0].BlockDeviceMappings[1].DeviceName = "/dev/sda1" |
        .instances[0].InstanceStore = [
            {"DeviceName": "/dev/sdd", "VirtualName": "ephemeral1"},
            {"DeviceName": "/dev/sdc", "VirtualName": "ephemeral0"}] |
        .instances[0].NetworkInterfaces |= [.[1] + {"DeviceIndex": 1},
                                            .[0] + {"DeviceIndex": 0}]'
    converted_result
    KUBELET_ARGS="--kubelet succeed --kubelet-delay 0.3 --kubelet-result $T/result.json"
    start_fakes
    write_plan '.'
    migrate || { tail -20 "$T/orch.log"; fail "migrate exited $?"; }
    spec=$(curl -sf --cacert "$T/certs/ca.crt" "$KUBE/_fake/requests" |
           jq '[.[] | select(.method == "POST" and (.path | endswith("/jobs")))][0].body')
    map=$(echo "$spec" | jq -r '.spec.template.spec.containers[0].env[] |
                                select(.name == "V2V_DEVICE_MAP") | .value')
    want='disk 0=/dev/sda,vol-0000000000000000a
disk 1=/dev/xvdb,vol-0000000000000000b
disk 2=/dev/xvdf,vol-0000000000000000c
disk 3=ephemeral0,/dev/sdc
disk 4=ephemeral1,/dev/sdd
nic 0=02:00:00:00:00:01
nic 1=02:00:00:00:00:02'
    [ "$map" = "$want" ] || fail "V2V_DEVICE_MAP:
$map
want:
$want"
    # The agent takes it as it is (it parses the map before anything
    # else and exits 2 on a bad one).
    V2V_DEVICE_MAP=$map "$V2V_AGENT" convert --help > /dev/null ||
        fail "the agent refuses the Job's device map"
    echo "$spec" | jq -e '.spec.template.spec.containers[0].args ==
        ["run", "--network=dhcp"]' >/dev/null ||
        fail "args: $(echo "$spec" | jq -c '.spec.template.spec.containers[0].args')"
    vm=$(kube_kind VirtualMachine | jq '.[0].spec.template.spec')
    echo "$vm" | jq -e '
        [.domain.devices.disks[] | [.name, .serial, .bootOrder]] ==
          [["disk0", null, 1], ["disk1", null, null], ["disk2", null, null],
           ["scratch0", "ephemeral0", null], ["scratch1", "ephemeral1", null],
           ["cloudinit", null, null]] and
        ([.volumes[] | select(.emptyDisk) | [.name, .emptyDisk.capacity]] ==
          [["scratch0", "300G"], ["scratch1", "300G"]]) and
        ([.domain.devices.interfaces[].macAddress] ==
          ["02:00:00:00:00:01", "02:00:00:00:00:02"])' >/dev/null ||
        fail "VM devices: $(echo "$vm" | jq -c '{d: .domain.devices, v: .volumes}')"
    # The AMI is asked once, by the image-id filter.
    ec2_requests | jq -e '[.[] | select(.action == "DescribeImages")] |
        length == 1 and (.[0].params | to_entries | map(.value) |
        index("ami-0123456789abcdef0") != null)' >/dev/null ||
        fail "DescribeImages: $(ec2_requests | jq -c '[.[] | select(.action == "DescribeImages")]')"
    echo "PASS: device-map: the Job's map, --network=dhcp, a scratch disk per instance-store volume"
    ;;
nic-order)
    # EC2 lists the ENIs as device index 0, 2, 1: the VM's interfaces
    # follow the device index, as the guest had them.
    EC2_SEED_FILTER='.instances[0].NetworkInterfaces = [
        {"MacAddress": "02:00:00:00:00:01", "SubnetId": "subnet-0aaaaaaaaaaaaaaa1",
         "DeviceIndex": 0, "VpcId": "vpc-0abc", "PrivateIpAddress": "10.0.0.5"},
        {"MacAddress": "02:00:00:00:00:03", "SubnetId": "subnet-0aaaaaaaaaaaaaaa1",
         "DeviceIndex": 2, "VpcId": "vpc-0abc", "PrivateIpAddress": "10.0.0.6"},
        {"MacAddress": "02:00:00:00:00:02", "SubnetId": "subnet-0aaaaaaaaaaaaaaa2",
         "DeviceIndex": 1, "VpcId": "vpc-0abc", "PrivateIpAddress": "10.0.1.5"}]'
    start_fakes
    write_plan '.skipGuestConversion = true'
    migrate || { tail -20 "$T/orch.log"; fail "migrate exited $?"; }
    macs=$(kube_kind VirtualMachine | jq -c '[.[0].spec.template.spec.domain.devices.interfaces[].macAddress]')
    [ "$macs" = '["02:00:00:00:00:01","02:00:00:00:00:02","02:00:00:00:00:03"]' ] ||
        fail "interfaces not in device-index order: $macs"
    echo "PASS: nic-order: interfaces in device-index order"
    ;;
terminated)
    # A terminated instance carries the selector's tag (EC2 lists it for
    # about an hour): it is not selected.  Named explicitly, it is a plan
    # error before anything changes.
    EC2_SEED_FILTER='.instances += [{"InstanceId": "i-0fedcba9876543210",
        "Account": "111111111111", "InstanceType": "t3.micro",
        "State": "terminated", "AvailabilityZone": "us-east-1b",
        "Tags": {"Name": "web"}}]'
    start_fakes
    write_plan '.skipGuestConversion = true | del(.vms) |
        .vmSelector = {"tags": {"Name": "web"}}'
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc"; }
    kube_kind VirtualMachine | jq -e --arg i "$INSTANCE" 'length == 1 and
        .[0].metadata.name == $i' >/dev/null || fail "not just $INSTANCE migrated"
    ! grep -q i-0fedcba9876543210 "$T/orch.log" ||
        fail "the terminated instance was looked at: $(grep i-0fedcba9876543210 "$T/orch.log")"
    write_plan '.skipGuestConversion = true | .name = "wave2" |
        .vms = [{"id": "i-0fedcba9876543210"}]'
    before=$(ec2_requests | jq length)
    rc=0; migrate || rc=$?
    [ $rc -eq 3 ] || fail "a terminated instance in vms exited $rc, want 3"
    grep -q "i-0fedcba9876543210 is terminated" "$T/orch.log" ||
        fail "no message: $(tail -3 "$T/orch.log")"
    n=$(ec2_requests | jq --argjson b "$before" '[.[$b:][] |
        select(.polling != true)] | length')
    [ "$n" -eq 0 ] || fail "$n change(s) in EC2 for a terminated instance"
    echo "PASS: terminated: not selected; named, a plan error"
    ;;
volume-tags)
    # The source volumes' tags go to the new volumes, except EC2's
    # reserved aws: keys, next to the plan's own.
    EC2_SEED_FILTER='.volumes[0].Tags = {"Name": "web-root", "cost-center": "42",
        "aws:cloudformation:stack-name": "web"}'
    start_fakes
    write_plan '.skipGuestConversion = true'
    migrate || { tail -20 "$T/orch.log"; fail "migrate exited $?"; }
    check_migrated
    ec2_state | jq -e '.volumes[] | select(.tags["v2v-kubevirt/source-volume"]
        == "vol-0000000000000000a") | .tags == {"Name": "web-root",
        "cost-center": "42", "v2v-kubevirt/plan": "wave1",
        "v2v-kubevirt/vm": "i-0123456789abcdef0",
        "v2v-kubevirt/source-volume": "vol-0000000000000000a"}' >/dev/null ||
        fail "tags: $(ec2_state | jq -c '[.volumes[] | select(.tags["v2v-kubevirt/source-volume"]) | .tags]')"
    echo "PASS: volume-tags: copied, aws: keys left out"
    ;;
too-many)
    # 41 disks, 17 NICs: more than a VM here takes.  Each is refused up
    # front, by name, with nothing changed; nothing is silently dropped.
    $PY - "$T/ec2-seed-many.json" <<'PYTHON'
import json, sys
acct, az = "111111111111", "us-east-1b"
vols = [{"VolumeId": "vol-%017x" % (0x100 + i), "Account": acct, "Size": 1,
         "VolumeType": "gp3", "AvailabilityZone": az} for i in range(42)]
disks = [{"DeviceName": "/dev/xvda" if i == 0 else "/dev/sd%s%s" % (
              "abcdefghijklmnopqrstuvwxyz"[i // 26], "abcdefghijklmnopqrstuvwxyz"[i % 26]),
          "VolumeId": vols[i]["VolumeId"]} for i in range(41)]
nics = [{"MacAddress": "02:00:00:00:01:%02x" % i,
         "SubnetId": "subnet-0aaaaaaaaaaaaaaa1", "DeviceIndex": i}
        for i in range(17)]
json.dump({"instances": [
    {"InstanceId": "i-0000000000000d15c", "Account": acct,
     "InstanceType": "m5.large", "State": "running", "AvailabilityZone": az,
     "RootDeviceName": "/dev/xvda", "BlockDeviceMappings": disks,
     "NetworkInterfaces": nics[:1]},
    {"InstanceId": "i-00000000000000e1c", "Account": acct,
     "InstanceType": "m5.large", "State": "running", "AvailabilityZone": az,
     "RootDeviceName": "/dev/xvda",
     "BlockDeviceMappings": [{"DeviceName": "/dev/xvda",
                              "VolumeId": vols[41]["VolumeId"]}],
     "NetworkInterfaces": nics}],
    "volumes": vols}, open(sys.argv[1], "w"))
PYTHON
    EC2_SEED=$T/ec2-seed-many.json start_fakes
    write_plan '.skipGuestConversion = true |
        .vms = [{"id": "i-0000000000000d15c"}, {"id": "i-00000000000000e1c"}]'
    rc=0; migrate || rc=$?
    [ $rc -eq 1 ] || fail "too many disks and NICs exited $rc, want 1"
    grep -q "i-0000000000000d15c has 41 EBS volumes; at most 40" "$T/orch.log" ||
        fail "no message for 41 disks: $(tail -5 "$T/orch.log")"
    grep -q "i-00000000000000e1c has 17 network interfaces; at most 16" "$T/orch.log" ||
        fail "no message for 17 NICs: $(tail -5 "$T/orch.log")"
    ec2_requests | jq -e 'all(.[]; .polling == true)' >/dev/null ||
        fail "something was changed in EC2: $(ec2_requests | jq -c '[.[] | select(.polling != true) | .action]')"
    echo "PASS: too-many: 41 disks and 17 NICs refused before any change"
    ;;
cleanup-fail)
    # A delete that fails is reported, and cleanup exits 1; once EC2
    # lets it, a second cleanup finishes the job.
    start_fakes
    # The cold path (no pre-copy); orch-presnapshot checks the other.
    write_plan '.skipGuestConversion = true | .preSnapshot = false'
    rc=0; V2V_ORCH_CRASH_AFTER=bind migrate || rc=$?
    [ $rc -eq 137 ] || fail "the crash point did not fire ($rc)"
    curl -sf -X POST -d '[{"action": "DeleteSnapshot", "status": 400,
        "code": "InvalidSnapshot.InUse", "message": "The snapshot is in use"}]' \
        "$EC2/_fake/faults" >/dev/null
    : > "$T/orch.log"
    rc=0; "$orch" cleanup --plan "$PLAN" 2>> "$T/orch.log" || rc=$?
    [ $rc -eq 1 ] || fail "cleanup with failing deletes exited $rc, want 1"
    grep -q "could not delete snapshot snap-.*InvalidSnapshot.InUse" "$T/orch.log" ||
        fail "the failed deletes are not named: $(tail -5 "$T/orch.log")"
    [ "$(plan_snapshots)" -eq 3 ] || fail "the snapshots went after all?"
    curl -sf -X POST -d '[]' "$EC2/_fake/faults" >/dev/null
    "$orch" cleanup --plan "$PLAN" 2>> "$T/orch.log" || fail "cleanup exited $?"
    [ "$(plan_snapshots)" -eq 0 ] || fail "the second cleanup left snapshots"
    echo "PASS: cleanup-fail: failed deletes named, exit 1"
    ;;
usage)
    start_fakes
    write_plan '.'
    for args in "" "frobnicate --plan $PLAN" "migrate" "migrate --plan $PLAN --bogus"; do
        rc=0; "$orch" $args 2>>"$T/orch.log" >/dev/null || rc=$?
        [ $rc -eq 2 ] || fail "'$args' exited $rc, want 2"
    done
    [ "$(ec2_requests | jq length)" -eq 0 ] || fail "EC2 was called"
    echo "PASS: usage: exit 2"
    ;;
*) fail "unknown scenario $scenario" ;;
esac
