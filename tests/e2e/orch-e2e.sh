#!/bin/bash
# The whole pipeline for real, as far as this machine allows: the EC2
# emulator holds a 3-disk instance whose root volume is the xen fixture
# (a real Debian guest laid out like an EC2 AMI); v2v-orchestrator
# snapshots it, makes new volumes (file copies), binds them, and the fake
# kube-apiserver's simulated kubelet runs the real "v2v-agent run" on
# them as /dev/block0..2; then the VirtualMachine is made from the
# agent's own hints.
#
#   orch-e2e.sh FIXTURE.img
set -euo pipefail
fixture=$1
here=$(cd "$(dirname "$0")" && pwd)
: "${V2V_AGENT:?}"
agent_dir=$(dirname "$V2V_AGENT")
. "$here/../orchestrator/orch-lib.sh"

mkdir -p "$T/vols" "$T/kubelet"
truncate -s 1G "$T/data-b.img" "$T/data-c.img"
export ROOT_FILE=$fixture DATA_FILE_B=$T/data-b.img DATA_FILE_C=$T/data-c.img
export BOOT_MODE=legacy-bios ROOT_SIZE=$(( ($(stat -c %s "$fixture") + (1<<30) - 1) >> 30 ))
sum_fixture=$(sha256sum < "$fixture")
KUBELET_ARGS="--kubelet exec --kubelet-bin-dir $agent_dir --volume-dir $T/vols --kubelet-log-dir $T/kubelet"
start_fakes --backing-dir "$T/vols"
write_plan '.jobTimeoutSeconds = 900 | .pollIntervalSeconds = 1'

rc=0
timeout 1200 "$orch" migrate --plan "$PLAN" 2> "$T/orch.log" || rc=$?
if [ $rc -ne 0 ]; then
    tail -30 "$T/orch.log" >&2
    tail -30 "$T"/kubelet/*.log >&2 || true
    fail "migrate exited $rc"
fi
check_migrated "$SRC" bios

# The agent really converted the new root volume, and told the cluster.
root_vol=$(ec2_state | jq -r '.volumes[] | select(.tags["v2v-kubevirt/source-volume"]
    == "vol-0000000000000000a") | .VolumeId')
[ -f "$T/vols/$root_vol.img" ] || fail "no file behind $root_vol"
[ "$(sha256sum < "$T/vols/$root_vol.img")" != "$sum_fixture" ] ||
    fail "the new root volume was not converted"
[ "$(sha256sum < "$fixture")" = "$sum_fixture" ] || fail "the fixture changed"
reqs=$(curl -sf --cacert "$T/certs/ca.crt" "$KUBE/_fake/requests")
for r in Inspecting Converting Committing Converted; do
    echo "$reqs" | jq -e --arg r "$r" 'any(.[]; .method == "POST" and
        (.path | endswith("/events")) and .body.reason == $r and
        .status == 201)' >/dev/null || fail "the agent posted no $r Event"
done
grep -q '"phase":"commit"' "$T"/kubelet/*.log || fail "the agent log shows no commit"
echo "PASS: orch-e2e: EC2 instance to KubeVirt VM with a real conversion"
