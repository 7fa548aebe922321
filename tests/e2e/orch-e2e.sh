#!/bin/bash
# The whole pipeline for real, as far as this machine allows: the EC2
# emulator holds a 3-disk instance whose root volume is the xen fixture
# (a real Debian guest laid out like an EC2 AMI) and whose /dev/xvdf is
# the fixture's data volume (FIXTURE-data.img; a blank /dev/xvdg rides
# along), on an instance type with one instance-store volume that its AMI
# maps as /dev/sdb (the fixture's fstab has /dev/xvdb on /mnt);
# v2v-orchestrator snapshots it, makes new volumes (file copies), binds
# them, and the fake kube-apiserver's simulated kubelet runs the real
# "v2v-agent run" on them as /dev/block0..2 with the Job's device map;
# then the VirtualMachine is made from the agent's own hints, with both
# NICs in device-index order and a scratch disk for the instance store.
#
#   orch-e2e.sh FIXTURE.img
set -euo pipefail
fixture=$1
here=$(cd "$(dirname "$0")" && pwd)
: "${V2V_AGENT:?}"
agent_dir=$(dirname "$V2V_AGENT")
. "$here/../orchestrator/orch-lib.sh"

mkdir -p "$T/vols" "$T/kubelet"
truncate -s 1G "$T/data-b.img"
cp --sparse=always "${fixture%.img}-data.img" "$T/data-c.img"
export ROOT_FILE=$fixture DATA_FILE_B=$T/data-b.img DATA_FILE_C=$T/data-c.img
# vol-…c is /dev/xvdf (the fixture's /data); vol-…b, blank, moves from
# /dev/xvdb (instance store in the guest) to /dev/xvdg; ENIs listed 1, 0.
EC2_SEED_FILTER='.instances[0].InstanceType = "m5d.large" |
    .instances[0].BlockDeviceMappings[2].DeviceName = "/dev/xvdg" |
    .instances[0].InstanceStore = [{"DeviceName": "/dev/sdb",
                                    "VirtualName": "ephemeral0"}] |
    .instances[0].NetworkInterfaces |= [.[1] + {"DeviceIndex": 1},
                                        .[0] + {"DeviceIndex": 0}]'
export EC2_SEED_FILTER
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

# The device map the Job gave the agent, and what the agent made of it:
# /data placed on disk 1 (no warning names /dev/xvdf), /dev/xvdb on the
# scratch disk.
job=$(echo "$reqs" | jq '[.[] | select(.method == "POST" and (.path | endswith("/jobs")))][0].body')
map=$(echo "$job" | jq -r '.spec.template.spec.containers[0].env[] |
                           select(.name == "V2V_DEVICE_MAP") | .value')
[ "$map" = 'disk 0=/dev/xvda,vol-0000000000000000a
disk 1=/dev/xvdf,vol-0000000000000000c
disk 2=/dev/xvdg,vol-0000000000000000b
disk 3=ephemeral0,/dev/sdb
nic 0=02:00:00:00:00:01
nic 1=02:00:00:00:00:02' ] || fail "V2V_DEVICE_MAP: $map"
echo "$job" | jq -e '.spec.template.spec.containers[0].args | index("--network=dhcp")' \
    >/dev/null || fail "no --network=dhcp for the pod network"
grep -q '/etc/fstab: /dev/xvdb (/mnt) is instance store ephemeral0' "$T"/kubelet/*.log ||
    fail "the agent did not place /dev/xvdb on the scratch disk"
! grep -q '/etc/fstab: /dev/xvdf' "$T"/kubelet/*.log ||
    fail "the agent did not place /dev/xvdf: $(grep -h '/dev/xvdf' "$T"/kubelet/*.log)"
vm=$(kube_kind VirtualMachine | jq '.[0].spec.template.spec')
echo "$vm" | jq -e '
    ([.domain.devices.disks[] | [.name, .serial]] ==
      [["disk0", null], ["disk1", null], ["disk2", null],
       ["scratch0", "ephemeral0"], ["cloudinit", null]]) and
    ([.volumes[] | select(.emptyDisk) | .emptyDisk.capacity] == ["75G"]) and
    ([.domain.devices.interfaces[].macAddress] ==
      ["02:00:00:00:00:01", "02:00:00:00:00:02"])' >/dev/null ||
    fail "VM devices: $(echo "$vm" | jq -c '{d: .domain.devices, v: [.volumes[] | del(.cloudInitNoCloud)]}')"
echo "PASS: orch-e2e: EC2 instance to KubeVirt VM with a real conversion"
