#!/bin/bash
# guestfs tier: every phony guest inspects as the guest it imitates.
#
#   inspect-phony.sh PHONY_DIR
#
# One appliance launch with all the phony guests added read-only.  For
# each guest it asserts libguestfs's inspection (type, distro, version,
# product, package format and manager, host name, arch, osinfo and,
# where the fstab does not name a device, the mountpoints), what the
# initramfs holds, and for Windows the systemroot, drive mapping and the
# values read back from the SYSTEM, SOFTWARE and BCD hives.  Every value
# is compared exactly: a changed fixture or libguestfs fails here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../fixtures/lib.sh"
. "$here/../lib/functions.sh"

[ $# -eq 1 ] || fail "usage: $0 PHONY_DIR"
dir=$1
guestfs_env
scratch_dir work inspect-phony

# Guest, root partition number, initramfs (Linux) in disk order:
# debian is /dev/sda, ubuntu /dev/sdb, and so on.
guests=(
    debian:1:/boot/initrd.img-6.1.0-18-cloud-amd64
    ubuntu:1:/boot/initrd.img-6.5.0-1017-aws
    rhel:1:/boot/initramfs-5.14.0-427.13.1.el9_4.x86_64.img
    al2023:1:/boot/initramfs-6.1.90-99.173.amzn2023.x86_64.img
    suse:3:/boot/initrd-5.14.21-150500.55.52-default
    win2k22:2:
    win2k22-uefi:3:
    win7:2:
)
letters=abcdefghijklmnopqrstuvwxyz
keys="type distro major-version minor-version product-name product-variant
      package-format package-management hostname arch osinfo"

# The guestfish script.  Each result is preceded by "@@GUEST KEY" so that
# multi-line results (mountpoints, drive mappings) stay attached.
gf=$work/inspect.gf
{
    for e in "${guests[@]}"; do
        g=${e%%:*}
        [ -f "$dir/$g.img" ] || fail "$dir/$g.img is missing (run the phony-guests fixture)"
        printf 'add "%s" readonly:true format:raw\n' "$dir/$g.img"
    done
    echo run
    echo 'echo "@@all roots"'
    echo inspect-os
    i=0
    for e in "${guests[@]}"; do
        IFS=: read -r g part initrd <<< "$e"
        dev=/dev/sd${letters:$i:1}
        r=$dev$part
        for k in $keys; do
            echo "echo \"@@$g $k\""
            echo "inspect-get-$k $r"
        done
        case $g in
        win*)
            for k in windows-systemroot windows-current-control-set drive-mappings; do
                echo "echo \"@@$g $k\""
                echo "inspect-get-$k $r"
            done
            echo "mount-ro $r /"
            echo "download /Windows/System32/Config/SYSTEM \"$work/$g.SYSTEM\""
            echo "download /Windows/System32/Config/SOFTWARE \"$work/$g.SOFTWARE\""
            echo "umount-all"
            echo "mount-ro ${dev}1 /"
            if [ "$g" = win2k22-uefi ]; then
                echo "download /EFI/Microsoft/Boot/BCD \"$work/$g.BCD\""
                echo "echo \"@@$g esp\""
                echo "find /EFI | sort"
            else
                echo "download /Boot/BCD \"$work/$g.BCD\""
            fi
            echo "umount-all"
            ;;
        *)
            # debian and rhel name their root by device path
            # (/dev/nvme0n1p1, /dev/xvda1), which libguestfs cannot map
            # reliably in a multi-disk appliance: no mountpoint check.
            case $g in
                debian|rhel) ;;
                *) echo "echo \"@@$g mountpoints\""
                   echo "inspect-get-mountpoints $r" ;;
            esac
            echo "mount-ro $r /"
            echo "echo \"@@$g initrd\""
            echo "initrd-list $initrd | sed -n 's|.*/\\([^/]*\\)\\.ko.*|\\1|p' | sort | tr '\\n' ' '"
            echo "echo"
            echo "echo \"@@$g sh\""
            echo "is-file /bin/sh followsymlinks:true"
            echo "umount-all"
            ;;
        esac
        i=$((i + 1))
    done
} > "$gf"

guestfish -f "$gf" > "$work/raw.out" || fail "guestfish failed"

# hive GUEST HIVE KEY VALUE: one value read back with hivexget on the host.
hive () {
    printf '@@%s %s:%s:%s\n' "$1" "$2" "$3" "$4"
    hivexget "$work/$1.$2" "$3" "$4" || echo "(missing)"
}
hive_hex () {
    printf '@@%s %s:%s:%s\n' "$1" "$2" "$3" "$4"
    hivexget "$work/$1.$2" "$3" "$4" | od -An -tx1 | tr -d ' \n'
    echo
}
{
    cat "$work/raw.out"
    for g in win2k22 win2k22-uefi win7; do
        hive $g SYSTEM '\Select' Current
        hive $g SYSTEM '\ControlSet001\Services\Tcpip\Parameters' Hostname
        hive $g SYSTEM '\ControlSet001\Control\ComputerName\ComputerName' ComputerName
        hive $g SYSTEM '\ControlSet001\Control\TimeZoneInformation' RealTimeIsUniversal
        hive $g SYSTEM '\ControlSet001\Control\Session Manager\Power' HiberbootEnabled
        hive $g SYSTEM '\ControlSet001\Services\xenvbd' Start
        hive $g SYSTEM '\ControlSet001\Services\xenvbd' Group
        hive $g SYSTEM '\ControlSet001\Services\AmazonSSMAgent' Start
        hive $g SOFTWARE '\Microsoft\Windows NT\CurrentVersion' ProductName
        hive $g SOFTWARE '\Microsoft\Windows\CurrentVersion' DevicePath
        hive $g BCD '\Description' KeyName
    done
    for g in win2k22 win2k22-uefi; do
        hive $g SYSTEM '\ControlSet001\Services\Amazon EC2Launch' ImagePath
        hive $g SYSTEM '\ControlSet001\Services\AWSNVMe' Start
        hive $g SYSTEM '\ControlSet001\Services\ena' Start
        hive $g SYSTEM '\ControlSet001\Services\storahci' Start
        hive $g SYSTEM '\ControlSet001\Services\e1iexpress' ImagePath
        hive $g SYSTEM '\DriverDatabase\DriverInfFiles\xenvbd.inf' Active
        hive $g SOFTWARE '\Microsoft\Windows NT\CurrentVersion' CurrentBuild
        hive $g SOFTWARE '\Microsoft\Windows\CurrentVersion\Uninstall\{8A3E5E6B-1E47-4DA2-9C0B-5C1B3E0F2A11}' DisplayName
    done
    hive_hex win2k22 SYSTEM '\MountedDevices' '\DosDevices\C:'
    hive_hex win2k22-uefi SYSTEM '\MountedDevices' '\DosDevices\C:'
    hive_hex win7 SYSTEM '\MountedDevices' '\DosDevices\C:'
    hive win7 SYSTEM '\ControlSet001\Services\Ec2Config' Start
    hive win7 SYSTEM '\ControlSet001\Services\msahci' Start
    hive win7 SYSTEM '\ControlSet001\Control\CriticalDeviceDatabase\pci#ven_5853&dev_0001' Service
    hive win7 SOFTWARE '\Microsoft\Windows NT\CurrentVersion' CurrentVersion
} > "$work/all.out"

# "GUEST KEY = VALUE", multi-line values sorted and joined with "; ".
# (POSIX awk: no asort, so a small insertion sort.)
awk '
    function flush(   i, j, t, s) {
        if (key == "") return
        for (i = 2; i <= nv; i++)
            for (j = i; j > 1 && vals[j - 1] > vals[j]; j--) {
                t = vals[j]; vals[j] = vals[j - 1]; vals[j - 1] = t
            }
        s = ""
        for (i = 1; i <= nv; i++) s = s (i > 1 ? "; " : "") vals[i]
        print key " = " s
        nv = 0
    }
    /^@@/ { flush(); key = substr($0, 3); next }
    { sub(/[ \t]+$/, ""); if ($0 != "") vals[++nv] = $0 }
    END { flush() }
' "$work/all.out" > "$work/actual"

cat > "$work/expected" <<'EOF'
all roots = /dev/sda1; /dev/sdb1; /dev/sdc1; /dev/sdd1; /dev/sde3; /dev/sdf2; /dev/sdg3; /dev/sdh2
debian type = linux
debian distro = debian
debian major-version = 12
debian minor-version = 5
debian product-name = 12.5
debian product-variant = unknown
debian package-format = deb
debian package-management = apt
debian hostname = ip-172-31-1-10
debian arch = x86_64
debian osinfo = debian12
debian initrd = ena ext4 nvme nvme-core xen-blkfront
debian sh = true
ubuntu type = linux
ubuntu distro = ubuntu
ubuntu major-version = 22
ubuntu minor-version = 4
ubuntu product-name = Ubuntu 22.04.4 LTS
ubuntu product-variant = unknown
ubuntu package-format = deb
ubuntu package-management = apt
ubuntu hostname = ip-172-31-5-10
ubuntu arch = x86_64
ubuntu osinfo = ubuntu22.04
ubuntu mountpoints = /: /dev/sdb1; /boot/efi: /dev/sdb15
ubuntu initrd = ena
ubuntu sh = true
rhel type = linux
rhel distro = rhel
rhel major-version = 9
rhel minor-version = 4
rhel product-name = Red Hat Enterprise Linux 9.4 (Plow)
rhel product-variant = unknown
rhel package-format = rpm
rhel package-management = dnf
rhel hostname = ip-172-31-2-10.ec2.internal
rhel arch = x86_64
rhel osinfo = rhel9.4
rhel initrd = ena nvme nvme-core xen-blkfront xen-netfront xfs
rhel sh = true
al2023 type = linux
al2023 distro = unknown
al2023 major-version = 2023
al2023 minor-version = 0
al2023 product-name = Amazon Linux 2023.4.20240513
al2023 product-variant = unknown
al2023 package-format = unknown
al2023 package-management = unknown
al2023 hostname = ip-172-31-3-10.ec2.internal
al2023 arch = x86_64
al2023 osinfo = unknown
al2023 mountpoints = /: /dev/sdd1; /boot/efi: /dev/sdd128
al2023 initrd = ena virtio_scsi xen-blkfront xen-netfront
al2023 sh = true
suse type = linux
suse distro = sles
suse major-version = 15
suse minor-version = 5
suse product-name = SUSE Linux Enterprise Server 15 SP5
suse product-variant = unknown
suse package-format = rpm
suse package-management = zypper
suse hostname = ip-172-31-4-10
suse arch = x86_64
suse osinfo = sles15sp5
suse mountpoints = /: /dev/sde3; /boot/efi: /dev/sde2
suse initrd = ena nvme nvme-core xen-blkfront xen-netfront xfs
suse sh = true
win2k22 type = windows
win2k22 distro = windows
win2k22 major-version = 10
win2k22 minor-version = 0
win2k22 product-name = Windows Server 2022 Phony Edition
win2k22 product-variant = Server
win2k22 package-format = unknown
win2k22 package-management = unknown
win2k22 hostname = windows.invalid
win2k22 arch = x86_64
win2k22 osinfo = win2k22
win2k22 windows-systemroot = /Windows
win2k22 windows-current-control-set = ControlSet001
win2k22 drive-mappings = C: /dev/sdf2
win2k22-uefi type = windows
win2k22-uefi distro = windows
win2k22-uefi major-version = 10
win2k22-uefi minor-version = 0
win2k22-uefi product-name = Windows Server 2022 Phony Edition
win2k22-uefi product-variant = Server
win2k22-uefi package-format = unknown
win2k22-uefi package-management = unknown
win2k22-uefi hostname = windows.invalid
win2k22-uefi arch = x86_64
win2k22-uefi osinfo = win2k22
win2k22-uefi windows-systemroot = /Windows
win2k22-uefi windows-current-control-set = ControlSet001
win2k22-uefi drive-mappings = C: /dev/sdg3
win2k22-uefi esp = /Microsoft; /Microsoft/Boot; /Microsoft/Boot/BCD; /Microsoft/Boot/bootmgfw.efi; /Microsoft/Boot/bootmgr.efi
win7 type = windows
win7 distro = windows
win7 major-version = 6
win7 minor-version = 1
win7 product-name = Microsoft Windows 7 Phony Edition
win7 product-variant = Client
win7 package-format = unknown
win7 package-management = unknown
win7 hostname = windows.invalid
win7 arch = i386
win7 osinfo = win7
win7 windows-systemroot = /Windows
win7 windows-current-control-set = ControlSet001
win7 drive-mappings = C: /dev/sdh2
win2k22 SYSTEM:\Select:Current = 1
win2k22 SYSTEM:\ControlSet001\Services\Tcpip\Parameters:Hostname = windows.invalid
win2k22 SYSTEM:\ControlSet001\Control\ComputerName\ComputerName:ComputerName = EC2AMAZ-PH0NY
win2k22 SYSTEM:\ControlSet001\Control\TimeZoneInformation:RealTimeIsUniversal = 1
win2k22 SYSTEM:\ControlSet001\Control\Session Manager\Power:HiberbootEnabled = 0
win2k22 SYSTEM:\ControlSet001\Services\xenvbd:Start = 0
win2k22 SYSTEM:\ControlSet001\Services\xenvbd:Group = SCSI miniport
win2k22 SYSTEM:\ControlSet001\Services\AmazonSSMAgent:Start = 2
win2k22 SOFTWARE:\Microsoft\Windows NT\CurrentVersion:ProductName = Windows Server 2022 Phony Edition
win2k22 SOFTWARE:\Microsoft\Windows\CurrentVersion:DevicePath = %SystemRoot%\inf
win2k22 BCD:\Description:KeyName = BCD00000000
win2k22-uefi SYSTEM:\Select:Current = 1
win2k22-uefi SYSTEM:\ControlSet001\Services\Tcpip\Parameters:Hostname = windows.invalid
win2k22-uefi SYSTEM:\ControlSet001\Control\ComputerName\ComputerName:ComputerName = EC2AMAZ-PH0NY
win2k22-uefi SYSTEM:\ControlSet001\Control\TimeZoneInformation:RealTimeIsUniversal = 1
win2k22-uefi SYSTEM:\ControlSet001\Control\Session Manager\Power:HiberbootEnabled = 0
win2k22-uefi SYSTEM:\ControlSet001\Services\xenvbd:Start = 0
win2k22-uefi SYSTEM:\ControlSet001\Services\xenvbd:Group = SCSI miniport
win2k22-uefi SYSTEM:\ControlSet001\Services\AmazonSSMAgent:Start = 2
win2k22-uefi SOFTWARE:\Microsoft\Windows NT\CurrentVersion:ProductName = Windows Server 2022 Phony Edition
win2k22-uefi SOFTWARE:\Microsoft\Windows\CurrentVersion:DevicePath = %SystemRoot%\inf
win2k22-uefi BCD:\Description:KeyName = BCD00000000
win7 SYSTEM:\Select:Current = 1
win7 SYSTEM:\ControlSet001\Services\Tcpip\Parameters:Hostname = windows.invalid
win7 SYSTEM:\ControlSet001\Control\ComputerName\ComputerName:ComputerName = EC2AMAZ-PH0NY
win7 SYSTEM:\ControlSet001\Control\TimeZoneInformation:RealTimeIsUniversal = 1
win7 SYSTEM:\ControlSet001\Control\Session Manager\Power:HiberbootEnabled = 0
win7 SYSTEM:\ControlSet001\Services\xenvbd:Start = 0
win7 SYSTEM:\ControlSet001\Services\xenvbd:Group = SCSI miniport
win7 SYSTEM:\ControlSet001\Services\AmazonSSMAgent:Start = 2
win7 SOFTWARE:\Microsoft\Windows NT\CurrentVersion:ProductName = Microsoft Windows 7 Phony Edition
win7 SOFTWARE:\Microsoft\Windows\CurrentVersion:DevicePath = %SystemRoot%\inf
win7 BCD:\Description:KeyName = BCD00000000
win2k22 SYSTEM:\ControlSet001\Services\Amazon EC2Launch:ImagePath = "C:\Program Files\Amazon\EC2Launch\service\EC2LaunchService.exe"
win2k22 SYSTEM:\ControlSet001\Services\AWSNVMe:Start = 0
win2k22 SYSTEM:\ControlSet001\Services\ena:Start = 3
win2k22 SYSTEM:\ControlSet001\Services\storahci:Start = 3
win2k22 SYSTEM:\ControlSet001\Services\e1iexpress:ImagePath = System32\drivers\e1i68x64.sys
win2k22 SYSTEM:\DriverDatabase\DriverInfFiles\xenvbd.inf:Active = xenvbd.inf_amd64_8a2b1c4d5e6f7a8b
win2k22 SOFTWARE:\Microsoft\Windows NT\CurrentVersion:CurrentBuild = 20348
win2k22 SOFTWARE:\Microsoft\Windows\CurrentVersion\Uninstall\{8A3E5E6B-1E47-4DA2-9C0B-5C1B3E0F2A11}:DisplayName = AWS PV Drivers
win2k22-uefi SYSTEM:\ControlSet001\Services\Amazon EC2Launch:ImagePath = "C:\Program Files\Amazon\EC2Launch\service\EC2LaunchService.exe"
win2k22-uefi SYSTEM:\ControlSet001\Services\AWSNVMe:Start = 0
win2k22-uefi SYSTEM:\ControlSet001\Services\ena:Start = 3
win2k22-uefi SYSTEM:\ControlSet001\Services\storahci:Start = 3
win2k22-uefi SYSTEM:\ControlSet001\Services\e1iexpress:ImagePath = System32\drivers\e1i68x64.sys
win2k22-uefi SYSTEM:\DriverDatabase\DriverInfFiles\xenvbd.inf:Active = xenvbd.inf_amd64_8a2b1c4d5e6f7a8b
win2k22-uefi SOFTWARE:\Microsoft\Windows NT\CurrentVersion:CurrentBuild = 20348
win2k22-uefi SOFTWARE:\Microsoft\Windows\CurrentVersion\Uninstall\{8A3E5E6B-1E47-4DA2-9C0B-5C1B3E0F2A11}:DisplayName = AWS PV Drivers
win2k22 SYSTEM:\MountedDevices:\DosDevices\C: = 326b32320000001000000000
win2k22-uefi SYSTEM:\MountedDevices:\DosDevices\C: = 444d494f3a49443a0c8f3b5a2e1d604f8a7b9c0d1e2f3a4b
win7 SYSTEM:\MountedDevices:\DosDevices\C: = 313233340000001000000000
win7 SYSTEM:\ControlSet001\Services\Ec2Config:Start = 2
win7 SYSTEM:\ControlSet001\Services\msahci:Start = 3
win7 SYSTEM:\ControlSet001\Control\CriticalDeviceDatabase\pci#ven_5853&dev_0001:Service = xenbus
win7 SOFTWARE:\Microsoft\Windows NT\CurrentVersion:CurrentVersion = 6.1
EOF

diff -u "$work/expected" "$work/actual" ||
    fail "inspection differs from the expected values (- expected, + actual)"
echo "inspect-phony: ${#guests[@]} guests inspect as expected"
