#!/bin/bash
# The main job, end to end, on a built-in demo disk:
#   1. install dependencies and build;
#   2. build a real Debian 12 disk laid out like an EC2 Nitro AMI (GPT +
#      UEFI, root on /dev/nvme0n1p1, ifupdown on ens5, cloud-init on the
#      Ec2 datasource, an SSM agent, an initramfs with only nvme + ena);
#   3. boot it as KubeVirt would (q35, virtio) and show that it fails;
#   4. convert it in place with v2v-agent convert;
#   5. boot it again and print the change report and the health verdict.
#
# Everything lands in build/demo/.  Set DEMO_VARIANT=xen or uuid for the
# other layouts.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
variant=${DEMO_VARIANT:-nitro}
case "$variant" in nitro) fw=efi ;; xen|uuid) fw=bios ;;
    *) echo "demo.sh: DEMO_VARIANT must be nitro, xen or uuid" >&2; exit 2 ;;
esac

step () { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. dependencies and build"
scripts/deps.sh
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
export V2V_AGENT=$top/build/agent/v2v-agent
V2V_ACCEL=$("$V2V_AGENT" accel --verbose)
export V2V_ACCEL
echo "accelerator: $V2V_ACCEL"

step "2. demo guest ($variant layout, like an EC2 AMI)"
mkdir -p build/demo
tests/fixtures/fixture-guest.sh "$variant" "build/demo/$variant.img"
cp --sparse=always "build/demo/$variant.img" build/demo/converted.img
# The instance's data volume and instance store, as the orchestrator
# would attach them and name them to the agent (docs/standalone.md).
disks=(build/demo/converted.img) map=() vm=()
case $variant in
xen)
    cp --sparse=always "build/demo/$variant-data.img" build/demo/data.img
    disks+=(build/demo/data.img)
    map=(--disk-name 1=/dev/xvdf --disk-name 2=ephemeral0,/dev/xvdb)
    vm=(--scratch 1G) ;;
esac

step "3. boot the unconverted disk on virtio (expected to fail)"
# v2v-agent verify boots it on a throwaway overlay, with its health probe
# injected there; the disk itself is not written.
"$V2V_AGENT" verify --firmware "$fw" --timeout 400 \
    --log build/demo/unconverted-serial.log build/demo/converted.img || true

step "4. v2v-agent convert"
start=$(date +%s)
"$V2V_AGENT" convert --report build/demo/report.json \
    --overlay-dir build/demo/overlay "${map[@]}" "${disks[@]}"
echo "conversion took $(( $(date +%s) - start )) s; report: build/demo/report.json"

step "5. boot the converted disk on virtio"
set +e
"$V2V_AGENT" verify --report build/demo/report.json --timeout 420 --json \
    --log build/demo/converted-serial.log "${vm[@]}" "${disks[@]}" |
    tee build/demo/verdict.json | jq '{verdict, reason, seconds, health}'
rc=${PIPESTATUS[0]}
set -e
echo
echo "changes: $(jq '.changes | length' build/demo/report.json), warnings:"\
     "$(jq '.warnings | length' build/demo/report.json);" \
     "verdict: $(jq -r .verdict build/demo/verdict.json)"
exit "$rc"
