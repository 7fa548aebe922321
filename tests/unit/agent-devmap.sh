#!/bin/bash
# The device map's options and V2V_DEVICE_MAP: a bad entry, or one that
# does not fit the disks given, exits 2 naming it, before any appliance.
set -euo pipefail
: "${V2V_AGENT:?}"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
truncate -s 16M "$t/a.img" "$t/b.img"
fails=0

expect () {  # WANT-RC MESSAGE-PART [ENV=VALUE] -- ARGS...
    local want=$1 msg=$2 rc=0
    shift 2
    env "$@" > "$t/out" 2>&1 || rc=$?
    if [ "$rc" -ne "$want" ] || ! grep -qF -- "$msg" "$t/out"; then
        echo "FAIL: $* -> exit $rc, want $want with '$msg':"; cat "$t/out"
        fails=$((fails + 1))
    fi
}

expect 2 "--disk-name: disk name '1=/dev/xvdf1': '/dev/xvdf1' is not an EC2 device name" \
    "$V2V_AGENT" convert --disk-name 1=/dev/xvdf1 "$t/a.img"
expect 2 "--nic: NIC '0=0a:00': expected INDEX=MAC" \
    "$V2V_AGENT" convert --nic 0=0a:00 "$t/a.img"
expect 2 "--device-map: $t/none: No such file or directory" \
    "$V2V_AGENT" convert --device-map "$t/none" "$t/a.img"
printf 'disk 0=/dev/xvda\ndisk 0=/dev/xvdf\n' > "$t/map"
expect 2 "--device-map: $t/map: entry 2: disk name '0=/dev/xvdf': disk 0 is named twice" \
    "$V2V_AGENT" convert --device-map "$t/map" "$t/a.img"
expect 2 "V2V_DEVICE_MAP: entry 1: unknown kind 'volume' (disk or nic)" \
    V2V_DEVICE_MAP="volume 1=x" "$V2V_AGENT" convert "$t/a.img"
expect 2 "V2V_DEVICE_MAP: entry 1: unknown kind 'volume'" \
    V2V_DEVICE_MAP="volume 1=x" "$V2V_AGENT" run --device-dir "$t"
# Fits the disks given: disk 2 is not there; disk 1 is not instance store.
expect 2 "device map: disk 2 is named, but there are 2 disks (from 0)" \
    "$V2V_AGENT" convert --disk-name 2=/dev/xvdf "$t/a.img" "$t/b.img"
expect 2 "device map: disk 1 is given to the conversion, but the map calls it instance store (ephemeral0)" \
    V2V_DEVICE_MAP="disk 1=ephemeral0,/dev/sdb" "$V2V_AGENT" convert "$t/a.img" "$t/b.img"
# Not a usage error: the map fits, so the blank disks are what is wrong.
expect 4 "no operating system found" \
    "$V2V_AGENT" convert --disk-name 1=/dev/xvdf,vol-0abc \
    --nic 0=0a:5e:c2:04:22:04 "$t/a.img" "$t/b.img"
[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "PASS: device map errors"
