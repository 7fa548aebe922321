#!/bin/bash
# guestfs tier: the uefi-fallback step alone, on a copy of the phony
# Windows Server 2022 on UEFI (no EFI/BOOT fallback on its ESP): see
# tests/guestfs/steps.cmake.
# shellcheck source=tests/guestfs/step-lib.sh
. "$(dirname "$0")/step-lib.sh"
phony_step uefi-fallback

expect_result applied
# C: is not touched; the ESP gains the removable-media loader, a copy
# of Windows Boot Manager.
expect_changes < /dev/null
[ -d "$esp_conv/EFI" ] || fail "no ESP dump"
expect_output "ESP changes" 0 sh -c 'diff -r "$1" "$2" | sed "s|$2||"' - "$esp_orig" "$esp_conv" <<'EOF2'
Only in /EFI: BOOT
EOF2
expect_output "EFI/BOOT" 0 ls "$esp_conv/EFI/BOOT" <<< BOOTX64.EFI
expect_output "BOOTX64.EFI is bootmgfw.efi" 0 \
    cmp "$esp_conv/EFI/BOOT/BOOTX64.EFI" "$esp_orig/EFI/Microsoft/Boot/bootmgfw.efi" <<< ""
expect_output "report" 0 report -c '[.changes[] | [.action, .path, .sha256_after]]' <<EOF2
[["create","/EFI/BOOT/BOOTX64.EFI","$(sha_of "$esp_conv/EFI/BOOT/BOOTX64.EFI")"]]
EOF2
finish
