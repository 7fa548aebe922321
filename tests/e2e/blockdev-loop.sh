#!/bin/bash
# v2v-agent devices on loop devices behind a directory of blockN
# symlinks: MBR, GPT+ESP, LVM, LUKS, blank, random bytes, truncated GPT.
# This kernel makes no partition devices for loops (losetup -P), which
# does not matter: libblkid reads the partition tables itself.
source "$(dirname "$0")/blockdev-lib.sh"
requires pvcreate vgcreate vgremove pvremove cryptsetup

make_mbr "$T/mbr.img"
make_gpt_esp "$T/gpt.img"

truncate -s 32M "$T/lvm.img"
truncate -s 32M "$T/luks.img"
printf 'secret' > "$T/key"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 \
    --pbkdf-force-iterations 1000 --key-file "$T/key" "$T/luks.img"
truncate -s 16M "$T/blank.img"
head -c 16M /dev/urandom > "$T/random.img"
cp "$T/gpt.img" "$T/truncated.img"
truncate -s 8M "$T/truncated.img"

i=0
for name in mbr gpt lvm luks blank random truncated; do
    attach "dev_$name" "$T/$name.img"
    dev_var=dev_$name
    ln -s "${!dev_var}" "$D/block$i"
    i=$((i + 1))
done

# A volume group on the whole LVM disk, as on a guest's second disk.
vg=v2vtest$$
pvcreate -q "$dev_lvm"
vgcreate -q "$vg" "$dev_lvm"
on_exit "vgremove -q -f $vg >/dev/null 2>&1; pvremove -q $dev_lvm >/dev/null 2>&1"

json=$("$V2V_AGENT" devices --json --device-dir "$D")
jq_is "$json" 'length' 7
jq_is "$json" '[.[].index] | join(",")' 0,1,2,3,4,5,6
jq_is "$json" '.[0].path' "$D/block0"
jq_is "$json" '[.[].logical_sector] | unique | join(",")' 512

# MBR: active ext4 partition, swap partition.
jq_is "$json" '.[0].pttype' dos
jq_is "$json" '.[0].size' 67108864
jq_is "$json" '.[0].partitions | length' 2
jq_is "$json" '.[0].partitions[0].fstype' ext4
jq_is "$json" '.[0].partitions[0].bootable' true
jq_is "$json" '.[0].partitions[0].start' 1048576
jq_is "$json" '.[0].partitions[1].type' 0x82
jq_is "$json" '.[0].class' bootable-candidate
jq_is "$json" '.[0].reason' 'active partition 1'

# GPT with an ESP.
jq_is "$json" '.[1].pttype' gpt
jq_is "$json" '.[1].partitions[0].type' c12a7328-f81f-11d2-ba4b-00a0c93ec93b
jq_is "$json" '.[1].partitions[0].esp' true
jq_is "$json" '.[1].partitions[0].fstype' vfat
jq_is "$json" '.[1].partitions[0].label' EFI
jq_is "$json" '.[1].partitions[1].fstype' ext4
jq_is "$json" '.[1].partitions[1].label' root
jq_is "$json" '.[1].partitions[1].partuuid | length' 36
jq_is "$json" '.[1].class' bootable-candidate
jq_is "$json" '.[1].reason' 'ESP on partition 1'

# LVM physical volume on the whole disk.
jq_is "$json" '.[2].pttype' null
jq_is "$json" '.[2].fstype' LVM2_member
jq_is "$json" '.[2].uuid' "$(blkid -p -s UUID -o value "$dev_lvm")"
jq_is "$json" '.[2].class' bootable-candidate

# LUKS.
jq_is "$json" '.[3].fstype' crypto_LUKS
jq_is "$json" '.[3].uuid' "$(cryptsetup luksUUID "$T/luks.img")"
jq_is "$json" '.[3].class' bootable-candidate

# Blank and random.
jq_is "$json" '.[4].class' blank
jq_is "$json" '.[4].reason' 'no signature; the first MiB is all zero'
jq_is "$json" '.[5].class' blank
jq_is "$json" '.[5].pttype' null

# A GPT disk cut short.
jq_is "$json" '.[6].pttype' PMBR
jq_is "$json" '.[6].class' unreadable

# The text form says the same.
text=$("$V2V_AGENT" devices --device-dir "$D")
grep -qx "disk 1: $D/block1" <<<"$text" || fail "text: no disk 1 line"
grep -q "class bootable-candidate: ESP on partition 1" <<<"$text" ||
    fail "text: no ESP class"
grep -q "class unreadable: protective MBR" <<<"$text" ||
    fail "text: no unreadable class"

# $V2V_DEVICE_DIR does the same as --device-dir; explicit disks win.
V2V_DEVICE_DIR=$D "$V2V_AGENT" devices --json > "$T/env.json"
jq_is "$(cat "$T/env.json")" 'length' 7
json=$("$V2V_AGENT" devices --json --device-dir "$D" "$dev_gpt" "$dev_mbr")
jq_is "$json" 'length' 2
jq_is "$json" '.[0].path' "$dev_gpt"

# Only blank and unrecognised disks: the overlay tool (standing in for a
# conversion) is not the place for this, but the inventory shows it.
json=$("$V2V_AGENT" devices --json "$dev_blank" "$dev_random" "$dev_truncated")
jq_is "$json" '[.[].class] | join(",")' blank,blank,unreadable

# A read-only loop device is listed as such, and refused for writing.
attach ro "$T/gpt.img" -r
json=$("$V2V_AGENT" devices --json "$ro")
jq_is "$json" '.[0].readonly' true
: "${BLOCKDEV_OVERLAY_TOOL:?}"
mkdir "$T/work"
if "$BLOCKDEV_OVERLAY_TOOL" "$T/work" "$ro" -- true 2> "$T/ro.err"; then
    fail "a read-only device was accepted for writing"
fi
grep -qF "blockdev_discover: $ro: the disk is read-only, but the conversion needs to write to it" "$T/ro.err" ||
    fail "read-only message: $(cat "$T/ro.err")"

# Not a block device or regular file.
mkdir "$D/block7"
if "$V2V_AGENT" devices --device-dir "$D" 2> "$T/dir.err"; then
    fail "a directory was accepted as a disk"
fi
grep -qF "blockdev_discover: $D/block7: not a block device or regular file (directory)" "$T/dir.err" ||
    fail "directory message: $(cat "$T/dir.err")"

echo "PASS: $(basename "$0")"
