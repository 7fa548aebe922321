#!/bin/bash
# Benchmark: v2v-orchestrator migrating N VMs of D disks each, maxInFlight
# M, against the EC2 emulator (with snapshot, volume and power-state
# latency) and the fake kube-apiserver (whose simulated kubelet completes
# each conversion Job after a delay).
#
#   bench/orch-scale.sh [N [D [M]]]        (default 100 2 10)
#   bench/orch-scale.sh downtime RATE [N [D [M]]]   (default 10 2 10)
#
# Prints the wall time, the orchestrator's peak RSS, the EC2 calls by
# action, per VM, and the non-polling calls per VM against the target of
# 3 + 2*D (3 + 3*D with preSnapshot, the default; PRESNAPSHOT=false for
# cold migrations).
#
# `downtime RATE`: the same VMs migrated twice, preSnapshot false then
# true, with the emulator's snapshot timing model: the guests write RATE
# MiB/s to each volume while running, a snapshot copies 200 MiB/s, and
# 60 emulated seconds pass each real second (TIME_SCALE).  Prints each
# run's downtime per VM (StopInstances to VirtualMachine created, from
# the plan's records) and the time the VMs spent in the stop, snapshot
# and volumes phases.
#
# Results are kept in docs/performance.md by hand.  Not a test.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
mode=scale
if [ "${1:-}" = downtime ]; then
    mode=downtime rate=${2:?downtime RATE: MiB/s written per volume}
    shift 2
    set -- "${1:-10}" "${2:-2}" "${3:-10}"
fi
n=${1:-100} d=${2:-2} m=${3:-10}
snap_latency=${SNAP_LATENCY:-5} vol_latency=${VOL_LATENCY:-2}
export V2V_ORCHESTRATOR=$build/orchestrator/v2v-orchestrator
export SHARED_DATA=${SHARED_DATA:-$top/../shared/data}
. "$top/tests/orchestrator/orch-lib.sh"

# N instances of D gp3 volumes each, in the source account.
size=8
[ $mode = scale ] || size=100
$PY - "$n" "$d" "$SRC" "$size" > "$T/seed.json" <<'PY'
import json, sys
n, d, acct, size = (int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                    int(sys.argv[4]))
inst, vols = [], []
for i in range(n):
    iid = "i-%017x" % (0x1000 + i)
    bdm = []
    for j in range(d):
        vid = "vol-%017x" % (0x100000 + i * 64 + j)
        dev = "/dev/xvd" + "abcdefghij"[j]
        bdm.append({"DeviceName": dev, "VolumeId": vid})
        vols.append({"VolumeId": vid, "Account": acct, "Size": size + j,
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
if [ $mode = downtime ]; then
    EC2_LATENCY="--state-latency 1 --volume-latency $vol_latency
        --write-rate $rate --snapshot-rate 200 --time-scale ${TIME_SCALE:-60}"
fi
KUBELET_ARGS="--kubelet succeed --kubelet-delay 2"
start_fakes

# write_bench_plan PRESNAPSHOT
write_bench_plan () {
$PY - "$n" "$m" "$1" > "$T/plan.json" <<'PY'
import json, sys
n, m, pre = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "true"
print(json.dumps({
    "preSnapshot": pre,
    "name": "bench", "region": "us-east-1", "targetAZ": "us-east-1a",
    "targetNamespace": "vms",
    "vms": [{"id": "i-%017x" % (0x1000 + i)} for i in range(n)],
    "storageMap": {"gp3": "ebs-gp3"},
    "networkMap": {"subnet-0aaaaaaaaaaaaaaa1": {"type": "pod"}},
    "conversionImage": "registry.example.com/v2v-agent:0.1.0",
    "maxInFlight": m, "pollIntervalSeconds": 1}))
PY
}

if [ $mode = downtime ]; then
    echo "## v2v-orchestrator downtime: $n VMs x $d disks ($size, $((size + 1))... GiB, all used)," \
         "maxInFlight $m; guests write $rate MiB/s a volume, snapshots" \
         "copy 200 MiB/s, ${TIME_SCALE:-60} emulated s a real one"
    echo
    echo "| preSnapshot | wall | downtime mean | downtime max | presnapshot | stop | snapshot | delta copy (model) | volumes | non-polling calls/VM |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for pre in false true; do
        curl -sf -X POST "$EC2/_fake/reset" >/dev/null
        curl -sf -X POST --cacert "$T/certs/ca.crt" "$KUBE/_fake/reset" >/dev/null
        write_bench_plan $pre
        start=$(date +%s.%N)
        "$orch" migrate --plan "$T/plan.json" 2> "$T/orch.log" ||
            { tail -20 "$T/orch.log"; fail "migrate failed"; }
        end=$(date +%s.%N)
        # Downtime per VM, from the plan's records.
        dt=$(kube_kind ConfigMap | jq -r '[.[] | select(.metadata.name ==
            "v2v-plan-bench") | .data[] | fromjson | .downtimeSeconds] |
            "\(add / length * 10 | round / 10) s | \(max * 10 | round / 10) s"')
        # Mean time in a phase, from "ID: PHASE done in S s".
        ph () {
            awk -v p="$1" '$0 ~ ": " p " done in" {
                for (i = 1; i <= NF; i++) if ($i == "in") { s += $(i+1); c++ } }
                END { printf "%.1f s", c ? s / c : 0 }' "$T/orch.log"
        }
        np=$(curl -sf "$EC2/_fake/requests" | jq '[.[] |
            select(.polling != true)] | length')
        # What the final snapshots copy, by the model: RATE MiB/s written
        # while the pre-copy ran and until the stop, at 200 MiB/s (the
        # whole volume without pre-copy).
        delta=$(awk -v r="$rate" -v p="$(ph presnapshot)" -v s="$(ph stop)" \
            -v pre=$pre -v g="$size" -v x="${TIME_SCALE:-60}" 'BEGIN {
            printf "%.1f s", pre == "true" ? r * (p + s) / 200 :
                g * 1024 / 200 / x }')
        printf '| %s | %.1f s | %s | %s | %s | %s | %s | %s | %.2f |\n' \
            "$pre" "$(echo "$end - $start" | bc)" "$dt" "$(ph presnapshot)" \
            "$(ph stop)" "$(ph snapshot)" "$delta" "$(ph volumes)" \
            "$(echo "$np / $n" | bc -l)"
    done
    exit 0
fi

write_bench_plan "${PRESNAPSHOT:-true}"
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
target=$((3 + 2 * d))
[ "${PRESNAPSHOT:-true}" = false ] || target=$((target + 1 + d))
printf '\ntotal %s calls (%.2f per VM); non-polling %s (%.2f per VM, target <= %d)\n' \
    "$all" "$(echo "$all / $n" | bc -l)" "$np" "$(echo "$np / $n" | bc -l)" \
    "$target"
echo "$counts" | jq -c . >&2
