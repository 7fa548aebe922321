#!/bin/bash
# guestfs tier: "v2v-agent convert" on the phony Debian 12 guest, a Nitro
# instance like the real fixtures of tests/e2e: fstab and grub root= on
# /dev/nvme0n1p1 (GRUB_DISABLE_LINUX_UUID), an instance-store line,
# initramfs-tools MODULES=list with EC2 drivers only, ifupdown on ens5,
# chrony on the Amazon address alone, SSM.  The e2e test boots the real
# ones; this one asserts every edit on the files read back.
# shellcheck source=tests/guestfs/convert-phony-lib.sh
. "$(dirname "$0")/convert-phony-lib.sh"
phony_convert debian 1

kver=6.1.0-18-cloud-amd64
uuid=deb12000-0000-4000-8000-0000000000a1
units=/etc/systemd/system

expect_changes <<EOF
~ /boot/grub/grub.cfg
~ /boot/initrd.img-$kver
~ /etc/chrony/chrony.conf
+ /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg
~ /etc/default/grub
~ /etc/fstab
~ /etc/initramfs-tools/modules
+ /etc/systemd/network/10-v2v-kubevirt-virtio.link
+ $units/amazon-ssm-agent.service -> /dev/null
- $units/multi-user.target.wants/amazon-ssm-agent.service -> /usr/lib/systemd/system/amazon-ssm-agent.service
+ /var/lib/cloud/seed/nocloud/meta-data
+ /var/lib/cloud/seed/nocloud/user-data
+ /var/lib/v2v-kubevirt/converted.json
~ /var/log/phony-tools.log
EOF

expect_diff /etc/fstab <<EOF
--- a/etc/fstab
+++ b/etc/fstab
@@ -2 +2 @@
-/dev/nvme0n1p1 / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1
+UUID=$uuid / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1
@@ -4 +4 @@
-/dev/nvme1n1 /mnt/instance-store ext4 defaults 0 2
+/dev/nvme1n1 /mnt/instance-store ext4 defaults,nofail,x-systemd.device-timeout=10s 0 2
EOF
# The brief's own check: the report's checksum is the file's.
expect_output "fstab sha256_after" 0 \
    report '[.changes[] | select(.path == "/etc/fstab")][-1].sha256_after' <<EOF
$(sha_of "$conv/etc/fstab")
EOF

# grub: root= in grub.cfg becomes UUID=, and the next update-grub in the
# guest writes UUID= too.
expect_diff /etc/default/grub <<'EOF'
--- a/etc/default/grub
+++ b/etc/default/grub
@@ -8 +8 @@
-GRUB_DISABLE_LINUX_UUID=true
+#GRUB_DISABLE_LINUX_UUID=true  # v2v-kubevirt: device names differ on KubeVirt
EOF
expect_diff /boot/grub/grub.cfg <<EOF
--- a/boot/grub/grub.cfg
+++ b/boot/grub/grub.cfg
@@ -19 +19 @@
-	linux	/boot/vmlinuz-$kver root=/dev/nvme0n1p1 ro console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0
+	linux	/boot/vmlinuz-$kver root=UUID=$uuid ro console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0
EOF

# initramfs-tools (MODULES=list), as step-initramfs asserts it.
expect_initramfs_debian "$kver"

# ifupdown says ens5: the .link file gives the virtio NIC that name.
expect_virtio_link ens5

# chrony had the Amazon address alone: Debian's pool is added.
expect_diff /etc/chrony/chrony.conf <<'EOF'
--- a/etc/chrony/chrony.conf
+++ b/etc/chrony/chrony.conf
@@ -5 +5 @@
-server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4
+#server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4  # v2v-kubevirt: EC2-only time source
@@ -15,0 +16,2 @@
+# Added by v2v-kubevirt: the distribution's default pool.
+pool 2.debian.pool.ntp.org iburst
EOF

expect_link $units/amazon-ssm-agent.service /dev/null
expect_file /etc/cloud/cloud.cfg.d/zz-v2v-kubevirt.cfg <<'EOF'
# Written by v2v-kubevirt: KubeVirt provides NoCloud or ConfigDrive,
# never the EC2 metadata service.
datasource_list: [ NoCloud, ConfigDrive, None ]
EOF
expect_file /var/lib/cloud/seed/nocloud/meta-data <<'EOF'
# Written by v2v-kubevirt: the instance-id the guest had on EC2.
instance-id: i-0deb12a1b2c3d4e5f
EOF
expect_file /var/lib/cloud/seed/nocloud/user-data <<'EOF'
#cloud-config
{}
EOF

expect_output "warnings" 0 report '.warnings[]' <<'EOF'
/etc/fstab: /dev/nvme1n1 (/mnt/instance-store) is on no disk being converted and no device map names it: kept with nofail so the guest boots without it; if it is a data volume, give its disk to the conversion and name it (--disk-name INDEX=/dev/nvme1n1)
EOF
expect_step xen skipped
expect_step selinux skipped
expect_output "firmware hint" 0 report .kubevirt_hints.firmware <<< bios
check_report
finish
