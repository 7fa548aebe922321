#!/bin/bash
# The promise of the project, end to end, on a real EC2-layout guest:
#   convert-boots.sh VARIANT FIRMWARE FIXTURE.img
#
#  1. v2v-agent convert on a copy of the fixture succeeds, and its report
#     records the expected changes with checksums and backups;
#  2. the converted guest boots HEALTHY on KubeVirt-style virtio devices,
#     as v2v-agent verify judges it from the health probe the conversion
#     installed (an address and a default route, cloud-init done on
#     NoCloud, no failed units, every fstab mount, root rw on the virtio
#     disk, the SSM agent masked) and keeps its EC2 identity: cloud-init
#     did not regenerate the SSH host keys;
#  3. a second convert says "already converted" and writes nothing.
# (unconverted-fails.sh proves the same fixture does not boot as built.)
#
# The layouts of the fleet ride along (build-guest.sh):
#   xen    root and swap on LVM, /boot on xvda1, its data volume (/dev/xvdf)
#          attached second and instance store (/dev/xvdb) in the map:
#          boots with /boot, /data and the scratch disk on /mnt mounted,
#          and swap on.
set -euo pipefail
variant=$1 firmware=$2 fixture=$3
TEST_CASE=$variant
here=$(cd "$(dirname "$0")" && pwd)
: "${V2V_AGENT:?}"
. "$here/../fixtures/lib.sh"
. "$here/../lib/functions.sh"
guestfs_env
work=$(dirname "$fixture")/work-$variant
rm -rf "$work"
mkdir -p "$work"
img=$work/$variant.img
cp --sparse=always "$fixture" "$img"
disks=("$img")
map=() boot=() rootfs=/dev/sda1 root_source=/dev/vda1
case $variant in
xen)
    disks+=("$work/$variant-data.img")
    map=(--disk-name 1=/dev/xvdf --disk-name 2=ephemeral0,/dev/xvdb)
    boot=(--scratch 1G)
    rootfs=/dev/vg0/root root_source=/dev/mapper/vg0-root ;;
esac
[ ${#disks[@]} -eq 1 ] ||
    cp --sparse=always "${fixture%.img}-data.img" "$work/$variant-data.img"
hostkey=$(guestfish --ro -a "$img" -m "$rootfs" \
              download /etc/ssh/ssh_host_ed25519_key.pub - |
              sha256sum | cut -d' ' -f1)

jq_report () { jq -r "$1" "$work/report.json"; }

echo "== convert $variant"
timeout 900 "$V2V_AGENT" convert --report "$work/report.json" \
    --overlay-dir "$work/overlay" "${map[@]}" "${disks[@]}" ||
    fail "convert exited $?"
validate_report "$work/report.json"

[ "$(jq_report .status)" = converted ] || fail "status $(jq_report .status)"
[ "$(jq_report .kubevirt_hints.firmware)" = "$firmware" ] ||
    fail "firmware hint $(jq_report .kubevirt_hints.firmware), want $firmware"
# uuid's fstab is by LABEL= already: nothing to change there.
fstab=/etc/fstab
[ "$variant" = uuid ] && fstab=
for path in $fstab /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg \
            /etc/systemd/system/amazon-ssm-agent.service \
            /etc/chrony/chrony.conf /etc/initramfs-tools/modules \
            /usr/local/sbin/v2v-kubevirt-health \
            /etc/systemd/system/v2v-kubevirt-health.service \
            /etc/systemd/system/multi-user.target.wants/v2v-kubevirt-health.service \
            /var/lib/v2v-kubevirt/converted.json; do
    jq -e --arg p "$path" '.changes | any(.path == $p)' "$work/report.json" \
        >/dev/null || fail "report has no change to $path"
done
# Every edit of an existing file is backed up and checksummed both ways.
jq -e '[.changes[] | select(.action == "edit")] |
       all(.backup and (.sha256_before | length == 64) and
           (.sha256_after | length == 64) and .sha256_before != .sha256_after)' \
    "$work/report.json" >/dev/null || fail "an edit lacks backup or checksums"
jq -e '.steps | any(.step == "initramfs" and .result == "applied")' \
    "$work/report.json" >/dev/null || fail "initramfs was not rebuilt"
if [ "$variant" = uuid ]; then
    jq -e '.steps | any(.step == "fstab" and .result == "skipped")' \
        "$work/report.json" >/dev/null || fail "fstab by LABEL= was changed"
fi
# What each layout's fstab became, read back from the converted disk.
fstab_of () {
    guestfish --ro $(printf -- '-a %s ' "${disks[@]}") -m "$rootfs" \
        cat /etc/fstab
}
case $variant in
xen)
    fstab_of > "$work/fstab"
    grep -q '^UUID=.* /data ' "$work/fstab" && grep -q '^UUID=.* /boot ' "$work/fstab" &&
    grep -q '^/dev/disk/by-id/virtio-ephemeral0 .* defaults,nofail,x-systemd.makefs ' \
        "$work/fstab" && grep -q '^/dev/mapper/vg0-root ' "$work/fstab" ||
        fail "xen fstab: $(cat "$work/fstab")" ;;
esac

echo "== boot $variant on virtio"
set +e
verdict=$("$V2V_AGENT" verify --report "$work/report.json" --timeout 420 \
              --log "$work/serial.log" --json "${boot[@]}" "${disks[@]}")
rc=$?
set -e
echo "$verdict"
[ "$rc" -eq 0 ] || fail "not healthy after conversion, verify exit $rc (serial log: $work/serial.log)"
health () { echo "$verdict" | jq -e "$@" >/dev/null; }
health '.probe == "carried"' || fail "verify did not use the converted guest's own probe"
health --arg r "$root_source" '.health.root == {"source": $r, "mode": "rw"}' ||
    fail "root is not read-write on the virtio disk ($root_source)"
health --arg k "$hostkey" '.health.ssh_host_key == $k' ||
    fail "SSH host keys changed: cloud-init saw a new instance"
health '.health.nics | length == 1 and all(.ipv4 == ["10.0.2.15"])' ||
    fail "the NIC has not its address"
# qemu's user networking with restrict=on offers no router by DHCP: the
# default route is IPv6's, from its router advertisement.
health '.health.default_route.ipv6.dev as $d
        | .health.default_route.ipv4 == null and .health.default_route.ipv6.via == "fe80::2"
          and any(.health.nics[]; .name == $d)' ||
    fail "no default route through the NIC"
health '.health.cloud_init == {"status": "done", "datasource": "DataSourceNoCloud"}' ||
    fail "cloud-init did not finish on NoCloud"
health '.health.failed_units == [] and .health.system == "running"' ||
    fail "failed units"
health '.health.aws_agents["amazon-ssm-agent.service"] == "masked"' ||
    fail "the SSM agent is not masked"
# Every fstab mount is mounted.
case $variant in
nitro) want='{"/": "mounted", "/boot/efi": "mounted"}'
       swap='[]' ;;
xen)   want='{"/": "mounted", "/boot": "mounted", "/data": "mounted", "/mnt": "mounted"}'
       swap='[{"spec": "/dev/mapper/vg0-swap", "state": "active"}]' ;;
uuid)  want='{"/": "mounted"}'
       swap='[]' ;;
esac
health --argjson w "$want" '[.health.mounts[] | {(.target): .state}] | add == $w' ||
    fail "fstab mounts $(echo "$verdict" | jq -c '.health.mounts'), want $want"
health --argjson s "$swap" '.health.swap == $s' ||
    fail "swap $(echo "$verdict" | jq -c '.health.swap'), want $swap"

echo "== second run changes nothing"
before=$(cat "${disks[@]}" | sha256sum)
timeout 900 "$V2V_AGENT" convert --report "$work/report2.json" \
    --overlay-dir "$work/overlay" "${map[@]}" "${disks[@]}" ||
    fail "second convert exited $?"
validate_report "$work/report2.json"
[ "$(jq -r .status "$work/report2.json")" = already-converted ] ||
    fail "second run status $(jq -r .status "$work/report2.json")"
[ "$(cat "${disks[@]}" | sha256sum)" = "$before" ] || fail "second run changed the disks"

echo "PASS: $variant converts, boots healthy, and converts only once"
rm -f "${disks[@]}"
