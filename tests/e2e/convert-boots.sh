#!/bin/bash
# The promise of the project, end to end, on a real EC2-layout guest:
#   convert-boots.sh VARIANT FIRMWARE FIXTURE.img
#
#  1. v2v-agent convert on a copy of the fixture succeeds, and its report
#     records the expected changes with checksums and backups;
#  2. the converted guest boots HEALTHY on KubeVirt-style virtio devices
#     (IPv4, cloud-init done, no failed units, SSM agent off, root rw)
#     and keeps its EC2 identity: cloud-init did not regenerate the SSH
#     host keys;
#  3. a second convert says "already converted" and writes nothing.
# (unconverted-fails.sh proves the same fixture does not boot as built.)
#
# The layouts of the fleet ride along (build-guest.sh):
#   nitro  its data volume (by-id, by volume id) attached second, and two
#          NICs that keep their MACs: converted with the device map
#          (--disk-name, --nic); boots with /data mounted and an IPv4 on
#          ens5 and on ens6;
#   xen    root and swap on LVM, /boot on xvda1, its data volume (/dev/xvdf)
#          attached second and instance store (/dev/xvdb) in the map:
#          boots with /boot, /data and the scratch disk on /mnt mounted,
#          and swap on;
#   uuid   its /srv volume (/dev/xvdg) is not attached and no map names
#          it: the report warns, the entry gets nofail, and the guest
#          boots healthy without it.
set -euo pipefail
variant=$1 firmware=$2 fixture=$3
here=$(cd "$(dirname "$0")" && pwd)
: "${V2V_AGENT:?}"
. "$here/../fixtures/lib.sh"
guestfs_env
work=$(dirname "$fixture")/work-$variant
rm -rf "$work"
mkdir -p "$work"
img=$work/$variant.img
cp --sparse=always "$fixture" "$img"
disks=("$img")
map=() boot=() rootfs=/dev/sda1 root_source=/dev/vda1
case $variant in
nitro)
    disks+=("$work/$variant-data.img")
    map=(--disk-name "1=$NITRO_DATA_VOLUME" --nic "0=$NITRO_MAC0"
         --nic "1=$NITRO_MAC1")
    boot=(--nic-mac "$NITRO_MAC0" --nic-mac "$NITRO_MAC1") ;;
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

fail () { echo "FAIL ($variant): $*"; exit 1; }
jq_report () { jq -r "$1" "$work/report.json"; }

echo "== convert $variant"
timeout 900 "$V2V_AGENT" convert --report "$work/report.json" \
    --overlay-dir "$work/overlay" "${map[@]}" "${disks[@]}" ||
    fail "convert exited $?"

[ "$(jq_report .status)" = converted ] || fail "status $(jq_report .status)"
[ "$(jq_report .kubevirt_hints.firmware)" = "$firmware" ] ||
    fail "firmware hint $(jq_report .kubevirt_hints.firmware), want $firmware"
for path in /etc/fstab /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg \
            /etc/systemd/system/amazon-ssm-agent.service \
            /etc/chrony/chrony.conf /etc/initramfs-tools/modules \
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
# What each layout's fstab became, read back from the converted disk.
fstab_of () {
    guestfish --ro $(printf -- '-a %s ' "${disks[@]}") -m "$rootfs" \
        cat /etc/fstab
}
case $variant in
uuid)
    # The LABEL= root is left as it was; the unattached /srv only gets
    # nofail and a short timeout, and the report says why.
    fstab_of > "$work/fstab"
    grep -qx 'LABEL=cloudimg-rootfs  /     ext4  defaults,discard  0 1' \
        "$work/fstab" || fail "the LABEL= root entry changed: $(cat "$work/fstab")"
    grep -qx '/dev/xvdg              /srv  ext4  defaults,nofail,x-systemd.device-timeout=10s          0 2' \
        "$work/fstab" || fail "/srv did not get nofail: $(cat "$work/fstab")"
    jq -e '.warnings | any(startswith("/etc/fstab: /dev/xvdg (/srv) is on no disk being converted"))' \
        "$work/report.json" >/dev/null || fail "no warning names /dev/xvdg" ;;
xen)
    fstab_of > "$work/fstab"
    grep -q '^UUID=.* /data ' "$work/fstab" && grep -q '^UUID=.* /boot ' "$work/fstab" &&
    grep -q '^/dev/disk/by-id/virtio-ephemeral0 .*nofail,x-systemd.device-timeout=10s,x-systemd.makefs' \
        "$work/fstab" && grep -q '^/dev/mapper/vg0-root ' "$work/fstab" ||
        fail "xen fstab: $(cat "$work/fstab")" ;;
nitro)
    fstab_of > "$work/fstab"
    grep -q '^UUID=.* /data ' "$work/fstab" || fail "nitro fstab: $(cat "$work/fstab")"
    jq -e '[.changes[] | select(.path | startswith("/etc/systemd/network/10-v2v-kubevirt-"))
            | .path] == ["/etc/systemd/network/10-v2v-kubevirt-ens5.link",
                         "/etc/systemd/network/10-v2v-kubevirt-ens6.link"]' \
        "$work/report.json" >/dev/null || fail "not one .link per NIC" ;;
esac

echo "== boot $variant on virtio"
set +e
verdict=$("$here/../fixtures/bootcheck.py" --firmware "$firmware" \
              --timeout 420 --log "$work/serial.log" "${boot[@]}" "${disks[@]}")
rc=$?
set -e
echo "$verdict"
[ "$rc" -eq 0 ] || fail "not healthy after conversion (serial log: $work/serial.log)"
echo "$verdict" | jq -e --arg r "$root_source" '.health.root_source == $r' \
    >/dev/null || fail "root is not on the virtio disk ($root_source)"
# Every NIC has an IPv4 address; each mount the layout has is there.
health () { echo "$verdict" | jq -e ".health | $1" >/dev/null || fail "health: $2"; }
health '.nics | length > 0 and all(.ipv4 | length > 0)' "a NIC without IPv4"
mounted () { health "any(.mounts[]; .target == \"$1\" and .state == \"$2\")" "$1 not $2"; }
case $variant in
nitro)
    health '[.nics[] | .name] | sort == ["ens5", "ens6"]' "NICs are not ens5 and ens6"
    health "[.nics[] | .mac] | sort == [\"$NITRO_MAC0\", \"$NITRO_MAC1\"]" "NICs lost their MACs"
    mounted /data mounted
    mounted /boot/efi mounted ;;
xen)
    mounted /boot mounted
    mounted /data mounted
    mounted /mnt mounted
    health 'any(.swap[]; .spec == "/dev/mapper/vg0-swap" and .state == "active")' "swap is not on" ;;
uuid)
    mounted /srv missing ;;
esac
echo "$verdict" | jq -e --arg k "$hostkey" '.health.ssh_host_key == $k' \
    >/dev/null || fail "SSH host keys changed: cloud-init saw a new instance"

echo "== second run changes nothing"
before=$(cat "${disks[@]}" | sha256sum)
timeout 900 "$V2V_AGENT" convert --report "$work/report2.json" \
    --overlay-dir "$work/overlay" "${map[@]}" "${disks[@]}" ||
    fail "second convert exited $?"
[ "$(jq -r .status "$work/report2.json")" = already-converted ] ||
    fail "second run status $(jq -r .status "$work/report2.json")"
[ "$(cat "${disks[@]}" | sha256sum)" = "$before" ] || fail "second run changed the disks"

echo "PASS: $variant converts, boots healthy, and converts only once"
rm -f "${disks[@]}"
