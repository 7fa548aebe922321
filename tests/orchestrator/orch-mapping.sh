#!/bin/bash
# How an instance's own attributes map onto its KubeVirt objects, asserted
# on the objects as the fake kube-apiserver stored them.
#
#   orch-mapping.sh instance   CPU topology from CpuOptions (2 and 1
#                              threads per core, hyperthreading off),
#                              memory exact, tags as the annotation and
#                              (the valid ones) labels, security groups
#                              as template labels
#   orch-mapping.sh secure-boot  a UEFI instance with UEFI data: Secure
#                              Boot, persistent EFI variables and SMM
#                              with secureBoot: true; off, with a
#                              warning, without
set -euo pipefail
scenario=$1
TEST_CASE=$scenario
. "$(dirname "$0")/orch-lib.sh"

migrate () {
    local rc=0
    timeout 300 "$orch" migrate --plan "$PLAN" "$@" 2>> "$T/orch.log" || rc=$?
    return $rc
}

# add_instance ID TYPE VOLUME [JQ OBJECT OF MORE FIELDS]: one more running
# instance in the seed, with one gp3 root volume.
add_instance () {
    local extra=${4:-'{}'}
    EC2_SEED_FILTER="${EC2_SEED_FILTER:-.} |
        .volumes += [{\"VolumeId\": \"$3\", \"Account\": \"$SRC\", \"Size\": 8,
                      \"VolumeType\": \"gp3\", \"AvailabilityZone\": \"us-east-1b\"}] |
        .instances += [{\"InstanceId\": \"$1\", \"Account\": \"$SRC\",
            \"InstanceType\": \"$2\", \"State\": \"stopped\",
            \"AvailabilityZone\": \"us-east-1b\", \"RootDeviceName\": \"/dev/xvda\",
            \"NetworkInterfaces\": [{\"MacAddress\": \"02:00:00:00:01:0${1: -1}\",
                \"SubnetId\": \"subnet-0aaaaaaaaaaaaaaa1\", \"VpcId\": \"vpc-0abc\"}],
            \"BlockDeviceMappings\": [{\"DeviceName\": \"/dev/xvda\",
                                       \"VolumeId\": \"$3\"}]} + $extra]"
}

# vm_of ID: the stored VirtualMachine made from instance ID.
vm_of () {
    kube_kind VirtualMachine | jq --arg i "$1" '.[] |
        select(.metadata.labels["v2v.kubevirt.io/vm"] == $i)'
}

case $scenario in
instance)
    # The default instance: m5.large, CpuOptions as the type's defaults
    # (1 core, 2 threads per core); with tags of every shape.
    I_HT_OFF=i-0000000000000000e I_T2=i-0000000000000000f
    add_instance $I_HT_OFF m5.xlarge vol-0000000000000000e \
        '{"CpuOptions": {"CoreCount": 2, "ThreadsPerCore": 1}}'
    add_instance $I_T2 t2.medium vol-0000000000000000f
    long63=$(printf 'k%.0s' $(seq 63)) long64=$(printf 'k%.0s' $(seq 64))
    EC2_SEED_FILTER="$EC2_SEED_FILTER | .instances[0].Tags = {
        \"Name\": \"web\", \"env\": \"prod\", \"Cost.Center_2\": \"A-1\",
        \"empty\": \"\", \"$long63\": \"ok\",
        \"$long64\": \"key too long\",
        \"team/app\": \"slash in the key\",
        \"aws:cloudformation:stack-name\": \"colon-in-key\",
        \"has space\": \"x\", \"-dash-first\": \"x\", \"dot-last.\": \"x\",
        \"ünicode\": \"x\",
        \"v-space\": \"two words\", \"v-long\": \"$long64\",
        \"v-dash-last\": \"x-\", \"v-slash\": \"a/b\",
        \"Owner\": \"ops@example.com\"}"
    EC2_SEED_FILTER="$EC2_SEED_FILTER | .security_groups = [
        {\"GroupId\": \"sg-0aaaaaaaaaaaaaaa1\", \"GroupName\": \"web\",
         \"Account\": \"$SRC\"},
        {\"GroupId\": \"sg-0aaaaaaaaaaaaaaa2\", \"GroupName\": \"ssh\",
         \"Account\": \"$SRC\"}] |
        .instances[0].SecurityGroups = [\"sg-0aaaaaaaaaaaaaaa1\",
                                        \"sg-0aaaaaaaaaaaaaaa2\"]"
    EC2_LATENCY="--page-size 2"
    start_fakes
    write_plan ".skipGuestConversion = true |
        .vms += [{\"id\": \"$I_HT_OFF\"}, {\"id\": \"$I_T2\"}]"
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc"; }

    # CPU: 1 socket, CoreCount cores, ThreadsPerCore threads; memory as
    # DescribeInstanceTypes says, in MiB.
    check_cpu () {
        vm_of "$1" | jq -e --argjson c "$2" --argjson t "$3" --arg m "$4" '
            .spec.template.spec.domain | .cpu == {"sockets": 1, "cores": $c,
            "threads": $t} and .memory.guest == $m' >/dev/null ||
            fail_later "$1: want $2 cores x $3 threads and $4: $(vm_of "$1" |
                jq -c '.spec.template.spec.domain | {cpu, memory}')"
    }
    check_cpu "$INSTANCE" 1 2 8192Mi       # m5.large: 2 threads per core
    check_cpu $I_HT_OFF 2 1 16384Mi        # m5.xlarge, hyperthreading off
    check_cpu $I_T2 2 1 4096Mi             # t2.medium: 1 thread per core
    finish_checks

    # Tags: all of them verbatim in the annotation; as labels only those
    # whose key and value are valid label syntax.
    vm=$(vm_of "$INSTANCE")
    echo "$vm" | jq -e --argjson want "$(ec2_state | jq --arg i "$INSTANCE" \
        '.instances[] | select(.InstanceId == $i) | .tags')" '
        .metadata.annotations["v2v.kubevirt.io/source-tags"] | fromjson == $want' \
        >/dev/null || fail "annotation: $(echo "$vm" | jq -c .metadata.annotations)"
    want_labels=$(jq -n --arg l "$long63" '{"tags.v2v.kubevirt.io/Name": "web",
        "tags.v2v.kubevirt.io/env": "prod",
        "tags.v2v.kubevirt.io/Cost.Center_2": "A-1",
        "tags.v2v.kubevirt.io/empty": "",
        ("tags.v2v.kubevirt.io/" + $l): "ok"}')
    for where in .metadata.labels .spec.template.metadata.labels; do
        got=$(echo "$vm" | jq "$where | with_entries(select(.key |
            startswith(\"tags.v2v.kubevirt.io/\")))")
        [ "$(echo "$got" | jq -S .)" = "$(echo "$want_labels" | jq -S .)" ] ||
            fail_later "$where: tag labels $(echo "$got" | jq -c .)"
    done
    # Security groups: one label each on the template.
    echo "$vm" | jq -e '.spec.template.metadata.labels |
        .["security-groups.v2v.kubevirt.io/sg-0aaaaaaaaaaaaaaa1"] == "true" and
        .["security-groups.v2v.kubevirt.io/sg-0aaaaaaaaaaaaaaa2"] == "true"' \
        >/dev/null || fail_later "security group labels: $(echo "$vm" |
            jq -c .spec.template.metadata.labels)"
    # No tags, no annotation.
    vm_of $I_T2 | jq -e '.metadata.annotations |
        has("v2v.kubevirt.io/source-tags") | not' >/dev/null ||
        fail_later "an instance without tags has the tags annotation"
    finish_checks
    echo "PASS: instance: CPU topology, memory, tags and security groups"
    ;;
secure-boot)
    # The default instance boots UEFI; give it a variable store.
    EC2_SEED_FILTER='.instances[0].UefiData = "QU1aTlVFRkkAAAAA"'
    EC2_LATENCY="--page-size 2"
    start_fakes
    write_plan '.skipGuestConversion = true | .secureBoot = true'
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc"; }
    ec2_requests | jq -e --arg i "$INSTANCE" '[.[] | select(.action ==
        "GetInstanceUefiData")] | length == 1 and .[0].params.InstanceId == $i' \
        >/dev/null || fail "GetInstanceUefiData was not asked once"
    vm_of "$INSTANCE" | jq -e '.spec.template.spec.domain |
        .firmware.bootloader.efi == {"secureBoot": true, "persistent": true}
        and .features.smm.enabled == true' >/dev/null ||
        fail "Secure Boot: $(vm_of "$INSTANCE" | jq -c '.spec.template.spec.domain | {firmware, features}')"
    # Without secureBoot in the plan: off, and said so.
    "$orch" cleanup --plan "$PLAN" --purge 2>> "$T/orch.log" || fail "cleanup --purge"
    write_plan '.skipGuestConversion = true | .name = "wave2"'
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc"; }
    vm_of "$INSTANCE" | jq -e '.spec.template.spec.domain |
        .firmware.bootloader.efi == {"secureBoot": false} and
        (.features.smm == null)' >/dev/null ||
        fail "no secureBoot: $(vm_of "$INSTANCE" | jq -c '.spec.template.spec.domain | {firmware, features}')"
    grep -q "$INSTANCE: the instance has UEFI Secure Boot data, but the plan does not set secureBoot" \
        "$T/orch.log" || fail "no warning that Secure Boot is off"
    echo "PASS: secure-boot: on when the plan allows, else off with a warning"
    ;;
*)
    fail "unknown scenario $scenario"
    ;;
esac
