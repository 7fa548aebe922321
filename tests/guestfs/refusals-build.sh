#!/bin/bash
# Build the disks for the refusal tests (refusals.sh): tiny phony guests,
# each wrong in exactly one way that the conversion must refuse.
#
#   refusals-build.sh OUTDIR
#
# Every disk is a sparse raw image with an MBR partition table made by
# sfdisk on the host (blank has none).  The files are staged on the host;
# ONE guestfish session makes the filesystems and unpacks them, because
# an appliance launch costs 15-20 s under TCG.  Images are written as
# NAME.img.tmp and renamed at the end; OUTDIR/.stamp skips the rebuild
# when neither this script nor the images changed.
#
# What inspection looks for (convert/inspect.c): /etc/os-release, an ELF
# /bin/ls (its e_machine is the architecture), /etc/fstab,
# /boot/vmlinuz-VER with /lib/modules/VER (virtio from /boot/config-VER
# or modules.dep), and update-initramfs, dracut or mkinitrd.
#
# Also writes OUTDIR/accel: the accelerator (kvm or tcg) for refusals.sh.
#
# Environment: V2V_AGENT (for the accelerator probe, see ../fixtures/lib.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../fixtures/lib.sh"

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
mkdir -p "$1"
outdir=$(cd "$1" && pwd)

# NAME:SIZE, in the order the disks are added (/dev/sda, /dev/sdb...).
# blank is never given to the appliance: it stays all zero.
disks=(noosrel:64M noinit:128M xenpv:128M distro:64M arm:64M full:128M
       luks:64M hibernated:128M)
all=(blank "${disks[@]%%:*}")

# The accelerator, probed once for the whole group (the probe waits up to
# 6 s when KVM is broken): refusals.sh reads it from here.
guestfs_env
echo "$V2V_ACCEL" > "$outdir/accel.tmp" && publish "$outdir/accel"

# The stamp: this script's checksum, then each image's size and mtime, so
# an image changed since (by a conversion that should have refused) is
# rebuilt rather than trusted.
stamp=$outdir/.stamp
stamp_text () {
    local d
    sha256sum "$0" | cut -d' ' -f1
    for d in "${all[@]}"; do
        [ -f "$outdir/$d.img" ] || return 1
        echo "$d $(stat -c '%s %Y' "$outdir/$d.img")"
    done
}
if [ -f "$stamp" ] && current=$(stamp_text) &&
       [ "$current" = "$(cat "$stamp")" ]; then
    echo "refusals: disks up to date in $outdir"
    exit 0
fi
rm -f "$stamp"

start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/refusals.XXXXXX")
trap 'rm -rf "$work"; rm -f "$outdir"/*.img.tmp' EXIT

# An ELF header: only e_machine (bytes 18-19) matters to inspection.
elf () {
    local machine=$1 out=$2
    mkdir -p "$(dirname "$out")"
    # ELFCLASS64, little endian, version 1; e_type ET_EXEC.
    printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\002\000'"$machine"'\000\001\000\000\000' > "$out"
    truncate -s 64 "$out"
}

# A Debian-like root in $1 with kernel $2.  virtio=yes gives the kernel
# virtio_blk and virtio_pci (as =y in its config, as Debian's cloud
# kernel has them); tool=yes installs update-initramfs.
stage_debian () {
    local root=$1 ver=$2 virtio=$3 tool=$4 release=${5:-12}
    mkdir -p "$root"/{etc,boot,bin,usr/sbin,var/lib,lib/modules/"$ver"}
    case $release in
        12) printf '%s\n' 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"' \
                'NAME="Debian GNU/Linux"' 'VERSION_ID="12"' 'ID=debian' \
                > "$root/etc/os-release" ;;
        10) printf '%s\n' 'PRETTY_NAME="Debian GNU/Linux 10 (buster)"' \
                'NAME="Debian GNU/Linux"' 'VERSION_ID="10"' 'ID=debian' \
                > "$root/etc/os-release" ;;
    esac
    printf '%s\n' '# /etc/fstab: static file system information.' \
        '/dev/xvda1  /  ext4  defaults,discard  0 1' > "$root/etc/fstab"
    elf '\076\000' "$root/bin/ls"
    echo "phony kernel $ver" > "$root/boot/vmlinuz-$ver"
    echo "phony initramfs $ver" > "$root/boot/initrd.img-$ver"
    if [ "$virtio" = yes ]; then
        printf '%s\n' '#' "# Linux/x86 $ver Kernel Configuration" \
            'CONFIG_VIRTIO=y' 'CONFIG_VIRTIO_PCI=y' 'CONFIG_VIRTIO_BLK=y' \
            > "$root/boot/config-$ver"
        : > "$root/lib/modules/$ver/modules.dep"
    else
        # A Xen PV kernel: blkfront and netfront, no virtio at all.
        printf '%s\n' '#' "# Linux/x86 $ver Kernel Configuration" \
            'CONFIG_XEN=y' 'CONFIG_XEN_BLKDEV_FRONTEND=y' \
            'CONFIG_XEN_NETDEV_FRONTEND=y' > "$root/boot/config-$ver"
        printf '%s\n' 'kernel/drivers/block/xen-blkfront.ko:' \
            'kernel/drivers/net/xen-netfront.ko:' \
            > "$root/lib/modules/$ver/modules.dep"
    fi
    if [ "$tool" = yes ]; then
        printf '#!/bin/sh\necho phony >&2\nexit 1\n' \
            > "$root/usr/sbin/update-initramfs"
        chmod 755 "$root/usr/sbin/update-initramfs"
    fi
}

# Each guest is correct except for the one thing its test is about.
stage () {
    local name=$1 root=$work/$1/root
    mkdir -p "$root"
    case $name in
        noosrel)        # a Linux-looking filesystem, no os-release
            stage_debian "$root" 6.1.0-13-cloud-amd64 yes yes
            rm "$root/etc/os-release" ;;
        noinit)         # fine, but no initramfs tool
            stage_debian "$root" 6.1.0-13-cloud-amd64 yes no ;;
        xenpv)          # only a Xen PV kernel
            stage_debian "$root" 4.19.0-xen no yes 10 ;;
        distro)         # not a distribution we convert
            stage_debian "$root" 6.1.0-13-cloud-amd64 yes yes
            printf '%s\n' 'NAME=Gentoo' 'ID=gentoo' \
                'PRETTY_NAME="Gentoo Linux"' > "$root/etc/os-release" ;;
        arm)            # an aarch64 userland
            stage_debian "$root" 6.1.0-13-cloud-arm64 yes yes
            elf '\267\000' "$root/bin/ls" ;;
        full)           # fine, but / gets filled up (see the guestfish part)
            stage_debian "$root" 6.1.0-13-cloud-amd64 yes yes ;;
        luks)           # the root filesystem is inside LUKS: never staged
            ;;
        hibernated)     # fine, but its swap holds a hibernation image
            stage_debian "$root" 6.1.0-13-cloud-amd64 yes yes
            printf '%s\n' '/dev/xvda2  none  swap  sw  0 0' \
                >> "$root/etc/fstab" ;;
        *) die "unknown disk $name" ;;
    esac
    tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$work/$name.tar" .
}

# The swap partition of "hibernated": what the kernel leaves after a
# suspend to disk is a swap header whose SWAPSPACE2 magic (at the end of
# the first page) is replaced by S1SUSPEND.
hibernated_swap () {
    local img=$1 start=$2
    mkswap -q "$work/swap" >/dev/null
    printf 'S1SUSPEND\000' | dd of="$work/swap" bs=1 seek=4086 conv=notrunc status=none
    dd if="$work/swap" of="$img" bs=512 seek="$start" conv=notrunc status=none
}

rm -f "$outdir"/*.img.tmp
truncate -s 64M "$outdir/blank.img.tmp"

letters=abcdefghijklmnopqrstuvwxyz
adds=$work/adds.gf cmds=$work/cmds.gf
: > "$adds"
: > "$cmds"
i=0
for entry in "${disks[@]}"; do
    name=${entry%%:*} size=${entry#*:}
    img=$outdir/$name.img.tmp dev=/dev/sd${letters:$i:1}
    truncate -s "$size" "$img"
    if [ "$name" = hibernated ]; then
        # Root from 1 MiB, then 1 MiB of swap at the end (sectors).
        sectors=$(($(stat -c %s "$img") / 512))
        root_sectors=$((sectors - 2048 - 2048))
        printf 'start=2048, size=%d, type=83\ntype=82\n' "$root_sectors" |
            sfdisk -q "$img" >/dev/null
        truncate -s 1M "$work/swap"
        hibernated_swap "$img" $((2048 + root_sectors))
    else
        echo 'type=83' | sfdisk -q "$img" >/dev/null
    fi
    printf 'add "%s" format:raw\n' "$img" >> "$adds"
    stage "$name"
    if [ "$name" = luks ]; then
        # A real LUKS header from the appliance's cryptsetup.  The key is
        # read from stdin (--keys-from-stdin), which -f makes the script
        # itself: the passphrase is the line after the command.
        printf '%s\n' "luks-format ${dev}1 0" refusal-test-passphrase >> "$cmds"
    else
        {
            echo "mkfs ext4 ${dev}1"
            echo "mount ${dev}1 /"
            echo "tar-in $work/$name.tar /"
            # Leave well under the 50 MB a conversion needs.
            [ "$name" = full ] && echo "fallocate64 /var/filler 88M"
            echo "umount-all"
        } >> "$cmds"
    fi
    i=$((i + 1))
done
staged=$(date +%s)

{ cat "$adds"; echo run; cat "$cmds"; echo sync; } > "$work/build.gf"
guestfish --keys-from-stdin -f "$work/build.gf" </dev/null ||
    die "guestfish failed building the refusal disks"

for d in "${all[@]}"; do
    publish "$outdir/$d.img"
done
stamp_text > "$stamp.tmp" && publish "$stamp"
end=$(date +%s)
echo "refusals: built ${all[*]} in $outdir" \
     "($((staged - start)) s staging, $((end - staged)) s guestfish, accel $V2V_ACCEL)"
