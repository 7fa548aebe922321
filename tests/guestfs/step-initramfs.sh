#!/bin/bash
# guestfs tier: the initramfs step alone, on a copy of the phony Debian
# (initramfs-tools, MODULES=list with EC2 drivers only, no virtio in the
# image): see tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step initramfs
kver=6.1.0-18-cloud-amd64

expect_result applied "/boot/initrd.img-$kver lacks virtio_blk/virtio_pci"
expect_changes <<EOF2
~ /boot/initrd.img-$kver
~ /etc/initramfs-tools/modules
~ /var/log/phony-tools.log
EOF2
expect_diff /etc/initramfs-tools/modules <<'EOF2'
--- a/etc/initramfs-tools/modules
+++ b/etc/initramfs-tools/modules
@@ -8,0 +9,5 @@
+# Added by v2v-kubevirt: the disks and NIC are virtio on KubeVirt
+virtio_pci
+virtio_blk
+virtio_scsi
+virtio_net
EOF2
expect_log <<EOF2
lsinitramfs /boot/initrd.img-$kver
update-initramfs -u -k $kver
EOF2
expect_initrd /boot/initrd.img-$kver <<'EOF2'
ena ext4 nvme nvme-core virtio virtio_blk virtio_net virtio_pci virtio_ring virtio_scsi xen-blkfront
EOF2
check_step_report
finish
