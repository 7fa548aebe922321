#!/bin/bash
# The whole pipeline for real, as far as this machine allows: the EC2
# emulator holds a 3-disk instance whose root volume is the xen fixture
# (a real Debian guest laid out like an EC2 AMI); v2v-orchestrator
# snapshots it, makes new volumes (file copies), binds them, and the fake
# kube-apiserver's simulated kubelet runs the real "v2v-agent run" on
# them as /dev/block0..2; then the VirtualMachine is made from the
# agent's own hints, and the simulated virt-launcher boots it from its
# spec under qemu (TCG): the health gate reads the guest's probe from
# the serial console.
#
#   orch-e2e.sh FIXTURE.img            healthy: Succeeded, with a downtime
#   orch-e2e.sh FIXTURE.img rollback   a copy of the fixture carries a unit
#                                      that fails off EC2: rolled back
set -euo pipefail
fixture=$1 mode=${2:-healthy}
TEST_CASE=$mode
here=$(cd "$(dirname "$0")" && pwd)
: "${V2V_AGENT:?}"
agent_dir=$(dirname "$V2V_AGENT")
. "$here/../orchestrator/orch-lib.sh"
. "$here/../fixtures/lib.sh"

mkdir -p "$T/vols" "$T/kubelet"
truncate -s 1G "$T/data-b.img" "$T/data-c.img"
sum_fixture=$(sha256sum < "$fixture")
if [ "$mode" = rollback ]; then
    # Not a new fixture: the xen one, with a unit that needs EC2 (it
    # fails where the DMI vendor is not Amazon's), enabled as a package
    # would enable it.
    guestfs_env
    cp --sparse=always "$fixture" "$T/source.img"
    guestfish --rw -a "$T/source.img" -i <<'GUESTFISH'
write /etc/systemd/system/aws-only.service "[Unit]\nDescription=Needs EC2 (test unit)\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'grep -q Amazon /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/bios_vendor'\n\n[Install]\nWantedBy=multi-user.target\n"
mkdir-p /etc/systemd/system/multi-user.target.wants
ln-sf /etc/systemd/system/aws-only.service /etc/systemd/system/multi-user.target.wants/aws-only.service
GUESTFISH
    fixture=$T/source.img
fi
export ROOT_FILE=$fixture DATA_FILE_B=$T/data-b.img DATA_FILE_C=$T/data-c.img
export BOOT_MODE=legacy-bios ROOT_SIZE=$(( ($(stat -c %s "$fixture") + (1<<30) - 1) >> 30 ))
KUBELET_ARGS="--kubelet exec --kubelet-bin-dir $agent_dir --volume-dir $T/vols --kubelet-log-dir $T/kubelet --virt-launcher qemu"
start_fakes --backing-dir "$T/vols"
write_plan '.jobTimeoutSeconds = 900 | .pollIntervalSeconds = 1 |
    .verifyTimeoutSeconds = 600'

rc=0
start=$(date +%s)
timeout 1800 "$orch" migrate --plan "$PLAN" 2> "$T/orch.log" || rc=$?
echo "migrate: $(( $(date +%s) - start )) s (conversion and a TCG boot)"
want_rc=0; [ "$mode" != rollback ] || want_rc=1
if [ $rc -ne $want_rc ]; then
    tail -30 "$T/orch.log" >&2
    tail -30 "$T"/kubelet/*.log >&2 || true
    fail "migrate exited $rc, want $want_rc"
fi
rec=$(record)
vm=$(kube_kind VirtualMachine)
if [ "$mode" = rollback ]; then
    echo "$rec" | jq -e '.outcome == "RolledBack" and .verdict == "unhealthy"
        and (.problems | contains("aws-only.service"))' >/dev/null ||
        fail "record: $rec"
    "$orch" status --plan "$PLAN" > "$T/status" 2>>"$T/orch.log"
    grep -q "$INSTANCE.*RolledBack.*aws-only.service" "$T/status" ||
        fail "status: $(cat "$T/status")"
    echo "$vm" | jq -e '.[0].spec.runStrategy == "Halted"' >/dev/null ||
        fail "the VM is not halted"
    ec2_requests | jq -e '[.[] | select(.status == 200 and (.action ==
        "StopInstances" or .action == "StartInstances")) | .action] ==
        ["StopInstances", "StartInstances"]' >/dev/null ||
        fail "EC2: $(ec2_requests | jq -c '[.[] | .action]')"
    wait_source_running
    echo "PASS: orch-e2e rollback: the guest booted unhealthy (aws-only.service), VM halted, source running"
    exit 0
fi
check_migrated "$SRC" bios
# Booted from its rendered spec and verified healthy by its own probe.
echo "$rec" | jq -e '.outcome == "Succeeded" and .verdict == "healthy" and
    .downtimeSeconds > 0' >/dev/null || fail "record: $rec"
echo "downtime: $(echo "$rec" | jq .downtimeSeconds) s"

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
