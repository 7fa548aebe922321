#!/bin/bash
# Benchmark: v2v-orchestrator migrating N VMs of D disks each, maxInFlight
# M, against the EC2 emulator (with snapshot, volume and power-state
# latency) and the fake kube-apiserver (whose simulated kubelet completes
# each conversion Job after a delay).
#
#   bench/orch-scale.sh [N [D [M]]]        (default 100 2 10)
#
# Prints the wall time, the orchestrator's peak RSS, the EC2 calls by
# action, per VM, and the non-polling calls per VM against the target of
# 3 + 2*D.  Results are kept in docs/performance.md by hand.  Not a test.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
n=${1:-100} d=${2:-2} m=${3:-10}
snap_latency=${SNAP_LATENCY:-5} vol_latency=${VOL_LATENCY:-2}
export V2V_ORCHESTRATOR=$build/orchestrator/v2v-orchestrator
export SHARED_DATA=${SHARED_DATA:-$top/../shared/data}
. "$top/tests/orchestrator/orch-lib.sh"

# N instances of D gp3 volumes each, in the source account.
$PY - "$n" "$d" "$SRC" > "$T/seed.json" <<'PY'
import json, sys
n, d, acct = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
inst, vols = [], []
for i in range(n):
    iid = "i-%017x" % (0x1000 + i)
    bdm = []
    for j in range(d):
        vid = "vol-%017x" % (0x100000 + i * 64 + j)
        dev = "/dev/xvd" + "abcdefghij"[j]
        bdm.append({"DeviceName": dev, "VolumeId": vid})
        vols.append({"VolumeId": vid, "Account": acct, "Size": 8 + j,
                     "VolumeType": "gp3", "Iops": 3000, "Throughput": 125,
                     "Encrypted": False, "AvailabilityZone": "us-east-1b"})
    inst.append({"InstanceId": iid, "Account": acct,
                 "InstanceType": ["m5.large", "r5.large", "c5.large"][i % 3],
                 "State": "running", "AvailabilityZone": "us-east-1b",
                 "BootMode": "legacy-bios", "RootDeviceName": "/dev/xvda",
                 "NetworkInterfaces": [{"MacAddress": "02:00:00:%02x:%02x:01"
                                        % (i >> 8, i & 255),
                                        "SubnetId": "subnet-0aaaaaaaaaaaaaaa1",
                                        "VpcId": "vpc-0abc",
                                        "PrivateIpAddress": "10.0.%d.%d"
                                        % (i >> 8, i & 255)}],
                 "BlockDeviceMappings": bdm})
json.dump({"instances": inst, "volumes": vols}, sys.stdout)
PY

EC2_SEED=$T/seed.json
EC2_LATENCY="--state-latency 1 --snapshot-latency $snap_latency --volume-latency $vol_latency"
KUBELET_ARGS="--kubelet succeed --kubelet-delay 2"
start_fakes

$PY - "$n" "$m" > "$T/plan.json" <<'PY'
import json, sys
n, m = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps({
    "name": "bench", "region": "us-east-1", "targetAZ": "us-east-1a",
    "targetNamespace": "vms",
    "vms": [{"id": "i-%017x" % (0x1000 + i)} for i in range(n)],
    "storageMap": {"gp3": "ebs-gp3"},
    "networkMap": {"subnet-0aaaaaaaaaaaaaaa1": {"type": "pod"}},
    "conversionImage": "registry.example.com/v2v-agent:0.1.0",
    "maxInFlight": m, "pollIntervalSeconds": 1}))
PY

start=$(date +%s.%N)
/usr/bin/time -v "$orch" migrate --plan "$T/plan.json" \
    2> "$T/orch.log" || { tail -20 "$T/orch.log"; fail "migrate failed"; }
end=$(date +%s.%N)
rss=$(awk '/Maximum resident set size/ {print $NF}' "$T/orch.log")
counts=$(curl -sf "$EC2/_fake/counts")
reqs=$(curl -sf "$EC2/_fake/requests")

echo "## v2v-orchestrator: $n VMs x $d disks, maxInFlight $m"
echo "snapshot latency ${snap_latency} s, volume ${vol_latency} s, power state 1 s, Job 2 s"
printf 'wall time: %.1f s; orchestrator peak RSS: %s KiB\n' \
    "$(echo "$end - $start" | bc)" "$rss"
echo
echo "| action | calls | per VM | polling |"
echo "|---|---:|---:|---|"
echo "$reqs" | jq -r --argjson n "$n" 'group_by(.action)[] |
    "| \(.[0].action) | \(length) | \(length / $n * 100 | round / 100) | \(.[0].polling) |"'
np=$(echo "$reqs" | jq '[.[] | select(.polling != true)] | length')
all=$(echo "$reqs" | jq 'length')
printf '\ntotal %s calls (%.2f per VM); non-polling %s (%.2f per VM, target <= %d)\n' \
    "$all" "$(echo "$all / $n" | bc -l)" "$np" "$(echo "$np / $n" | bc -l)" \
    $((3 + 2 * d))
echo "$counts" | jq -c . >&2
