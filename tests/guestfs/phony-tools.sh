#!/bin/bash
# guestfs tier: the guest tools of the phony Linux guests run through
# libguestfs "command" and leave what a converter test asserts on.
#
#   phony-tools.sh PHONY_DIR
#
# The images are never written: each gets a qcow2 overlay in a scratch
# directory, and all five are added to one appliance.  For each guest it
# runs the guest's own initramfs, bootloader and service tools (the stubs
# of tests/fixtures/phony/tool-stub.sh) and compares, exactly, the
# initramfs contents, grub output, systemd links and the call log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../fixtures/lib.sh"
. "$here/../lib/functions.sh"

[ $# -eq 1 ] || fail "usage: $0 PHONY_DIR"
dir=$1
guestfs_env
scratch_dir work phony-tools

for g in debian ubuntu rhel al2023 suse; do
    [ -f "$dir/$g.img" ] || fail "$dir/$g.img is missing (run the phony-guests fixture)"
    qemu-img create -q -f qcow2 -b "$(cd "$dir" && pwd)/$g.img" -F raw "$work/$g.qcow2"
done

deb=6.1.0-18-cloud-amd64
ubu=6.5.0-1017-aws
el=5.14.0-427.13.1.el9_4.x86_64
al=6.1.90-99.173.amzn2023.x86_64
sle=5.14.21-150500.55.52-default
mods="| sed -n 's|.*/\\([^/]*\\)\\.ko.*|\\1|p' | sort | tr '\\n' ' '"

cat > "$work/tools.gf" <<EOF
add "$work/debian.qcow2" format:qcow2
add "$work/ubuntu.qcow2" format:qcow2
add "$work/rhel.qcow2" format:qcow2
add "$work/al2023.qcow2" format:qcow2
add "$work/suse.qcow2" format:qcow2
run

mount /dev/sda1 /
echo "@@debian sh"
sh "echo \$((6 * 7)) \$(uname -m)"
write-append /etc/initramfs-tools/modules "virtio_blk\nvirtio_pci\nvirtio_scsi\nvirtio_net\n"
command "update-initramfs -u -k all"
echo "@@debian initrd"
initrd-list /boot/initrd.img-$deb $mods
echo
command "update-grub"
echo "@@debian grub linux"
grep "^[[:space:]]*linux " /boot/grub/grub.cfg
command "systemctl mask amazon-ssm-agent.service"
echo "@@debian ssm link"
readlink /etc/systemd/system/amazon-ssm-agent.service
command "systemctl disable cloud-init"
echo "@@debian cloud-init wanted"
exists /etc/systemd/system/cloud-init.target.wants/cloud-init.service
echo "@@debian log"
cat /var/log/phony-tools.log
umount-all

mount /dev/sdb1 /
rm /boot/initrd.img-$ubu
command "update-initramfs -c -k $ubu"
echo "@@ubuntu initrd"
initrd-list /boot/initrd.img-$ubu $mods
echo
command "snap remove --purge amazon-ssm-agent"
command "netplan generate"
echo "@@ubuntu log"
cat /var/log/phony-tools.log
umount-all

mount /dev/sdc1 /
write /etc/dracut.conf.d/virtio.conf "add_drivers+=\" virtio_blk virtio_pci virtio_scsi virtio_net \"\n"
command "dracut -f --kver $el"
echo "@@rhel initrd"
initrd-list /boot/initramfs-$el.img $mods
echo
echo "@@rhel old initrd"
initrd-list /boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img $mods
echo
command "grub2-editenv - set 'kernelopts=root=UUID=4e100009-0000-4000-8000-0000000000a1 ro console=ttyS0,115200n8'"
echo "@@rhel grubenv"
command "grub2-editenv - list"
echo "@@rhel grubenv size"
filesize /boot/grub2/grubenv
command "grub2-mkconfig -o /boot/grub2/grub.cfg"
echo "@@rhel grub.cfg"
grep "^(set default|load_env|blscfg)" /boot/grub2/grub.cfg extended:true
command "systemctl mask amazon-ssm-agent"
echo "@@rhel ssm link"
readlink /etc/systemd/system/amazon-ssm-agent.service
echo "@@rhel log"
cat /var/log/phony-tools.log
umount-all

mount /dev/sdd1 /
command "dracut --force --regenerate-all"
echo "@@al2023 initrd"
initrd-list /boot/initramfs-$al.img $mods
echo
echo "@@al2023 hibinit is-enabled"
command "systemctl is-enabled hibinit-agent"
echo "@@al2023 log"
cat /var/log/phony-tools.log
umount-all

mount /dev/sde3 /
command "mkinitrd"
echo "@@suse initrd"
initrd-list /boot/initrd-$sle $mods
echo
echo "@@suse log"
cat /var/log/phony-tools.log
umount-all
EOF

guestfish -f "$work/tools.gf" > "$work/raw.out" 2> "$work/raw.err" || {
    cat "$work/raw.err" >&2
    fail "guestfish failed"
}

# "GUEST KEY = VALUE", multi-line values joined with "; " in order.
awk '
    function flush(   i, s) {
        if (key == "") return
        s = ""
        for (i = 1; i <= nv; i++) s = s (i > 1 ? "; " : "") vals[i]
        print key " = " s
        nv = 0
    }
    /^@@/ { flush(); key = substr($0, 3); next }
    { sub(/^[ \t]+/, ""); sub(/[ \t]+$/, ""); if ($0 != "") vals[++nv] = $0 }
    END { flush() }
' "$work/raw.out" > "$work/actual"

cat > "$work/expected" <<EOF
debian sh = 42 x86_64
debian initrd = ena ext4 nvme nvme-core virtio virtio_blk virtio_net virtio_pci virtio_ring virtio_scsi xen-blkfront
debian grub linux = linux /boot/vmlinuz-$deb root=/dev/nvme0n1p1 ro console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0
debian ssm link = /dev/null
debian cloud-init wanted = false
debian log = update-initramfs -u -k all; update-grub; systemctl mask amazon-ssm-agent.service; systemctl disable cloud-init
ubuntu initrd = ena
ubuntu log = update-initramfs -c -k $ubu; snap remove --purge amazon-ssm-agent; netplan generate
rhel initrd = ena nvme nvme-core virtio_blk virtio_net virtio_scsi xen-blkfront xen-netfront xfs
rhel old initrd = ena nvme nvme-core xen-blkfront xen-netfront xfs
rhel grubenv = saved_entry=4e1000094e1000094e1000094e100009-$el; boot_success=1; kernelopts=root=UUID=4e100009-0000-4000-8000-0000000000a1 ro console=ttyS0,115200n8
rhel grubenv size = 1024
rhel grub.cfg = set default="\${saved_entry}"; load_env -f /boot/grub2/grubenv; blscfg
rhel ssm link = /dev/null
rhel log = dracut -f --kver $el; grub2-editenv - set 'kernelopts=root=UUID=4e100009-0000-4000-8000-0000000000a1 ro console=ttyS0,115200n8'; grub2-editenv - list; grub2-mkconfig -o /boot/grub2/grub.cfg; systemctl mask amazon-ssm-agent
al2023 initrd = ena virtio_scsi xen-blkfront xen-netfront
al2023 hibinit is-enabled = enabled
al2023 log = dracut --force --regenerate-all; systemctl is-enabled hibinit-agent
suse initrd = ena nvme nvme-core xen-blkfront xen-netfront xfs
suse log = mkinitrd
EOF

diff -u "$work/expected" "$work/actual" ||
    fail "guest tools differ from the expected results (- expected, + actual)"
echo "phony-tools: the guest tools of 5 phony Linux guests work"
