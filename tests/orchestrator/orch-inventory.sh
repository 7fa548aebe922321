#!/bin/bash
# v2v-orchestrator inventory and plan init against the EC2 emulator:
# what is printed (text and JSON) for each kind and filter, and how many
# Describe calls it took (one per page, EC2's MaxResults).
#
#   orch-inventory.sh inventory   every kind, filters, pages, call counts
#   orch-inventory.sh plan-init   a plan from a tag selector or ids, checked
#                                 as migrate checks it; refusals
set -euo pipefail
scenario=$1
TEST_CASE=$scenario
. "$(dirname "$0")/orch-lib.sh"

# A seed with an inventory: 12 instances (7 tagged env=prod, one of them
# terminated), 3 subnets, 3 security groups, beside the default one.
inventory_seed () {
    local f='.' i id vol state env
    for i in $(seq 1 12); do
        id=$(printf 'i-00000000000000%03d' "$i")
        vol=$(printf 'vol-00000000000000%03d' "$i")
        state=running env=dev
        [ $((i % 3)) -eq 0 ] && state=stopped
        [ "$i" -le 7 ] && env=prod
        [ "$i" -eq 7 ] && state=terminated
        if [ "$state" = terminated ]; then
            f="$f | .instances += [{\"InstanceId\": \"$id\", \"Account\": \"$SRC\",
                \"InstanceType\": \"t3.micro\", \"State\": \"terminated\",
                \"AvailabilityZone\": \"us-east-1b\", \"Tags\": {\"env\": \"$env\"}}]"
            continue
        fi
        f="$f | .volumes += [{\"VolumeId\": \"$vol\", \"Account\": \"$SRC\",
                \"Size\": $((8 + i)), \"VolumeType\": \"$([ $((i % 2)) -eq 0 ] && echo io2 || echo gp3)\",
                \"Iops\": 3000, \"AvailabilityZone\": \"us-east-1b\"}]
            | .instances += [{\"InstanceId\": \"$id\", \"Account\": \"$SRC\",
                \"InstanceType\": \"$([ $((i % 2)) -eq 0 ] && echo t2.medium || echo m5.large)\",
                \"State\": \"$state\", \"AvailabilityZone\": \"us-east-1b\",
                \"RootDeviceName\": \"/dev/xvda\",
                \"Tags\": {\"env\": \"$env\", \"Name\": \"App-$i\"},
                \"SecurityGroups\": [\"sg-0aaaaaaaaaaaaaaa1\"],
                \"NetworkInterfaces\": [{\"MacAddress\": \"02:00:00:00:02:$(printf %02x "$i")\",
                    \"SubnetId\": \"subnet-0aaaaaaaaaaaaaa$((i % 3 + 1))1\", \"VpcId\": \"vpc-0abc\"}],
                \"BlockDeviceMappings\": [{\"DeviceName\": \"/dev/xvda\", \"VolumeId\": \"$vol\"}]}]"
    done
    f="$f | .subnets = [
        {\"SubnetId\": \"subnet-0aaaaaaaaaaaaaa11\", \"Account\": \"$SRC\", \"CidrBlock\": \"10.0.1.0/24\", \"AvailabilityZone\": \"us-east-1b\", \"Tags\": {\"Name\": \"front\"}},
        {\"SubnetId\": \"subnet-0aaaaaaaaaaaaaa21\", \"Account\": \"$SRC\", \"CidrBlock\": \"10.0.2.0/24\", \"AvailabilityZone\": \"us-east-1b\"},
        {\"SubnetId\": \"subnet-0aaaaaaaaaaaaaa31\", \"Account\": \"$SRC\", \"CidrBlock\": \"10.1.0.0/16\", \"VpcId\": \"vpc-0def\", \"AvailabilityZone\": \"us-east-1c\"}]
      | .security_groups = [
        {\"GroupId\": \"sg-0aaaaaaaaaaaaaaa1\", \"GroupName\": \"web\", \"Account\": \"$SRC\",
         \"IpPermissions\": [{\"IpProtocol\": \"tcp\", \"FromPort\": 443, \"ToPort\": 443, \"IpRanges\": [{\"CidrIp\": \"0.0.0.0/0\"}]},
                             {\"IpProtocol\": \"tcp\", \"FromPort\": 22, \"ToPort\": 22, \"UserIdGroupPairs\": [{\"GroupId\": \"sg-0aaaaaaaaaaaaaaa2\"}]}]},
        {\"GroupId\": \"sg-0aaaaaaaaaaaaaaa2\", \"GroupName\": \"bastion\", \"Account\": \"$SRC\"},
        {\"GroupId\": \"sg-0aaaaaaaaaaaaaaa3\", \"GroupName\": \"db\", \"Account\": \"$SRC\", \"VpcId\": \"vpc-0def\"}]"
    EC2_SEED_FILTER=$f
}

inv () { "$orch" inventory "$@" --region us-east-1 2>> "$T/orch.log"; }

# calls ACTION [FROM]: that action's requests since record FROM.
calls () {
    ec2_requests | jq --arg a "$1" --argjson f "${2:-0}" \
        '[.[$f:][] | select(.action == $a)]'
}

case $scenario in
inventory)
    inventory_seed
    EC2_LATENCY=" "
    start_fakes

    # Instances, text: every one in this account and region (the seed's
    # first instance too), in pages of 5: ceil(13/5) = 3 calls, each
    # with MaxResults=5.
    inv instances --page-size 5 > "$T/out" || fail "inventory instances: $(tail -3 "$T/orch.log")"
    head -1 "$T/out" | grep -q '^ID  *NAME  *STATE  *TYPE  *AZ  *CPU  *BOOT  *VOLUMES  *SUBNETS  *SECURITY-GROUPS$' ||
        fail "header: $(head -1 "$T/out")"
    [ "$(tail -n +2 "$T/out" | wc -l)" -eq 13 ] || fail "want 13 rows: $(cat "$T/out")"
    grep -q '^i-00000000000000002  *App-2  *running  *t2.medium  *us-east-1b  *2x1  *legacy-bios  *1  *subnet-0aaaaaaaaaaaaaa31  *sg-0aaaaaaaaaaaaaaa1$' "$T/out" ||
        fail "row of i-...002: $(grep 002 "$T/out")"
    c=$(calls DescribeInstances)
    echo "$c" | jq -e 'length == 3 and all(.[]; .params.MaxResults == "5")' >/dev/null ||
        fail "DescribeInstances calls: $(echo "$c" | jq -c '[.[].params]')"

    # A tag filter, JSON: 7 prod instances (a terminated one included:
    # inventory lists what EC2 lists), 2 pages.
    n0=$(ec2_requests | jq length)
    inv instances --filter tag:env=prod --json --page-size 5 > "$T/out.json" ||
        fail "--filter tag:env=prod"
    jq -e 'length == 7 and ([.[].tags.env] | unique == ["prod"])' "$T/out.json" >/dev/null ||
        fail "tag:env=prod: $(jq -c '[.[].id]' "$T/out.json")"
    jq -e '.[] | select(.id == "i-00000000000000001") | .cpuOptions ==
        {"cores": 1, "threadsPerCore": 2} and .type == "m5.large" and
        .volumes == [{"device": "/dev/xvda", "volumeId": "vol-00000000000000001"}] and
        .networkInterfaces[0].subnetId == "subnet-0aaaaaaaaaaaaaa21" and
        .securityGroups == ["sg-0aaaaaaaaaaaaaaa1"] and .name == "App-1"' \
        "$T/out.json" >/dev/null || fail "i-...001: $(jq -c '.[0]' "$T/out.json")"
    c=$(calls DescribeInstances "$n0")
    echo "$c" | jq -e 'length == 2 and all(.[]; .params["Filter.1.Name"] ==
        "tag:env" and .params["Filter.1.Value.1"] == "prod")' >/dev/null ||
        fail "filtered calls: $(echo "$c" | jq -c '[.[].params]')"

    # The alias "state", and two values: EC2's instance-state-name; the
    # default page size (1000): one call.
    n0=$(ec2_requests | jq length)
    inv instances --filter state=stopped,terminated --json > "$T/out.json" || fail "state="
    jq -e '[.[].id] | sort == ["i-00000000000000003", "i-00000000000000006",
        "i-00000000000000007", "i-00000000000000009", "i-00000000000000012"]' \
        "$T/out.json" >/dev/null || fail "state=stopped,terminated: $(jq -c '[.[].id]' "$T/out.json")"
    calls DescribeInstances "$n0" | jq -e 'length == 1 and .[0].params ==
        {"Filter.1.Name": "instance-state-name", "Filter.1.Value.1": "stopped",
         "Filter.1.Value.2": "terminated", "MaxResults": "1000"}' >/dev/null ||
        fail "state alias: $(calls DescribeInstances "$n0" | jq -c '.[].params')"

    # Volumes: MaxResults cut to DescribeVolumes' 500; a filter.
    n0=$(ec2_requests | jq length)
    inv volumes --filter volume-type=io2 > "$T/out" || fail "volumes"
    # Six of the inventory's and the default instance's vol-...b.
    [ "$(tail -n +2 "$T/out" | wc -l)" -eq 7 ] && ! grep -q gp3 "$T/out" ||
        fail "io2 volumes: $(cat "$T/out")"
    head -1 "$T/out" | grep -q '^ID  *NAME  *STATE  *TYPE  *SIZE-GIB  *IOPS  *AZ  *ENCRYPTED$' ||
        fail "volumes header: $(head -1 "$T/out")"
    calls DescribeVolumes "$n0" | jq -e 'length == 1 and .[0].params.MaxResults == "500"' \
        >/dev/null || fail "DescribeVolumes: $(calls DescribeVolumes "$n0" | jq -c '.[].params')"
    inv volumes --json --page-size 5 > "$T/out.json" || fail "volumes --json"
    jq -e 'length == 14 and (.[] | select(.id == "vol-00000000000000004") |
        .type == "io2" and .sizeGiB == 12 and .state == "in-use")' "$T/out.json" \
        >/dev/null || fail "volumes JSON: $(jq -c '.[] | select(.id == "vol-00000000000000004")' "$T/out.json")"

    # Subnets, text and JSON, a filter.
    inv subnets > "$T/out" || fail "subnets"
    grep -q '^subnet-0aaaaaaaaaaaaaa11  *front  *vpc-0abc  *us-east-1b  *10.0.1.0/24  *available  *251$' "$T/out" ||
        fail "subnets: $(cat "$T/out")"
    inv subnets --filter vpc-id=vpc-0def --json > "$T/out.json" || fail "subnets --json"
    jq -e 'length == 1 and .[0].id == "subnet-0aaaaaaaaaaaaaa31" and
        .[0].cidrBlock == "10.1.0.0/16" and .[0].availabilityZone == "us-east-1c"' \
        "$T/out.json" >/dev/null || fail "subnets JSON: $(cat "$T/out.json")"

    # Security groups: the rules in JSON, counts in the table.
    inv security-groups > "$T/out" || fail "security-groups"
    grep -q '^sg-0aaaaaaaaaaaaaaa1  *web  *vpc-0abc  *2  *1  *web$' "$T/out" ||
        fail "security groups: $(cat "$T/out")"
    inv security-groups --filter group-name=web --json > "$T/out.json" || fail "sg --json"
    jq -e 'length == 1 and .[0].inbound == [
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "peers": [{"cidr": "0.0.0.0/0"}]},
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "peers": [{"securityGroup": "sg-0aaaaaaaaaaaaaaa2"}]}]
        and .[0].outbound == [{"protocol": "-1", "peers": [{"cidr": "0.0.0.0/0"}]}]' \
        "$T/out.json" >/dev/null || fail "security group JSON: $(cat "$T/out.json")"

    # Instance types: MaxResults cut to 100; an EC2 filter.
    n0=$(ec2_requests | jq length)
    inv instance-types --filter vcpu-info.default-threads-per-core=1 > "$T/out" || fail "instance-types"
    [ "$(tail -n +2 "$T/out" | awk '{print $1}' | sort | tr '\n' ' ')" = "t2.large t2.medium " ] ||
        fail "1 thread per core: $(cat "$T/out")"
    grep -q '^t2.medium  *2  *2  *1  *4096  *0$' "$T/out" || fail "t2.medium: $(cat "$T/out")"
    calls DescribeInstanceTypes "$n0" | jq -e 'length == 1 and .[0].params.MaxResults == "100"' \
        >/dev/null || fail "DescribeInstanceTypes: $(calls DescribeInstanceTypes "$n0" | jq -c '.[].params')"
    inv instance-types --json --page-size 5 > "$T/out.json" || fail "instance-types --json"
    jq -e 'length == 9' "$T/out.json" >/dev/null || fail "instance types: $(jq length "$T/out.json")"
    [ "$(calls DescribeInstanceTypes "$n0" | jq length)" -eq 3 ] ||
        fail "9 types in pages of 5 took $(calls DescribeInstanceTypes "$n0" | jq length - 1) calls"

    # Refusals: a filter EC2 does not have (its message), a bad --filter,
    # an unknown kind.
    rc=0; inv instances --filter bogus=1 > /dev/null || rc=$?
    [ $rc -eq 2 ] && grep -q "The filter 'bogus' is invalid" "$T/orch.log" ||
        fail "an unknown filter: exit $rc: $(tail -2 "$T/orch.log")"
    rc=0; inv instances --filter novalue > /dev/null || rc=$?
    [ $rc -eq 2 ] && grep -q "filter 'novalue': want NAME=VALUE" "$T/orch.log" ||
        fail "--filter novalue: exit $rc"
    rc=0; inv things > /dev/null || rc=$?
    [ $rc -eq 2 ] || fail "an unknown kind: exit $rc"
    echo "PASS: inventory: every kind, text and JSON, filters, one call per page"
    ;;
plan-init)
    inventory_seed
    EC2_LATENCY=" "
    start_fakes
    init () { "$orch" plan init --region us-east-1 "$@" 2>> "$T/orch.log"; }

    # By tag: the six prod instances that can be migrated (not the
    # terminated i-...007), named after their Name tags; their volume
    # types; their subnets, the first instance's primary one on the pod
    # network and the other ignored, with a warning naming it.  One
    # DescribeInstances and one DescribeVolumes.
    init --selector tag:env=prod --target-az us-east-1a --namespace vms \
        --name wave-2 --conversion-image registry.example.com/v2v-agent:0.1.0 \
        --output "$T/plan.json" || fail "plan init: $(tail -3 "$T/orch.log")"
    jq -e '.name == "wave-2" and .region == "us-east-1" and
        .targetAZ == "us-east-1a" and .targetNamespace == "vms" and
        .vms == [range(1; 7) | {"id": ("i-00000000000000" + ("00" + tostring)[-3:]),
                               "newName": ("app-" + tostring)}] and
        .storageMap == {"gp3": "gp3", "io2": "io2"} and
        .networkMap == {"subnet-0aaaaaaaaaaaaaa21": {"type": "pod"},
                        "subnet-0aaaaaaaaaaaaaa31": {"type": "ignored"},
                        "subnet-0aaaaaaaaaaaaaa11": {"type": "ignored"}} and
        .conversionImage == "registry.example.com/v2v-agent:0.1.0"' \
        "$T/plan.json" >/dev/null || fail "plan: $(cat "$T/plan.json")"
    grep -q 'subnet-0aaaaaaaaaaaaaa31 (a NIC of i-00000000000000002): mapped to \\"ignored\\"' "$T/orch.log" ||
        fail "no warning for the ignored subnet: $(grep -c ignored "$T/orch.log")"
    ec2_requests | jq -e '[.[] | .action] == ["DescribeInstances", "DescribeVolumes"]
        and .[0].params["Filter.1.Name"] == "instance-state-name" and
        .[0].params["Filter.2.Name"] == "tag:env"' >/dev/null ||
        fail "calls: $(ec2_requests | jq -c '[.[] | {action, params}]')"
    # It loads as migrate loads it: status reads it (and the cluster).
    "$orch" status --plan "$T/plan.json" > "$T/status" 2>> "$T/orch.log" ||
        fail "status --plan of the plan init wrote: $(tail -3 "$T/orch.log")"

    # By ids, with one StorageClass for every type; to stdout.
    init --instance i-00000000000000001,i-00000000000000002 \
        --instance "$INSTANCE" --target-az us-east-1a --storage-class ebs-sc \
        --conversion-image img > "$T/plan2.json" || fail "plan init --instance"
    jq -e --arg i "$INSTANCE" '[.vms[].id] | sort == (["i-00000000000000001",
        "i-00000000000000002", $i] | sort)' "$T/plan2.json" >/dev/null &&
    jq -e '.storageMap == {"gp3": "ebs-sc", "io2": "ebs-sc", "gp2": "ebs-sc"}
        and .targetNamespace == "default"' "$T/plan2.json" >/dev/null ||
        fail "plan by ids: $(cat "$T/plan2.json")"

    # Without a conversion image the plan is written, and the check says
    # what is missing (exit 3).
    rc=0; init --selector tag:env=dev --target-az us-east-1a \
        --output "$T/plan3.json" || rc=$?
    [ $rc -eq 3 ] && [ -s "$T/plan3.json" ] &&
        grep -q 'conversionImage is required' "$T/orch.log" ||
        fail "no conversion image: exit $rc"
    # A terminated instance by id: refused, named (exit 3); a selector
    # that matches nothing (exit 5); no selection (exit 2).
    rc=0; init --instance i-00000000000000007 --target-az us-east-1a \
        --conversion-image img > /dev/null || rc=$?
    [ $rc -eq 3 ] && grep -q 'instance i-00000000000000007 is terminated' "$T/orch.log" ||
        fail "a terminated instance: exit $rc"
    rc=0; init --selector tag:env=none --target-az us-east-1a > /dev/null || rc=$?
    [ $rc -eq 5 ] && grep -q 'the selector matches no instance' "$T/orch.log" ||
        fail "an empty selection: exit $rc"
    rc=0; init --target-az us-east-1a > /dev/null || rc=$?
    [ $rc -eq 2 ] || fail "no selection: exit $rc"
    echo "PASS: plan-init: plans from tags and ids, checked as migrate checks them"
    ;;
*)
    fail "unknown scenario $scenario"
    ;;
esac
