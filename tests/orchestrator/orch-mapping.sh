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
#   orch-mapping.sh network-policies  security groups as NetworkPolicies
#                              (networkPolicies: true): every rule shape,
#                              the unsupported ones warned, egress only
#                              when narrower than allow-all, a resume
#                              adopting its own, someone else's refused,
#                              cleanup --purge deleting them
set -euo pipefail
scenario=$1
TEST_CASE=$scenario
. "$(dirname "$0")/orch-lib.sh"


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
    # networkPolicies is off by default: no NetworkPolicy, and the
    # security groups are not even described.
    [ "$(kube_kind NetworkPolicy | jq length)" -eq 0 ] ||
        fail_later "NetworkPolicies without networkPolicies: $(kube_kind NetworkPolicy)"
    [ "$(ec2_requests | jq '[.[] | select(.action ==
        "DescribeSecurityGroups")] | length')" -eq 0 ] ||
        fail_later "DescribeSecurityGroups asked without networkPolicies"
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
network-policies)
    SG1=sg-0aaaaaaaaaaaaaaa1 SG2=sg-0aaaaaaaaaaaaaaa2 SG3=sg-0aaaaaaaaaaaaaaa3
    PL=pl-0123456789abcdef0
    I_OPEN=i-0000000000000000d
    add_instance $I_OPEN t2.medium vol-0000000000000000d \
        "{\"SecurityGroups\": [\"$SG3\"]}"
    # web: every rule shape; ssh: EC2's default outbound rule (all
    # traffic to 0.0.0.0/0, no IPv6); open: all traffic out over both.
    EC2_SEED_FILTER="$EC2_SEED_FILTER | .security_groups = [
      {\"GroupId\": \"$SG1\", \"GroupName\": \"web\", \"Account\": \"$SRC\",
       \"IpPermissions\": [
        {\"IpProtocol\": \"tcp\", \"FromPort\": 443, \"ToPort\": 443,
         \"IpRanges\": [{\"CidrIp\": \"0.0.0.0/0\"}],
         \"Ipv6Ranges\": [{\"CidrIpv6\": \"::/0\"}]},
        {\"IpProtocol\": \"tcp\", \"FromPort\": 8000, \"ToPort\": 8080,
         \"IpRanges\": [{\"CidrIp\": \"10.0.0.0/16\"}]},
        {\"IpProtocol\": \"udp\", \"FromPort\": 53, \"ToPort\": 53,
         \"IpRanges\": [{\"CidrIp\": \"10.1.0.0/24\"}]},
        {\"IpProtocol\": \"-1\", \"UserIdGroupPairs\": [{\"GroupId\": \"$SG2\"}]},
        {\"IpProtocol\": \"tcp\", \"FromPort\": 22, \"ToPort\": 22,
         \"UserIdGroupPairs\": [{\"GroupId\": \"$SG1\"}]},
        {\"IpProtocol\": \"icmp\", \"FromPort\": 8, \"ToPort\": -1,
         \"IpRanges\": [{\"CidrIp\": \"0.0.0.0/0\"}]},
        {\"IpProtocol\": \"tcp\", \"FromPort\": 5432, \"ToPort\": 5432,
         \"PrefixListIds\": [{\"PrefixListId\": \"$PL\"}]},
        {\"IpProtocol\": \"tcp\", \"FromPort\": 3306, \"ToPort\": 3306,
         \"IpRanges\": [{\"CidrIp\": \"10.2.0.0/16\"}],
         \"PrefixListIds\": [{\"PrefixListId\": \"$PL\"}]},
        {\"IpProtocol\": \"47\", \"IpRanges\": [{\"CidrIp\": \"10.0.0.0/8\"}]},
        {\"IpProtocol\": \"tcp\", \"FromPort\": 0, \"ToPort\": 65535,
         \"IpRanges\": [{\"CidrIp\": \"192.168.0.0/16\"}]},
        {\"IpProtocol\": \"132\", \"IpRanges\": [{\"CidrIp\": \"10.3.0.0/16\"}]},
        {\"IpProtocol\": \"icmpv6\", \"FromPort\": -1, \"ToPort\": -1,
         \"Ipv6Ranges\": [{\"CidrIpv6\": \"::/0\"}]}],
       \"IpPermissionsEgress\": [
        {\"IpProtocol\": \"tcp\", \"FromPort\": 443, \"ToPort\": 443,
         \"IpRanges\": [{\"CidrIp\": \"0.0.0.0/0\"}],
         \"Ipv6Ranges\": [{\"CidrIpv6\": \"::/0\"}]},
        {\"IpProtocol\": \"udp\", \"FromPort\": 53, \"ToPort\": 53,
         \"IpRanges\": [{\"CidrIp\": \"10.0.0.2/32\"}]},
        {\"IpProtocol\": \"icmp\", \"FromPort\": -1, \"ToPort\": -1,
         \"IpRanges\": [{\"CidrIp\": \"0.0.0.0/0\"}]}]},
      {\"GroupId\": \"$SG2\", \"GroupName\": \"ssh\", \"Account\": \"$SRC\",
       \"IpPermissions\": [
        {\"IpProtocol\": \"tcp\", \"FromPort\": 22, \"ToPort\": 22,
         \"IpRanges\": [{\"CidrIp\": \"203.0.113.0/24\"}]}]},
      {\"GroupId\": \"$SG3\", \"GroupName\": \"open\", \"Account\": \"$SRC\",
       \"IpPermissions\": [
        {\"IpProtocol\": \"udp\", \"FromPort\": 1000, \"ToPort\": 2000,
         \"Ipv6Ranges\": [{\"CidrIpv6\": \"2001:db8::/32\"}]}],
       \"IpPermissionsEgress\": [
        {\"IpProtocol\": \"-1\", \"IpRanges\": [{\"CidrIp\": \"0.0.0.0/0\"}],
         \"Ipv6Ranges\": [{\"CidrIpv6\": \"::/0\"}]}]}] |
      .instances[0].SecurityGroups = [\"$SG1\", \"$SG2\"]"
    EC2_LATENCY="--page-size 2"
    start_fakes
    write_plan ".skipGuestConversion = true | .networkPolicies = true |
        .vms += [{\"id\": \"$I_OPEN\", \"newName\": \"open-1\"}]"

    # Killed right after the first NetworkPolicy is made: the re-run finds
    # it (409), reads it, and keeps it as its own.
    rc=0; V2V_ORCH_CRASH_AFTER=netpol migrate || rc=$?
    [ $rc -eq 137 ] || fail "the netpol crash point did not fire (exit $rc)"
    rc=0; migrate || rc=$?
    [ $rc -eq 0 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc"; }
    jq -s -e '[.[] | select(.path | test("/networkpolicies"))] |
        any(.method == "POST" and .status == 409) and
        any(.method == "GET" and .status == 200)' "$KUBE_RECORD" >/dev/null ||
        fail "the resume did not find its NetworkPolicy: $(jq -c 'select(.path |
            test("/networkpolicies")) | [.method, .path, .status]' "$KUBE_RECORD")"
    ! grep -q "exists with other rules" "$T/orch.log" ||
        fail "the resume found its own NetworkPolicy changed"
    # One DescribeSecurityGroups listing a run (two pages of two) for
    # all the VMs' groups.
    ec2_requests | jq -e --arg a "$SG1" --arg b "$SG2" --arg c "$SG3" '
        [.[] | select(.action == "DescribeSecurityGroups")] |
        ([.[] | select(.params.NextToken == null)] | length == 2) and
        length == 4 and all(.[]; [.params | to_entries[] |
            select(.key | startswith("GroupId")) | .value] | sort ==
            [$a, $b, $c])' >/dev/null ||
        fail "DescribeSecurityGroups: $(ec2_requests | jq -c '[.[] |
            select(.action == "DescribeSecurityGroups") | .params]')"

    pols=$(kube_kind NetworkPolicy)
    [ "$(echo "$pols" | jq length)" -eq 2 ] ||
        fail "want 2 NetworkPolicies: $(echo "$pols" | jq -c '[.[].metadata.name]')"
    pol () { echo "$pols" | jq --arg n "$1" '.[] | select(.metadata.name == $n)'; }
    # Each as valid as the strict schema says (the fake checked it too).
    for n in web-1-security-groups open-1-security-groups; do
        pol $n > "$T/pol.json"
        $PY - "$SHARED_DATA/schemas/k8s/networkpolicy-networking-v1.json" \
            "$T/pol.json" <<'PYTHON' || fail_later "$n is not schema-valid"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.validators.validator_for(schema)(schema).validate(
    json.load(open(sys.argv[2])))
PYTHON
        pol $n | jq -e --arg p wave1 '.metadata.labels == {
            "v2v.kubevirt.io/plan": $p,
            "v2v.kubevirt.io/vm": .metadata.labels["v2v.kubevirt.io/vm"],
            "app.kubernetes.io/managed-by": "v2v-orchestrator"} and
            .metadata.namespace == "vms"' >/dev/null ||
            fail_later "$n: labels $(pol $n | jq -c .metadata)"
    done
    # The rendering table, rule by rule: CIDR and IPv6 CIDR as ipBlock,
    # a single port without endPort, a range with it, all protocols
    # without ports, a group as a podSelector on its label, all TCP ports
    # as the protocol alone, SCTP (132), the prefix list peer dropped
    # from a rule that has another; ICMP, GRE and a prefix list alone
    # left out.  EC2's default outbound rule (all to 0.0.0.0/0) is
    # narrower than allow-all: IPv6 stays closed.
    sgl () { printf '{"podSelector": {"matchLabels": {"security-groups.v2v.kubevirt.io/%s": "true"}}}' "$1"; }
    cidr () { printf '{"ipBlock": {"cidr": "%s"}}' "$1"; }
    want=$(jq -n --arg i "$INSTANCE" --argjson g1 "$(sgl $SG1)" \
        --argjson g2 "$(sgl $SG2)" '{
      podSelector: {matchLabels: {"kubevirt.io": "virt-launcher",
                                  "v2v.kubevirt.io/vm": $i}},
      ingress: [
        {from: [{ipBlock: {cidr: "0.0.0.0/0"}}, {ipBlock: {cidr: "::/0"}}],
         ports: [{protocol: "TCP", port: 443}]},
        {from: [{ipBlock: {cidr: "10.0.0.0/16"}}],
         ports: [{protocol: "TCP", port: 8000, endPort: 8080}]},
        {from: [{ipBlock: {cidr: "10.1.0.0/24"}}],
         ports: [{protocol: "UDP", port: 53}]},
        {from: [$g2]},
        {from: [$g1], ports: [{protocol: "TCP", port: 22}]},
        {from: [{ipBlock: {cidr: "10.2.0.0/16"}}],
         ports: [{protocol: "TCP", port: 3306}]},
        {from: [{ipBlock: {cidr: "192.168.0.0/16"}}],
         ports: [{protocol: "TCP"}]},
        {from: [{ipBlock: {cidr: "10.3.0.0/16"}}],
         ports: [{protocol: "SCTP"}]},
        {from: [{ipBlock: {cidr: "203.0.113.0/24"}}],
         ports: [{protocol: "TCP", port: 22}]}],
      egress: [
        {to: [{ipBlock: {cidr: "0.0.0.0/0"}}, {ipBlock: {cidr: "::/0"}}],
         ports: [{protocol: "TCP", port: 443}]},
        {to: [{ipBlock: {cidr: "10.0.0.2/32"}}],
         ports: [{protocol: "UDP", port: 53}]},
        {to: [{ipBlock: {cidr: "0.0.0.0/0"}}]}],
      policyTypes: ["Ingress", "Egress"]}')
    got=$(pol web-1-security-groups | jq .spec)
    [ "$(echo "$got" | jq -S .)" = "$(echo "$want" | jq -S .)" ] ||
        fail_later "web-1's policy: $(echo "$got" | jq -c .)"
    # All traffic out over IPv4 and IPv6: no egress policy.
    want=$(jq -n --arg i "$I_OPEN" '{
      podSelector: {matchLabels: {"kubevirt.io": "virt-launcher",
                                  "v2v.kubevirt.io/vm": $i}},
      ingress: [{from: [{ipBlock: {cidr: "2001:db8::/32"}}],
                 ports: [{protocol: "UDP", port: 1000, endPort: 2000}]}],
      policyTypes: ["Ingress"]}')
    got=$(pol open-1-security-groups | jq .spec)
    [ "$(echo "$got" | jq -S .)" = "$(echo "$want" | jq -S .)" ] ||
        fail_later "open-1's policy: $(echo "$got" | jq -c .)"
    # It selects the VM's virt-launcher Pod, as KubeVirt labels it.
    kube_kind Pod | jq -e --argjson sel "$(pol web-1-security-groups |
        jq .spec.podSelector.matchLabels)" '[.[] | select(.metadata.labels as
        $l | $sel | to_entries | all($l[.key] == .value))] | length == 1 and
        .[0].metadata.labels["vm.kubevirt.io/name"] == "web-1"' >/dev/null ||
        fail_later "web-1's policy selects no virt-launcher Pod: $(kube_kind Pod |
            jq -c '[.[].metadata.labels]')"
    # What NetworkPolicy cannot say, each named once (the first run said
    # it too: count the second's).
    w="$INSTANCE: security group $SG1 (web)"
    for line in \
        "$w: inbound rule 6 (icmp type 8 code -1): NetworkPolicy cannot match ICMP types or codes; the rule is left out" \
        "$w: inbound rule 7 (tcp 5432): prefix list $PL cannot be a NetworkPolicy peer; the rule is left out" \
        "$w: inbound rule 8 (tcp 3306): prefix list $PL cannot be a NetworkPolicy peer; the rule keeps its other peers" \
        "$w: inbound rule 9 (protocol 47): NetworkPolicy matches TCP, UDP and SCTP only; the rule is left out" \
        "$w: inbound rule 12 (icmpv6 type -1 code -1): NetworkPolicy cannot match ICMP types or codes; the rule is left out" \
        "$w: outbound rule 3 (icmp type -1 code -1): NetworkPolicy cannot match ICMP types or codes; the rule is left out"
    do
        grep -qF -- "$line" "$T/orch.log" || fail_later "no warning: $line"
    done
    n=$(grep -o "i-[0-9a-f]*: security group sg-.*" "$T/orch.log" | sort -u | wc -l)
    [ "$n" -eq 6 ] || fail_later "$n different warnings about security groups, want 6"
    finish_checks

    # Plain cleanup keeps them (they guard the migrated VMs); --purge
    # deletes them with the VMs.
    "$orch" cleanup --plan "$PLAN" 2>> "$T/orch.log" || fail "cleanup"
    [ "$(kube_kind NetworkPolicy | jq length)" -eq 2 ] ||
        fail "cleanup deleted the NetworkPolicies of migrated VMs"
    "$orch" cleanup --plan "$PLAN" --purge 2>> "$T/orch.log" || fail "cleanup --purge"
    [ "$(kube_kind NetworkPolicy | jq length)" -eq 0 ] ||
        fail "cleanup --purge left $(kube_kind NetworkPolicy | jq -c '[.[].metadata.name]')"

    # A NetworkPolicy of that name that this migration did not make is
    # never taken over: the VM fails before its VirtualMachine exists.
    jq -n '{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy",
            metadata: {name: "web-1-security-groups", namespace: "vms"},
            spec: {podSelector: {}, policyTypes: ["Ingress"]}}' |
        curl -sf --cacert "$T/certs/ca.crt" -H "Authorization: Bearer $KUBE_TOKEN" \
            -H 'Content-Type: application/json' --data-binary @- \
            "$KUBE/apis/networking.k8s.io/v1/namespaces/vms/networkpolicies" \
            >/dev/null || fail "could not create someone else's NetworkPolicy"
    write_plan ".skipGuestConversion = true | .networkPolicies = true |
        .name = \"wave2\""
    rc=0; migrate || rc=$?
    [ $rc -eq 1 ] || { tail -20 "$T/orch.log"; fail "migrate exited $rc, want 1"; }
    grep -qF "NetworkPolicy vms/web-1-security-groups exists and was not made by this migration (labels v2v.kubevirt.io/plan=wave2, v2v.kubevirt.io/vm=$INSTANCE): rename or delete it" \
        "$T/orch.log" || fail "no error naming the foreign NetworkPolicy"
    [ "$(vm_of "$INSTANCE" | jq -s length)" -eq 0 ] ||
        fail "a VirtualMachine was made beside a foreign NetworkPolicy"
    pol=$(kube_kind NetworkPolicy)
    echo "$pol" | jq -e 'length == 1 and .[0].spec.podSelector == {}' \
        >/dev/null || fail "the foreign NetworkPolicy was changed: $pol"
    echo "PASS: network-policies: every rule shape rendered or warned, adopted on resume, foreign refused, purged"
    ;;
*)
    fail "unknown scenario $scenario"
    ;;
esac
