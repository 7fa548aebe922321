# shellcheck shell=bash
# Sourced by tests/guestfs/convert-phony-GUEST.sh: run "v2v-agent convert"
# on a copy of one phony guest, read the converted guest and the original
# back in one appliance, and assert on file contents.
#
#   phony_convert GUEST ROOTPART [ESPPART]
#       copies $V2V_PHONY_DIR/GUEST.img (sparse: the fixture is never
#       written), converts the copy with --report $work/report.json (and
#       the options in the convert_args array), then
#       ONE guestfish session unpacks the converted tree into $conv and
#       the fixture's into $orig, and $work/changes lists what differs.
#
# Assertions (each failure is reported with fail_later of
# tests/lib/functions.sh, and finish fails the test at the end):
#   expect_changes            stdin: every file the conversion changed,
#                             one a line, in any order (the backups
#                             under /var/lib/v2v-kubevirt/backup/ are
#                             checked by check_report instead):
#                               + PATH [-> TARGET]   new file (or symlink)
#                               - PATH [-> TARGET]   removed
#                               ~ PATH [-> TARGET]   changed: content, type
#                                                    or link target
#   expect_file PATH          stdin: the exact content of PATH
#   expect_diff PATH          stdin: "diff -U0" from the original to it
#   expect_output DESC STATUS CMD...
#                             stdin: the exact output (stdout and
#                             stderr) of CMD, which must exit STATUS
#   expect_link PATH TARGET   PATH is a symlink to TARGET
#   expect_initrd PATH        stdin: the modules in that initramfs
#   expect_log                stdin: the guest tool calls the conversion
#                             made (new lines of /var/log/phony-tools.log)
#   expect_step STEP RESULT [REASON]
#
# What one step does to one phony guest, asserted alike by the guest's
# conversion test and by the step's own test (step-STEP.sh):
#   expect_virtio_link NAME   the .link file naming the virtio NIC NAME
#   expect_netplan_ubuntu     the network step on the phony Ubuntu
#   expect_initramfs_debian KVER
#                             the initramfs step on the phony Debian
#   expect_bootloader_rhel KVER UUID MID
#                             the bootloader step on the phony RHEL
#
#   check_report              the report lists exactly the changed files,
#                             its checksums are those read back, every
#                             backup is the original, and the marker
#                             counts the changes
#   finish                    exit 1 if anything failed
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../fixtures/lib.sh"
. "$here/../lib/functions.sh"

: "${V2V_AGENT:?V2V_AGENT must be the v2v-agent binary}"
: "${V2V_PHONY_DIR:?V2V_PHONY_DIR must be the phony guest directory}"
guestfs_env

convert_args=()                 # extra convert options, set by the test
name=
work=
conv=
orig=

phony_convert () {
    local g=$1 rootpart=$2 esppart=${3:-} fixture d rc=0
    name=$g
    fixture=$V2V_PHONY_DIR/$g.img
    [ -f "$fixture" ] || fail "$fixture is missing (run the phony-guests fixture)"
    scratch_dir work "convert-phony-$g" "${TMPDIR:-/var/tmp}"
    conv=$work/conv orig=$work/orig
    mkdir -p "$conv" "$orig"

    cp --sparse=always "$fixture" "$work/$g.img"
    echo "== convert $g"
    "$V2V_AGENT" convert --report "$work/report.json" \
        --overlay-dir "$work/overlay" "${convert_args[@]}" "$work/$g.img" \
        2> "$work/convert.log" || rc=$?
    if [ "$rc" -ne 0 ]; then
        cat "$work/convert.log" >&2
        [ -f "$work/report.json" ] && jq . "$work/report.json" >&2
        fail "convert $g exited $rc"
    fi
    validate_report "$work/report.json"
    sed -n '/^guest:/,$p' "$work/convert.log"

    echo "== read back $g"
    {
        printf 'add "%s" readonly:true format:raw\n' "$work/$g.img" "$fixture"
        echo run
        for d in sda:$conv sdb:$orig; do
            echo "mount-ro /dev/${d%%:*}$rootpart /"
            [ -z "$esppart" ] || echo "mount-ro /dev/${d%%:*}$esppart /boot/efi"
            echo "tar-out / \"${d#*:}.tar\" numericowner:true"
            echo umount-all
        done
    } > "$work/readback.gf"
    guestfish -f "$work/readback.gf" || fail "guestfish could not read $g back"
    tar -xf "$conv.tar" -C "$conv"
    tar -xf "$orig.tar" -C "$orig"
    rm -f "$conv.tar" "$orig.tar"
    tree_changes
}

# The report, through a jq filter.
report () { jq -r "$@" "$work/report.json"; }

# Every non-directory of a tree: path, type (f, l) and link target.
tree_entries () {
    (cd "$1" && find . -mindepth 1 ! -type d \
         ! -path './var/lib/v2v-kubevirt/backup/*' \
         ! -path './ProgramData/v2v-kubevirt/backup/*' -printf '/%P\t%y\t%l\n')
}

# The change list of expect_changes, into $work/changes.
tree_changes () {
    local -A before=() after=()
    local p t l
    while IFS=$'\t' read -r p t l; do before[$p]=$t$'\t'$l; done < <(tree_entries "$orig")
    while IFS=$'\t' read -r p t l; do after[$p]=$t$'\t'$l; done < <(tree_entries "$conv")
    {
        for p in "${!after[@]}"; do
            if [ -z "${before[$p]+set}" ]; then
                entry + "$p" "${after[$p]}"
            elif [ "${before[$p]}" != "${after[$p]}" ] ||
                     { [ "${after[$p]%%$'\t'*}" = f ] &&
                           ! cmp -s "$orig$p" "$conv$p"; }; then
                entry '~' "$p" "${after[$p]}"
            fi
        done
        for p in "${!before[@]}"; do
            [ -n "${after[$p]+set}" ] || entry - "$p" "${before[$p]}"
        done
    } | LC_ALL=C sort -k2 > "$work/changes"
}
entry () {
    if [ "${3%%$'\t'*}" = l ]; then
        printf '%s %s -> %s\n' "$1" "$2" "${3#*$'\t'}"
    else
        printf '%s %s\n' "$1" "$2"
    fi
}

expect_changes () {
    if ! diff -u <(grep -v '^$' | LC_ALL=C sort -k2) "$work/changes" \
             > "$work/check.diff"; then
        fail_later "the changed files differ (- expected, + actual):"
        cat "$work/check.diff" >&2
    fi
}

expect_file () {
    local p=$1
    if [ ! -f "$conv$p" ] || [ -L "$conv$p" ]; then
        fail_later "$p is not a regular file"
        cat > /dev/null
    elif ! diff -u - "$conv$p" > "$work/check.diff"; then
        fail_later "$p differs (- expected, + actual):"
        cat "$work/check.diff" >&2
    fi
}

expect_diff () {
    local p=$1 actual
    actual=$(diff -U0 --label "a$p" --label "b$p" "$orig$p" "$conv$p" || true)
    if ! diff -u - <(printf '%s\n' "$actual") > "$work/check.diff"; then
        fail_later "$p: the edit differs (- expected, + actual):"
        cat "$work/check.diff" >&2
    fi
}

expect_output () {
    local desc=$1 want_status=$2 actual status=0
    shift 2
    actual=$("$@" 2>&1) || status=$?
    if ! diff -u - <(printf '%s\n' "$actual") > "$work/check.diff"; then
        fail_later "$desc differs (- expected, + actual):"
        cat "$work/check.diff" >&2
    fi
    if [ "$status" -ne "$want_status" ]; then
        fail_later "$desc: $1 exited $status, want $want_status"
    fi
}

expect_link () {
    local p=$1 want=$2
    if [ ! -L "$conv$p" ]; then
        fail_later "$p is not a symlink"
    elif [ "$(readlink "$conv$p")" != "$want" ]; then
        fail_later "$p -> $(readlink "$conv$p"), want $want"
    fi
}

# The modules in an initramfs (gzip'd newc, as the stubs write them),
# sorted, on one line.
initrd_modules () {
    zcat "$1" | cpio -t --quiet | sed -n 's|.*/\([^/]*\)\.ko[.a-z]*$|\1|p' |
        LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
    echo
}
expect_initrd () {
    expect_output "the modules in $1" 0 initrd_modules "$conv$1"
}

expect_log () {
    local want status=1
    want=$(cat)
    # diff exits 0 only when the conversion called no tool.
    [ -n "$want" ] || status=0
    expect_output "the guest tool calls" "$status" \
        diff --changed-group-format='%>' --unchanged-group-format='' \
        "$orig/var/log/phony-tools.log" "$conv/var/log/phony-tools.log" \
        <<< "$want"
}

expect_step () {
    local step=$1 result=$2 got
    got=$(report --arg s "$step" '.steps[] | select(.step == $s) | .result')
    [ "$got" = "$result" ] || fail_later "step $step: '$got', want '$result'"
    if [ $# -ge 3 ]; then
        got=$(report --arg s "$step" '.steps[] | select(.step == $s) | .reason')
        [ "$got" = "$3" ] || fail_later "step $step: reason '$got', want '$3'"
    fi
}

sha_of () { sha256sum < "$1" | cut -d' ' -f1; }

check_report () {
    local n
    [ "$(report .status)" = converted ] || fail_later "status $(report .status)"
    check_report_changes

    # The marker counts the changes made before it.  A here-string, not
    # a pipe: in a pipeline expect_output would run in a subshell.
    n=$(report '.changes | length')
    expect_output "the marker" 0 \
        jq -r '(.converted_by | sub(" .*"; "")), .changes' \
        "$conv/var/lib/v2v-kubevirt/converted.json" \
        <<< "$(printf 'v2v-agent\n%s\n' $((n - 1)))"
}

# The report's change list against the trees: every changed file named,
# and nothing else; every backup the original; the checksums those read
# back.  (check_report, and step-lib.sh for one step's changes.)
check_report_changes () {
    local path action backup first last

    # The report names every file that changed, and nothing else (the
    # tool log changes through the "run" entries).
    if ! diff -u <(report '.changes[] | select(.action != "run") | .path' |
                       LC_ALL=C sort -u) \
                 <(cut -d' ' -f2 "$work/changes" |
                       grep -vx /var/log/phony-tools.log | LC_ALL=C sort -u) \
                 > "$work/check.diff"; then
        fail_later "the report's paths are not the changed files (- report, + read back):"
        cat "$work/check.diff" >&2
    fi

    # Every action that replaces content has a backup, and it is the
    # original, byte for byte.
    while IFS=$'\t' read -r path action backup; do
        case $action in
            edit|remove|regenerate)
                if [ "$backup" = - ]; then
                    fail_later "$action $path: no backup in the report"
                elif ! cmp -s "$orig$path" "$conv$backup"; then
                    fail_later "$action $path: the backup $backup is not the original"
                fi ;;
        esac
    done < <(report '.changes[] | [.path, .action, .backup // "-"] | @tsv')

    # Per path, the first checksum is the original's and the last one
    # the converted file's.
    while IFS=$'\t' read -r path first last; do
        if [ "$first" != - ] && [ "$(sha_of "$orig$path")" != "$first" ]; then
            fail_later "$path: sha256_before is not the original's"
        fi
        if [ "$last" != - ] && [ "$(sha_of "$conv$path")" != "$last" ]; then
            fail_later "$path: sha256_after is not the converted file's"
        fi
    done < <(report '[.changes[] | select(.action != "run")] | group_by(.path)[] |
                     [.[0].path, .[0].sha256_before // "-",
                      .[-1].sha256_after // "-"] | @tsv')
}

# SELinux guests: this libguestfs may lack selinux_relabel, and then the
# guest relabels at its next boot.  Prints the change line to expect.
selinux_autorelabel () {
    if report -e '.warnings | any(test("no selinuxrelabel feature"))' > /dev/null; then
        echo "+ /.autorelabel"
    fi
}

expect_virtio_link () {
    expect_file /etc/systemd/network/10-v2v-kubevirt-virtio.link <<EOF
# Written by v2v-kubevirt.  On EC2 this guest's NIC was $1 and its
# network config still says so; give the KubeVirt virtio NIC that name.
[Match]
Driver=virtio_net

[Link]
Name=$1
EOF
}

# netplan matched ens5 by the ENI's MAC, which KubeVirt's NIC does not
# have.  The match (and set-name, which needs it) go; "ens5:" then
# matches by name, and the .link file names the virtio NIC ens5.
expect_netplan_ubuntu () {
    expect_diff /etc/netplan/50-cloud-init.yaml <<'EOF'
--- a/etc/netplan/50-cloud-init.yaml
+++ b/etc/netplan/50-cloud-init.yaml
@@ -11,3 +11,3 @@
-            match:
-                macaddress: 0a:5e:c2:04:22:04
-            set-name: ens5
+            #match:  # v2v-kubevirt: EC2 MAC
+                #macaddress: 0a:5e:c2:04:22:04  # v2v-kubevirt: EC2 MAC
+            #set-name: ens5  # v2v-kubevirt: EC2 MAC
EOF
    expect_output "netplan mode" 0 stat -c %a "$conv/etc/netplan/50-cloud-init.yaml" <<< 600
    expect_virtio_link ens5
}

# initramfs-tools (MODULES=list): virtio appended to the list, and the
# guest's update-initramfs rebuilds the image.
expect_initramfs_debian () {
    local kver=$1
    expect_diff /etc/initramfs-tools/modules <<'EOF'
--- a/etc/initramfs-tools/modules
+++ b/etc/initramfs-tools/modules
@@ -8,0 +9,5 @@
+# Added by v2v-kubevirt: the disks and NIC are virtio on KubeVirt
+virtio_pci
+virtio_blk
+virtio_scsi
+virtio_net
EOF
    expect_log <<EOF
lsinitramfs /boot/initrd.img-$kver
update-initramfs -u -k $kver
EOF
    expect_initrd "/boot/initrd.img-$kver" <<'EOF'
ena ext4 nvme nvme-core virtio virtio_blk virtio_net virtio_pci virtio_ring virtio_scsi xen-blkfront
EOF
}

# grubenv keeps its signature and its 1024 bytes, and kernelopts (which
# every BLS entry uses) gets root=UUID= and loses hvc0; /etc/default/grub
# agrees for the next grub2-mkconfig.
expect_bootloader_rhel () {
    local kver=$1 uuid=$2 mid=$3
    expect_output "grubenv size and signature" 0 \
        sh -c 'stat -c %s "$1"; head -n 1 "$1"' - "$conv/boot/grub2/grubenv" <<EOF
1024
# GRUB Environment Block
EOF
    expect_output "grubenv variables" 0 grep -v '^#' "$conv/boot/grub2/grubenv" <<EOF
saved_entry=$mid-$kver
kernelopts=root=UUID=$uuid ro console=ttyS0,115200n8 net.ifnames=0 nvme_core.io_timeout=4294967295 crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M
boot_success=1
EOF
    expect_diff /etc/default/grub <<'EOF'
--- a/etc/default/grub
+++ b/etc/default/grub
@@ -7 +7 @@
-GRUB_CMDLINE_LINUX="console=hvc0 console=ttyS0,115200n8 net.ifnames=0 nvme_core.io_timeout=4294967295 crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M"
+GRUB_CMDLINE_LINUX="console=ttyS0,115200n8 net.ifnames=0 nvme_core.io_timeout=4294967295 crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M"
EOF
}

finish () {
    if [ "$(failed_checks)" -gt 0 ]; then
        echo "${test_name:-convert-phony-$name}: the report:" >&2
        jq . "$work/report.json" >&2 || true
        finish_checks
    fi
    echo "${test_name:-convert-phony-$name}: every expected edit is there, and nothing else"
}
