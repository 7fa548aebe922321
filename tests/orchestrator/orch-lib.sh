# Shared by the orchestrator tests.  Sourced by bash.
#
# Starts the EC2 emulator and the fake kube-apiserver on loopback (both
# strict: SigV4 and botocore's service model; the strict JSON schemas),
# seeds one running instance with three EBS volumes and two NICs, and
# writes a plan.  Variables: T (scratch dir), EC2 and KUBE (base URLs),
# PLAN (the plan file), SRC and DST (account ids).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/functions.sh"

: "${V2V_ORCHESTRATOR:?}" "${SHARED_DATA:?}"
orch=$V2V_ORCHESTRATOR
PY=$V2V_PYTHON

requires jq curl openssl
requires_python botocore jsonschema

scratch_dir T v2v-orch

SRC=111111111111 DST=222222222222
INSTANCE=i-0123456789abcdef0
export AWS_ACCESS_KEY_ID=AKIASRCEXAMPLE00001
export AWS_SECRET_ACCESS_KEY=src-secret-$RANDOM$RANDOM
DST_AKID=AKIADSTEXAMPLE00002
DST_SECRET=dst-secret-$RANDOM$RANDOM
KUBE_TOKEN=kube-token-$RANDOM$RANDOM
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL KUBERNETES_SERVICE_HOST

# start_fakes [EC2 OPTIONS...]: both fakes, with the default seeds (EC2:
# $EC2_SEED if set) and latencies ($EC2_LATENCY if set).
start_fakes () {
    cat > "$T/ec2-seed.json" <<JSON
{"instances": [{"InstanceId": "$INSTANCE", "Account": "$SRC",
   "InstanceType": "m5.large", "State": "running",
   "AvailabilityZone": "us-east-1b", "BootMode": "uefi",
   "RootDeviceName": "/dev/xvda", "Tags": {"Name": "web"},
   "UserData": "#cloud-config\nhostname: web\n",
   "NetworkInterfaces": [
     {"MacAddress": "02:00:00:00:00:01", "SubnetId": "subnet-0aaaaaaaaaaaaaaa1",
      "VpcId": "vpc-0abc", "PrivateIpAddress": "10.0.0.5"},
     {"MacAddress": "02:00:00:00:00:02", "SubnetId": "subnet-0aaaaaaaaaaaaaaa2",
      "VpcId": "vpc-0abc", "PrivateIpAddress": "10.0.1.5"}],
   "BlockDeviceMappings": [
     {"DeviceName": "/dev/xvdf", "VolumeId": "vol-0000000000000000c"},
     {"DeviceName": "/dev/xvda", "VolumeId": "vol-0000000000000000a"},
     {"DeviceName": "/dev/xvdb", "VolumeId": "vol-0000000000000000b"}]}],
 "volumes": [
   {"VolumeId": "vol-0000000000000000a", "Account": "$SRC", "Size": 8,
    "VolumeType": "gp3", "Iops": 3000, "Throughput": 250, "Encrypted": false,
    "AvailabilityZone": "us-east-1b"},
   {"VolumeId": "vol-0000000000000000b", "Account": "$SRC", "Size": 16,
    "VolumeType": "io2", "Iops": 4000, "Encrypted": true,
    "KmsKeyId": "arn:aws:kms:us-east-1:$SRC:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "AvailabilityZone": "us-east-1b"},
   {"VolumeId": "vol-0000000000000000c", "Account": "$SRC", "Size": 4,
    "VolumeType": "gp2", "Encrypted": false,
    "AvailabilityZone": "us-east-1b"}]}
JSON
    # Disk files behind the volumes, for a real conversion (optional).
    if [ -n "${ROOT_FILE:-}" ]; then
        jq --arg r "$ROOT_FILE" --arg b "$DATA_FILE_B" --arg c "$DATA_FILE_C" \
           --arg bm "${BOOT_MODE:-uefi}" --argjson rs "${ROOT_SIZE:-8}" '
            .instances[0].BootMode = $bm |
            .volumes[0].File = $r | .volumes[0].Size = $rs |
            .volumes[1].File = $b | .volumes[2].File = $c' \
            "$T/ec2-seed.json" > "$T/ec2-seed.json.new"
        mv "$T/ec2-seed.json.new" "$T/ec2-seed.json"
    fi
    [ -z "${EC2_SEED:-}" ] || cp "$EC2_SEED" "$T/ec2-seed.json"
    # EC2_SEED_FILTER: a jq filter over the seed (an ENI order, tags...).
    if [ -n "${EC2_SEED_FILTER:-}" ]; then
        jq "$EC2_SEED_FILTER" "$T/ec2-seed.json" > "$T/ec2-seed.json.new"
        mv "$T/ec2-seed.json.new" "$T/ec2-seed.json"
    fi
    # shellcheck disable=SC2086 # EC2_LATENCY is a list of options
    start_ec2_emulator \
        --credentials "$SRC:$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY${AWS_SESSION_TOKEN:+:$AWS_SESSION_TOKEN}" \
        --credentials "$DST:$DST_AKID:$DST_SECRET${DST_SESSION:+:$DST_SESSION}" \
        --seed "$T/ec2-seed.json" \
        ${EC2_LATENCY:---state-latency 0.3 --snapshot-latency 0.6 --volume-latency 0.4 --page-size 2} \
        "$@"
    export AWS_ENDPOINT_URL_EC2=$EC2

    cat > "$T/kube-seed.json" <<JSON
[{"apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "node-a", "labels": {"topology.kubernetes.io/zone": "us-east-1a"}}},
 {"apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "node-b", "labels": {"topology.kubernetes.io/zone": "us-east-1c"}}}]
JSON
    # The simulated virt-launcher, canned: a started VM's console says
    # the guest is healthy (console_says changes that for one test).
    cat > "$T/console.txt" <<'TEXT'
[    0.000000] Linux version 6.1.0-27-amd64 (simulated console)
[  OK  ] Reached target multi-user.target - Multi-User System.
V2V-HEALTH {"version":1,"probe":"linux","status":"healthy","problems":[],"system":"running","failed_units":[]}
TEXT
    # shellcheck disable=SC2086 # KUBELET_ARGS is a list of options
    start_kube_fake --token "$KUBE_TOKEN" --seed "$T/kube-seed.json" \
        --virt-launcher canned --virt-delay 0.1 \
        --virt-console "$T/console.txt" ${KUBELET_ARGS:-}
    cat > "$T/kubeconfig" <<YAML
apiVersion: v1
kind: Config
current-context: fake
contexts: [{name: fake, context: {cluster: fake, user: orch}}]
clusters: [{name: fake, cluster: {server: "$KUBE", certificate-authority: certs/ca.crt}}]
users: [{name: orch, user: {token: $KUBE_TOKEN}}]
YAML
    export KUBECONFIG=$T/kubeconfig
}

# console_says TEXT: what the simulated guest's serial console says from
# now on (canned: the VMs started next), each line ended.
console_says () {
    jq -n --arg c "$1"$'\n' '{console: $c}' |
        curl -sf -X POST --cacert "$T/certs/ca.crt" -H 'Content-Type: application/json' \
            --data-binary @- "$KUBE/_fake/virt-launcher" >/dev/null ||
        fail "could not configure the simulated virt-launcher"
}

# record: this plan's record of the instance, as JSON.
record () {
    kube_kind ConfigMap | jq --arg i "$INSTANCE" '.[] |
        select(.metadata.name == "v2v-plan-wave1") | .data[$i] | fromjson'
}

# write_plan [JQ FILTER]: the default plan, adjusted by the filter.
write_plan () {
    PLAN=$T/plan.json
    jq "${1:-.}" > "$PLAN" <<JSON
{"name": "wave1", "region": "us-east-1", "targetAZ": "us-east-1a",
 "targetNamespace": "vms",
 "vms": [{"id": "$INSTANCE", "newName": "web-1"}],
 "storageMap": {"gp3": "ebs-gp3", "io2": "ebs-io2", "gp2": "ebs-gp3"},
 "networkMap": {"subnet-0aaaaaaaaaaaaaaa1": {"type": "pod"},
                "subnet-0aaaaaaaaaaaaaaa2": {"type": "multus", "name": "vms/vlan-20"}},
 "conversionImage": "registry.example.com/v2v-agent:0.1.0",
 "pollIntervalSeconds": 0.2}
JSON
}

ec2_state () { curl -sf "$EC2/_fake/state"; }

# migrate [ARG...]: v2v-orchestrator migrate on $PLAN, its stderr
# appended to $T/orch.log, bounded by MIGRATE_TIMEOUT (300 s).
migrate () {
    local rc=0
    timeout "${MIGRATE_TIMEOUT:-300}" "$orch" migrate --plan "$PLAN" "$@" 2>> "$T/orch.log" || rc=$?
    return $rc
}

# wait_source_running: the source instance ($INSTANCE) running again
# (after a rollback's StartInstances), within 10 s, or fail.
wait_source_running () {
    local st=
    for _ in $(seq 50); do
        st=$(ec2_state | jq -r --arg i "$INSTANCE" '.instances[] |
            select(.InstanceId == $i) | .State | .Name? // .')
        [ "$st" != running ] || break
        sleep 0.2
    done
    [ "$st" = running ] || fail "the source is $st, not running again"
}
# jq: a CreateSnapshots request of the pre-copy set (tagged phase=pre).
PRE_SNAPSHOTS='def pre_snapshots: .params | to_entries |
    any(.value == "v2v-kubevirt/phase");'

ec2_requests () { curl -sf "$EC2/_fake/requests"; }
kube_objects () { curl -sf --cacert "$T/certs/ca.crt" "$KUBE/_fake/objects"; }
# kube_kind KIND: the stored objects of that kind, as a JSON array.
kube_kind () {
    kube_objects | jq --arg k "$1" '[.. | objects | select(.kind? == $k and
        (.metadata? | type) == "object")] | unique_by(.metadata.name)'
}

# check_migrated [OWNER] [FIRMWARE]: the state every successful scenario
# ends in (FIRMWARE: the VM's bootloader, efi from the seed's boot mode
# unless the agent said otherwise).
check_migrated () {
    local owner=${1:-$SRC} firmware=${2:-efi} s
    s=$(ec2_state)
    echo "$s" | jq -e --arg i "$INSTANCE" '
        (.instances[] | select(.InstanceId == $i) | .State) as $st |
        ($st == "stopped" or $st.Name? == "stopped")' >/dev/null ||
        fail "the source instance is not stopped"
    # Every snapshot this plan made is gone.
    n=$(echo "$s" | jq '[.snapshots[] | select(.tags | has("v2v-kubevirt/plan"))
        | select(.State != "deleted")] | length')
    [ "$n" -eq 0 ] || fail "$n snapshot(s) left behind"
    # One new volume per source volume, in the target AZ and account,
    # with the source's type, IOPS, throughput and encryption.
    vols=$(echo "$s" | jq '[.volumes[] |
        select(.tags | has("v2v-kubevirt/source-volume")) |
        select(.State != "deleted")]')
    [ "$(echo "$vols" | jq length)" -eq 3 ] ||
        fail "want 3 new volumes: $(echo "$vols" | jq -c '[.[] | .VolumeId]')"
    echo "$vols" | jq -e --arg o "$owner" 'all(.[]; .AvailabilityZone ==
        "us-east-1a" and .account == $o)' >/dev/null ||
        fail "a new volume is not in us-east-1a of account $owner"
    echo "$vols" | jq -e '
        (.[] | select(.tags["v2v-kubevirt/source-volume"] == "vol-0000000000000000a")
         | .VolumeType == "gp3" and .Iops == 3000 and .Throughput == 250) and
        (.[] | select(.tags["v2v-kubevirt/source-volume"] == "vol-0000000000000000b")
         | .VolumeType == "io2" and .Iops == 4000 and .Encrypted == true and
           (.KmsKeyId | endswith("1234567890ab")))' >/dev/null ||
        fail "the new volumes lost type, IOPS, throughput or encryption: $vols"
    # Pre-bound PV/PVC pairs on those volumes.
    pvs=$(kube_kind PersistentVolume)
    [ "$(echo "$pvs" | jq length)" -eq 3 ] || fail "want 3 PVs"
    echo "$pvs" | jq -e --argjson v "$vols" '
        ([$v[].VolumeId] | sort) == ([.[].spec.csi.volumeHandle] | sort) and
        all(.[]; .spec.claimRef.namespace == "vms" and
            .spec.volumeMode == "Block" and
            .spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values
              == ["us-east-1a"])' >/dev/null || fail "PVs: $pvs"
    [ "$(kube_kind PersistentVolumeClaim | jq length)" -eq 3 ] ||
        fail "want 3 PVCs"
    vm=$(kube_kind VirtualMachine)
    [ "$(echo "$vm" | jq length)" -eq 1 ] || fail "want 1 VirtualMachine"
    echo "$vm" | jq -e --arg fw "$firmware" '.[0] | .metadata.name == "web-1" and
        .spec.template.spec.domain.cpu == {"sockets": 1, "cores": 1,
                                           "threads": 2} and
        .spec.template.spec.domain.memory.guest == "8192Mi" and
        .spec.template.spec.domain.firmware.bootloader[$fw] != null and
        .spec.runStrategy == "Always" and
        .spec.template.spec.domain.devices.logSerialConsole == true and
        (.spec.template.spec.domain.devices.disks[0] | .name == "disk0" and
            .bootOrder == 1) and
        (.spec.template.spec.volumes[0].persistentVolumeClaim.claimName ==
            "web-1-disk0") and
        ([.spec.template.spec.domain.devices.interfaces[].macAddress] ==
            ["02:00:00:00:00:01", "02:00:00:00:00:02"]) and
        (.spec.template.spec.networks[1].multus.networkName == "vms/vlan-20") and
        (.spec.template.spec.volumes[] | select(.name == "cloudinit") |
            .cloudInitNoCloud.userDataBase64 | @base64d | test("hostname: web"))' \
        >/dev/null || fail "VirtualMachine: $(echo "$vm" | jq -c '.[0].spec')"
    # The root volume (xvda) is disk0 whatever the mapping order.
    echo "$pvs" | jq -e --argjson v "$vols" '
        ($v[] | select(.tags["v2v-kubevirt/source-volume"] ==
                       "vol-0000000000000000a") | .VolumeId) as $root |
        any(.[]; .spec.csi.volumeHandle == $root and
                 .spec.claimRef.name == "web-1-disk0")' >/dev/null ||
        fail "the root volume is not disk0"
}

# non_polling_calls: EC2 calls that change something (not Describe*).
non_polling_calls () {
    ec2_requests | jq '[.[] | select(.polling != true)] | length'
}

# ec2_py PYTHON: run PYTHON with `ec2`, a botocore client of the source
# account on the emulator (to change EC2 behind the orchestrator's back).
ec2_py () {
    $PY - "$EC2" <<PYTHON
import sys, botocore.session
ec2 = botocore.session.get_session().create_client(
    "ec2", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id="$AWS_ACCESS_KEY_ID",
    aws_secret_access_key="$AWS_SECRET_ACCESS_KEY")
$1
PYTHON
}

# plan_snapshots: the plan's snapshots EC2 still has, as a number.
plan_snapshots () {
    ec2_state | jq '[.snapshots[] | select(.tags | has("v2v-kubevirt/plan"))
        | select(.State != "deleted")] | length'
}
