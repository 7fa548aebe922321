#!/bin/bash
# v2v-agent verify without a real boot: qemu-system-x86_64 is a stub first
# on PATH that records its command line and plays a canned serial console
# (then sleeps, or exits, or crashes), so every verdict, stage, exit code,
# the command line built from the report's hints and the options, the
# hard timeout and the clean-up are checked in seconds.  The disks are
# small raw files; --no-inject (no appliance in this tier), except where
# the report says the conversion installed the probe.  The e2e tier boots
# real guests through the same code.
#   agent-verify.sh V2V-AGENT
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
agent=$1
scratch_dir work agent-verify
export V2V_ACCEL=tcg TMPDIR=$work/tmp
mkdir -p "$work/bin" "$work/tmp"
# Time bounds grow with the valgrind build's slowness.
scale=${V2V_TIMEOUT_SCALE:-1}

cat > "$work/bin/qemu-system-x86_64" <<'EOF'
#!/bin/sh
# The stub: $STUB_CONSOLE is the serial output, $STUB_THEN what happens
# next (sleep, exit N, segv-once).
printf '%s\n' "$@" > "$STUB_DIR/argv.$$"
ls "$STUB_DIR"/argv.* | wc -l > "$STUB_DIR/runs"
cp "$STUB_DIR/argv.$$" "$STUB_DIR/argv"
case $STUB_THEN in
    segv-once)
        if [ ! -e "$STUB_DIR/crashed" ]; then
            : > "$STUB_DIR/crashed"
            printf 'SeaBIOS\r\n'
            kill -SEGV $$
        fi ;;
esac
[ -n "${STUB_CONSOLE:-}" ] && cat "$STUB_CONSOLE"
case $STUB_THEN in
    exit*) echo "qemu-system-x86_64: -device foo: this is the stub's error" >&2
           exit "${STUB_THEN#exit }" ;;
esac
exec sleep 300
EOF
chmod +x "$work/bin/qemu-system-x86_64"
export PATH=$work/bin:$PATH STUB_DIR=$work

disk=$work/disk.img
truncate -s 64M "$disk"
sha_before=$(sha256sum < "$disk")

healthy='{"version":1,"probe":"linux","status":"healthy","problems":[],"system":"running","nics":[{"name":"enp1s0","mac":"52:54:00:12:34:56","ipv4":["10.0.2.15"],"ipv6":[]},{"name":"enp2s0","mac":"52:54:00:12:34:57","ipv4":["10.0.3.15"],"ipv6":[]}],"mounts":[{"target":"/","state":"mounted"}],"swap":[]}'
unhealthy='{"version":1,"probe":"linux","status":"unhealthy","problems":["failed units: ec2-net.service","no default route"],"system":"degraded"}'

# run NAME CONSOLE-TEXT THEN ARGS...: verify's exit code in $rc, its
# stdout in $out, its JSON (with --json) in $work/NAME.json.
run () {
    local name=$1 text=$2 then=$3
    shift 3
    printf '%b' "$text" > "$work/$name.console"
    rm -f "$work"/argv* "$work/crashed" "$work/runs"
    set +e
    out=$(STUB_CONSOLE=$work/$name.console STUB_THEN=$then \
              timeout $((60 * scale)) "$agent" verify "$@" 2> "$work/$name.err")
    rc=$?
    set -e
    printf '%s\n' "$out" > "$work/$name.out"
}
expect_rc () { [ "$rc" -eq "$1" ] || fail_later "$2: exit $rc, want $1 ($(tail -3 "$work/$2.err"))"; }
jqv () { jq -r "$2" "$work/$1.out"; }
has_arg () { grep -qxF -- "$1" "$work/argv" || fail_later "$2: qemu argv lacks $1"; }

# Healthy: exit 0, the probe's report as it is, qemu killed (the stub
# sleeps on), and the default machine: q35, BIOS, virtio, one NIC.
run healthy "SeaBIOS\r\nLinux version 6.1\r\n[  9.1] V2V-HEALTH {\"version\":1,\"sta\r\nV2V-HEALTH $healthy\r\nlogin: " sleep \
    --no-inject --json --timeout 60 "$disk"
expect_rc 0 healthy
[ "$(jqv healthy .verdict)" = healthy ] || fail_later "healthy: verdict $(jqv healthy .verdict)"
[ "$(jqv healthy '[.health.nics[].ipv4[0]] | join(",")')" = 10.0.2.15,10.0.3.15 ] ||
    fail_later "healthy: NIC addresses $(jqv healthy -c .health.nics)"
[ "$(jqv healthy '.stage')" = null ] || fail_later "healthy: a stage"
[ "$(jqv healthy '.firmware + " " + .bus + " " + .nic_model + " " + .accel')" = "bios virtio virtio tcg" ] ||
    fail_later "healthy: machine $(jqv healthy -c '[.firmware,.bus,.nic_model,.accel]')"
[ "$(jqv healthy .probe)" = not-checked ] || fail_later "healthy: probe $(jqv healthy .probe)"
for a in q35,accel=tcg max -nodefaults -no-reboot stdio 1024 2 \
         "user,id=n0,restrict=on,net=10.0.2.0/24" \
         "virtio-rng-pci,bus=rp3"; do
    has_arg "$a" healthy
done
grep -q '^file=.*/v2v-verify-.*/blockdev-overlay-0.qcow2,format=qcow2,if=none,id=d0,cache=unsafe$' \
    "$work/argv" || fail_later "healthy: the disk is not booted through an overlay"
has_arg "virtio-blk-pci,drive=d0,bus=rp1,bootindex=1" healthy
has_arg "virtio-net-pci,netdev=n0,bus=rp2" healthy
! grep -q pflash "$work/argv" || fail_later "healthy: BIOS boot with pflash"
[ "$(sha256sum < "$disk")" = "$sha_before" ] || fail_later "the disk was written"
[ -z "$(ls "$work/tmp")" ] || fail_later "verify left $(ls "$work/tmp") behind"
pgrep -f "sleep 300" -P $$ >/dev/null && fail_later "qemu (the stub) was left running"

# Text output names the verdict and the addresses.
run text "V2V-HEALTH $healthy\n" sleep --no-inject "$disk"
expect_rc 0 text
grep -q '^verdict: healthy' "$work/text.out" || fail_later "text: $(head -1 "$work/text.out")"
grep -q 'nic enp2s0: ipv4 \[ "10.0.3.15" \]' "$work/text.out" || fail_later "text: no NIC line"

# Unhealthy: exit 22 and the probe's problems.
run unhealthy "V2V-HEALTH $unhealthy\n" sleep --no-inject --json "$disk"
expect_rc 22 unhealthy
[ "$(jqv unhealthy '.verdict + ": " + (.problems | join("; "))')" = "unhealthy: failed units: ec2-net.service; no default route" ] ||
    fail_later "unhealthy: $(jqv unhealthy -c '[.verdict,.problems]')"
[ "$(jqv unhealthy .reason)" = "failed units: ec2-net.service; no default route" ] ||
    fail_later "unhealthy: reason $(jqv unhealthy .reason)"

# no-boot: each stage, found as soon as it shows (the stub sleeps on).
while IFS='|' read -r stage text; do
    start=$(date +%s)
    run "nb-$stage" "$text\r\n" sleep --no-inject --json --timeout 50 "$disk"
    expect_rc 23 "nb-$stage"
    [ "$(jqv "nb-$stage" '.verdict + " " + .stage')" = "no-boot $stage" ] ||
        fail_later "no-boot $stage: $(jqv "nb-$stage" -c '[.verdict,.stage,.reason]')"
    [ $(( $(date +%s) - start )) -lt $((20 * scale)) ] || fail_later "no-boot $stage: waited for the timeout"
    jqv "nb-$stage" .console_tail | grep -qF "${text##*\\n}" ||
        fail_later "no-boot $stage: the console tail lacks what was seen"
done <<'EOF'
no-bootable-device|SeaBIOS (version 1.16.2)\r\nBooting from Hard Disk...\r\nBoot failed: not a bootable disk\r\n\r\nNo bootable device.
no-bootable-device|BdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x1,0x0): Not Found
initramfs-shell|Begin: Running /scripts/local-block ... done.\r\nGave up waiting for root file system device.
initramfs-shell|ALERT!  UUID=1234 does not exist.  Dropping to a shell!
panic|[    2.1] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)
emergency-mode|You are in emergency mode. After logging in, type "journalctl -xb"
EOF

# Timeout: bounded, qemu killed.
start=$(date +%s)
run timeout "Linux version 6.1\r\nstill booting" sleep --no-inject --json --timeout 3 "$disk"
expect_rc 24 timeout
[ "$(jqv timeout .verdict)" = timeout ] || fail_later "timeout: verdict $(jqv timeout .verdict)"
[ $(( $(date +%s) - start )) -lt $((15 * scale)) ] || fail_later "timeout: took $(( $(date +%s) - start )) s"

# The guest resets (qemu exits by itself, -no-reboot): no-boot, stage reset.
run reset "Linux version 6.1\r\n" "exit 0" --no-inject --json "$disk"
expect_rc 23 reset
[ "$(jqv reset .stage)" = reset ] || fail_later "reset: stage $(jqv reset .stage)"

# qemu refuses to start: exit 1, qemu's own message.
run refuse "" "exit 1" --no-inject --json "$disk"
expect_rc 1 refuse
grep -q "qemu exited with status 1: qemu-system-x86_64: -device foo: this is the stub's error" \
    "$work/refuse.err" || fail_later "refuse: $(cat "$work/refuse.err")"

# qemu crashes once: booted again, and said so.
run crash "V2V-HEALTH $healthy\n" segv-once --no-inject --json "$disk"
expect_rc 0 crash
[ "$(jqv crash .retried_after.signal)" = 11 ] || fail_later "crash: retried_after $(jqv crash -c .retried_after)"
[ "$(cat "$work/runs")" = 2 ] || fail_later "crash: qemu ran $(cat "$work/runs") times"

# The report's hints (EFI, SATA, e1000e, boot disk 1) and the
# conversion's probe step; explicit options override the hints.
cat > "$work/report.json" <<'EOF'
{"status":"converted",
 "kubevirt_hints":{"firmware":"efi","bootDiskIndex":1,"diskBus":"sata","nicModel":"e1000e","machineType":"q35"},
 "steps":[{"step":"health-probe","result":"applied","reason":"x"}]}
EOF
# The report verify is given holds to the contract it reads.
validate_report "$work/report.json"
truncate -s 32M "$work/data.img"
run hints "V2V-HEALTH $healthy\n" sleep --report "$work/report.json" --json \
    --nic 52:54:00:00:00:0a --nic 52:54:00:00:00:0b --scratch 64M \
    --cpus 3 --memory 1536 "$work/data.img" "$disk"
expect_rc 0 hints
[ "$(jqv hints '.firmware + " " + .bus + " " + .nic_model + " " + .probe')" = "efi sata e1000e carried" ] ||
    fail_later "hints: $(jqv hints -c '[.firmware,.bus,.nic_model,.probe]')"
for a in "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd" \
         "ide-hd,drive=d0,bus=ide.0" "ide-hd,drive=d1,bus=ide.1,bootindex=1" \
         "ide-hd,drive=d2,bus=ide.2" 3 1536 \
         "user,id=n0,restrict=on,net=10.0.2.0/24" "user,id=n1,restrict=on,net=10.0.3.0/24" \
         "e1000e,netdev=n0,bus=rp1,mac=52:54:00:00:00:0a" \
         "e1000e,netdev=n1,bus=rp2,mac=52:54:00:00:00:0b"; do
    has_arg "$a" hints
done
grep -q '^file=.*/scratch-0.qcow2,format=qcow2' "$work/argv" || fail_later "hints: no scratch disk"
grep -q '^if=pflash,format=raw,file=.*/OVMF_VARS.fd$' "$work/argv" || fail_later "hints: no private VARS"
run override "V2V-HEALTH $healthy\n" sleep --report "$work/report.json" --json \
    --firmware bios --bus virtio --nic-model virtio --scratch 64M \
    "$work/data.img" "$disk"
expect_rc 0 override
has_arg "virtio-blk-pci,drive=d1,bus=rp2,bootindex=1" override
# The scratch disk has the serial instance store is found by.
has_arg "virtio-blk-pci,drive=d2,bus=rp3,serial=ephemeral0" override
! grep -q pflash "$work/argv" || fail_later "override: --firmware bios booted EFI"
[ -z "$(ls "$work/tmp")" ] || fail_later "verify left $(ls "$work/tmp") behind"

# Bad input: usage errors (2) and an unreadable disk (3), each named.
run badmac "" sleep --nic 52:54:zz "$disk"
expect_rc 2 badmac
grep -q -- '--nic 52:54:zz: expected a MAC address' "$work/badmac.err" || fail_later "badmac: $(cat "$work/badmac.err")"
run badfw "" sleep --firmware uefi "$disk"
expect_rc 2 badfw
grep -q -- "--firmware: unknown value 'uefi'" "$work/badfw.err" || fail_later "badfw: $(cat "$work/badfw.err")"
run nodisk "" sleep --no-inject "$work/missing.img"
expect_rc 3 nodisk
grep -q "missing.img" "$work/nodisk.err" || fail_later "nodisk: $(cat "$work/nodisk.err")"
run bootidx "" sleep --report "$work/report.json" "$disk"
expect_rc 2 bootidx
grep -q "bootDiskIndex 1, but 1 disks were given" "$work/bootidx.err" || fail_later "bootidx: $(cat "$work/bootidx.err")"

# A malformed report is refused (2, before qemu) naming the key: each of
# these breaks docs/report.schema.json, as validate-report.py agrees.
bad_report () {
    local name=$1 want=$2
    jq -c "$3" "$work/report.json" > "$work/$name.report.json"
    ! python3 "$(dirname "$0")/../tools/validate-report.py" "$work/$name.report.json" 2> /dev/null ||
        fail_later "$name: the schema takes it"
    run "$name" "" sleep --report "$work/$name.report.json" "$work/data.img" "$disk"
    expect_rc 2 "$name"
    grep -qF -- "--report $work/$name.report.json: $want" "$work/$name.err" ||
        fail_later "$name: $(cat "$work/$name.err")"
    [ ! -e "$work/argv" ] || fail_later "$name: qemu was started"
}
bad_report nostatus "status is missing" 'del(.status)'
bad_report badstatus "status: 'healthy' is no status" '.status = "healthy"'
bad_report nobus "kubevirt_hints.diskBus is missing" 'del(.kubevirt_hints.diskBus)'
bad_report nomachine "kubevirt_hints.machineType is missing" 'del(.kubevirt_hints.machineType)'
bad_report negdisk "kubevirt_hints.bootDiskIndex is -1, below 0" '.kubevirt_hints.bootDiskIndex = -1'
bad_report strdisk "kubevirt_hints: bootDiskIndex: expected int" '.kubevirt_hints.bootDiskIndex = "1"'

# convert's --health-probe takes yes, no or always, and names a bad value.
set +e
"$agent" convert --health-probe=sometimes "$disk" 2> "$work/hp.err"
rc=$?
set -e
expect_rc 2 hp
grep -q -- "--health-probe: unknown value 'sometimes'" "$work/hp.err" || fail_later "hp: $(cat "$work/hp.err")"

finish_checks
echo "PASS: agent-verify"
