#!/bin/bash
# guestfs tier: compatibility mode on the phony Amazon Linux 2023 guest,
# whose kernel has AHCI, the SCSI disk driver and e1000e as modules but
# whose initramfs holds only the EC2 drivers (and virtio_scsi).
#
#  1. --compat (check): bootable-with-fixes, exit 20, the one fix is
#     compat-ahci, and the disk is not written (sha256);
#  2. --compat=fix: only that fix is made -- a dracut drop-in and a
#     rebuild by the guest's dracut, whose new image holds ahci and
#     sd_mod -- and the preflight run after it says bootable.
# shellcheck source=tests/guestfs/convert-phony-lib.sh
. "$(dirname "$0")/convert-phony-lib.sh"

kver=6.1.90-99.173.amzn2023.x86_64

# 1. The check, on a copy of its own.
check=$(mktemp -d "${TMPDIR:-/var/tmp}/compat-check.XXXXXX")
cp --sparse=always "$V2V_PHONY_DIR/al2023.img" "$check/al2023.img"
before=$(sha256sum < "$check/al2023.img")
rc=0
"$V2V_AGENT" convert --compat --report "$check/report.json" \
    "$check/al2023.img" 2> "$check/log" || rc=$?
name=al2023-check TEST_CASE=check
[ "$rc" -eq 20 ] || { cat "$check/log" >&2; fail_later "check exited $rc, want 20"; }
validate_report "$check/report.json"
[ "$(sha256sum < "$check/al2023.img")" = "$before" ] ||
    fail_later "the check wrote to the disk"
got=$(jq -c '[.status, .preflight.verdict, .preflight.fixes,
              .kubevirt_hints.diskBus, .kubevirt_hints.nicModel]' \
         "$check/report.json")
want=$(jq -nc --arg k "$kver" '["bootable-with-fixes", "bootable-with-fixes",
  ["compat-ahci: /boot/initramfs-\($k).img lacks ahci/sd_mod, which a SATA root disk needs"],
  "sata", "e1000e"]')
[ "$got" = "$want" ] || fail_later "check report: $got, want $want"
jq -e --arg r "kernel $kver: e1000e is a module" '.preflight.reasons | index($r)' \
    "$check/report.json" > /dev/null || fail_later "no e1000e reason"
rm -rf "$check"

# 2. The fix.
convert_args=(--compat=fix)
phony_convert al2023 1 128
name=al2023-fix TEST_CASE=fix

expect_changes <<END
$(selinux_autorelabel)
+ /etc/dracut.conf.d/90-v2v-kubevirt-compat.conf
~ /boot/initramfs-$kver.img
~ /var/log/phony-tools.log
END
expect_file /etc/dracut.conf.d/90-v2v-kubevirt-compat.conf <<'END'
# Written by v2v-kubevirt: the disks are SATA (AHCI) in KubeVirt compatibility mode.
add_drivers+=" ahci sd_mod "
END
expect_initrd "/boot/initramfs-$kver.img" <<'END'
ahci ena sd_mod virtio_scsi xen-blkfront xen-netfront
END
expect_step fstab skipped
expect_step bootloader skipped
expect_step compat-ahci applied
[ "$(report .status)" = fixed ] || fail_later "status $(report .status), want fixed"
[ "$(report .preflight_after_fixes.verdict)" = bootable ] ||
    fail_later "after the fixes: $(report -c .preflight_after_fixes)"
# No conversion marker: a later real conversion must still run.
[ ! -e "$conv/var/lib/v2v-kubevirt/converted.json" ] ||
    fail_later "compatibility fixes left the conversion marker"
# Nothing of the virtio conversion ran.
for s in network cloudinit agents timesync initramfs; do
    report -e --arg s "$s" '.steps | any(.step == $s) | not' > /dev/null ||
        fail_later "step $s ran in compatibility mode"
done
finish
