#!/bin/bash
# One row of the bad-input matrix (issue 9) that the refusal tests
# (refusals.sh) do not cover: a disk damaged or hostile in one way.  Each
# case checks the exit code of docs/operations.md, the error message,
# that every input disk has the same sha256 afterwards, and a bounded
# run time.  docs/reliability.md lists the whole matrix.
#
#   badinput.sh CASE
#
# The disks are made in the test's own directory: random bytes, or a
# sparse copy of a phony guest ($V2V_PHONY_DIR) damaged with dd, truncate
# or one guestfish session.  The fixtures are never written.
# Environment: V2V_AGENT, V2V_PHONY_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../fixtures/lib.sh"
. "$here/../lib/functions.sh"

[ $# -eq 1 ] || fail "usage: $0 CASE"
case=$1
TEST_CASE=$case
: "${V2V_AGENT:?V2V_AGENT must be the v2v-agent binary}"
: "${V2V_PHONY_DIR:?V2V_PHONY_DIR must be the phony guest directory}"
guestfs_env
export V2V_LOG_FORMAT=text

scratch_dir work "badinput-$case" "${TMPDIR:-/var/tmp}"
loop=
on_exit '[ -z "$loop" ] || losetup -d "$loop" || :'

# A sparse copy of phony guest $1 as $work/$2.img.
phony_copy () {
    local src=$V2V_PHONY_DIR/$1.img
    [ -f "$src" ] || fail "$src is missing (run the phony-guests fixture)"
    cp --sparse=always "$src" "$work/$2.img"
}

# Bytes from a fixed seed: the same "random" disk every run.
seeded_bytes () {
    head -c "$1" < <(openssl enc -aes-128-ctr -nosalt -pass pass:v2v-badinput \
                         -pbkdf2 < /dev/zero 2>/dev/null)
}

# The start (in sectors) of partition $2 of image $1.
part_start () {
    sfdisk -J "$1" | jq -r ".partitiontable.partitions[$(($2 - 1))].start"
}

# disks:  the images given to the agent, in order
# code:   the exit code;  msg: what the error line starts with (after
#         "v2v: error: "), or re: an extended regular expression for it
# limit:  seconds the run may take (the test fails at 124 from timeout)
# opts:   extra convert options
# changes: yes where the case converts, so the disks do change
disks=() opts=() msg='' re='' limit=240 code= changes=no
case $case in
    random)
        # 64 MiB of noise: no partition table, no filesystem.  blockdev
        # refuses before the appliance starts.
        seeded_bytes 64M > "$work/random.img"
        disks=("$work/random.img") code=4 limit=60
        msg='no operating system found: 1 disks are blank or unrecognised' ;;
    truncated)
        # A GPT guest whose last 33 sectors (the backup partition table
        # and header) were cut off, as a copy that stopped early leaves
        # it.  The primary table is intact.
        phony_copy ubuntu truncated
        truncate -s -$((33 * 512)) "$work/truncated.img"
        # The agent converts it (exit 0), since the partitions are whole
        # and the conversion writes only inside them, but warns that the
        # backup is missing.  The size and the primary table (the first
        # 34 sectors) must be as they were.
        disks=("$work/truncated.img") code=0 changes=yes
        head -c $((34 * 512)) "$work/truncated.img" | sha256sum > "$work/gpt-before"
        stat -c %s "$work/truncated.img" > "$work/size-before" ;;
    corrupt-ptable)
        # The same, and the primary GPT header's CRC damaged too: no
        # valid partition table left (only the protective MBR).
        phony_copy ubuntu ptable
        truncate -s -$((33 * 512)) "$work/ptable.img"
        printf '\xde\xad\xbe\xef' |
            dd of="$work/ptable.img" bs=1 seek=$((512 + 16)) conv=notrunc status=none
        # blkid finds no partition table and no filesystem: refused
        # before the appliance starts.
        disks=("$work/ptable.img") code=4 limit=60
        msg='no operating system found: 1 disks are blank or unrecognised' ;;
    corrupt-ext4)
        # The root filesystem's superblock (1 KiB into the partition):
        # the magic is kept, the counts and sizes are garbage.
        phony_copy debian ext4
        start=$(part_start "$work/ext4.img" 1)
        head -c 56 /dev/zero | tr '\0' '\377' |
            dd of="$work/ext4.img" bs=1 seek=$((start * 512 + 1024)) conv=notrunc status=none
        # blkid still sees ext4, so the appliance starts; the filesystem
        # does not mount, and the error says which one and why.
        disks=("$work/ext4.img") code=9
        msg='no operating system found: /dev/sda1 (ext4) cannot be mounted: ' ;;
    bsd)
        # A FreeBSD-like disk: an MBR partition of type a5 (FreeBSD)
        # holding a UFS2 superblock (its magic, 0x19540119, 1372 bytes
        # into the superblock at 64 KiB).  blkid calls it ufs, so the
        # appliance starts; it is an OS we do not convert.
        truncate -s 64M "$work/bsd.img"
        echo 'start=2048, type=a5' | sfdisk -q "$work/bsd.img"
        printf '\x19\x01\x54\x19' |
            dd of="$work/bsd.img" bs=1 seek=$((2048 * 512 + 65536 + 1372)) \
               conv=notrunc status=none
        disks=("$work/bsd.img") code=6
        msg='/dev/sda1 holds UFS, a BSD filesystem: FreeBSD and other BSD guests are not supported' ;;
    readonly)
        # A read-only loop device over a good guest: refused before the
        # appliance starts, since the conversion must write.
        phony_copy debian ro
        loop=$(losetup -r -f --show "$work/ro.img") ||
            fail "cannot make a read-only loop device"
        disks=("$loop") code=3 limit=60
        msg="blockdev_discover: $loop: the disk is read-only, but the conversion needs to write to it" ;;
    many-disks)
        # 27 disks: the guest and 26 blank ones, so the appliance names
        # run past /dev/sdz to /dev/sdaa.  A dry run shows all handled.
        phony_copy debian disk00
        disks=("$work/disk00.img")
        for i in $(seq -w 1 26); do
            truncate -s 1M "$work/disk$i.img"
            disks+=("$work/disk$i.img")
        done
        opts=(--dry-run) code=0 limit=400 ;;
    symlink-fstab)
        # /etc/fstab a symlink to /etc/shadow (absolute: in the guest, but
        # the host's path too).  Inspection reads fstab and refuses.
        phony_copy debian fstab
        guestfish -a "$work/fstab.img" -m /dev/sda1 ln-sf /etc/shadow /etc/fstab
        disks=("$work/fstab.img") code=6
        msg='inspect: /etc/fstab: not a regular file (symlink or special file); refusing to read it' ;;
    symlink-config)
        # The other files a conversion reads or writes, as symlinks:
        # grub's defaults to /dev/zero, cloud.cfg to /etc/shadow, and
        # the cloud-init drop-in the agent writes as a dangling link to
        # /etc/cron.d/v2v-trap, which must not be created.
        phony_copy debian config
        guestfish -a "$work/config.img" -m /dev/sda1 <<'GF'
ln-sf /dev/zero /etc/default/grub
ln-sf /etc/shadow /etc/cloud/cloud.cfg
ln-sf /etc/cron.d/v2v-trap /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg
GF
        # grub's defaults and cloud.cfg are skipped (never read through
        # the link); writing the drop-in is refused, so the step fails
        # and the overlay is discarded: the disk is unchanged, and
        # v2v-trap cannot have been created.
        disks=("$work/config.img") code=11
        msg='step cloud-init: /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg: not a regular file; refusing to overwrite it' ;;
    *) fail "unknown case $case" ;;
esac

# The host files a followed link would reach.
host_files=(/etc/shadow /etc/fstab /etc/default/grub)
for f in "${host_files[@]}"; do
    [ -f "$f" ] && sha256sum "$f"
done > "$work/host-before"
sha256sum "${disks[@]}" > "$work/before"

rc=0
t0=$(date +%s)
timeout "$limit" "$V2V_AGENT" convert "${opts[@]}" \
    --report "$work/report.json" --overlay-dir "$work/overlay" \
    --deadline 5 "${disks[@]}" 2> "$work/stderr" || rc=$?
t1=$(date +%s)
sed 's/^/  | /' "$work/stderr"

[ $rc -ne 124 ] || fail "v2v-agent timed out after $limit s"
[ $rc -eq "$code" ] || fail "exit code $rc, expected $code"
validate_report "$work/report.json"

if [ -n "$msg$re" ]; then
    found=0
    while IFS= read -r line; do
        if [ -n "$re" ]; then
            [[ $line =~ ^v2v:\ error:\ $re ]] && found=1
        else
            [[ $line == "v2v: error: $msg"* ]] && found=1
        fi
    done < "$work/stderr"
    [ $found = 1 ] || fail "no error line starting: ${re:-$msg}"
fi

case $case in
    truncated)
        [ "$(jq -r .status "$work/report.json")" = converted ] ||
            fail "report status is not converted"
        jq -e --arg d "$work/truncated.img" '.warnings | any(startswith($d + ": the GPT backup header should be at sector ") and contains("looks truncated (16896 bytes short)"))' \
           "$work/report.json" > /dev/null ||
            fail "no warning about the missing GPT backup in the report"
        jq -e '.disks[0].warning | contains("GPT backup header")' \
           "$work/report.json" > /dev/null ||
            fail "the report's disk has no warning"
        head -c $((34 * 512)) "$work/truncated.img" | sha256sum |
            cmp -s - "$work/gpt-before" || fail "the primary GPT changed"
        [ "$(stat -c %s "$work/truncated.img")" = "$(cat "$work/size-before")" ] ||
            fail "the image size changed"
        ;;
    many-disks)
        n=$(jq '.disks | length' "$work/report.json")
        [ "$n" = 27 ] || fail "the report lists $n disks, expected 27"
        ;;
esac

# Nothing written: the disks are as they were, no overlay is left, and
# no host file a symlink names was touched.
if [ $changes = no ]; then
    sha256sum -c --quiet "$work/before" || fail "an input disk was written"
fi
sha256sum -c --quiet "$work/host-before" || fail "a host file changed"
if [ -d "$work/overlay" ] &&
       [ -n "$(find "$work/overlay" -name '*.qcow2' -print -quit)" ]; then
    fail "an overlay was left behind: $(ls "$work/overlay")"
fi
echo "ok $case: exit $rc in $((t1 - t0)) s"
