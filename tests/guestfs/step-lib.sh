# shellcheck shell=bash
# Sourced by tests/guestfs/step-STEP.sh: one rework step, run alone on a
# copy of a phony guest by convert-step-dump (tests/tools/), in the one
# appliance launch the steps-dump-FAMILY test shares among all the steps
# of a family (tests/guestfs/steps.cmake).
#
#   phony_step STEP
#       unpacks $V2V_STEPS_DIR/STEP/{before,after}.tar into $orig and
#       $conv (a Windows ESP into $esp_orig and $esp_conv), takes
#       result.json as the report, and lists in $work/changes what the
#       step changed
#   reg HIVE KEY VALUE
#       a registry value of a hive file (hivexget), or <absent>
#   expect_result RESULT [WHY]
#       the step's result (applied, skipped, failed) and its reason
#   check_step_report
#       the step's change list names exactly the changed files, every
#       backup is the original and the checksums are those read back
#
# and the assertions of convert-phony-lib.sh: expect_changes,
# expect_file, expect_diff, expect_output, expect_link, expect_initrd,
# expect_log, finish.
# shellcheck source=tests/guestfs/convert-phony-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/convert-phony-lib.sh"

: "${V2V_STEPS_DIR:?V2V_STEPS_DIR must be the directory convert-step-dump wrote}"

phony_step () {
    local step=$1 dump=$V2V_STEPS_DIR/$1
    name=$step
    test_name=step-$step
    [ -f "$dump/result.json" ] && [ -f "$dump/after.tar" ] ||
        fail "$dump has no dump (the steps-dump-* test must run first)"
    scratch_dir work "step-$step" "${TMPDIR:-/var/tmp}"
    conv=$work/conv orig=$work/orig
    mkdir -p "$conv" "$orig"
    tar -xf "$dump/before.tar" -C "$orig"
    tar -xf "$dump/after.tar" -C "$conv"
    # A Windows guest's ESP is dumped apart from its C: tree.
    esp_orig=$work/esp-orig esp_conv=$work/esp-conv
    if [ -f "$dump/esp-after.tar" ]; then
        mkdir -p "$esp_orig" "$esp_conv"
        tar -xf "$dump/esp-before.tar" -C "$esp_orig"
        tar -xf "$dump/esp-after.tar" -C "$esp_conv"
    fi
    cp "$dump/result.json" "$work/report.json"
    tree_changes
    echo "== step $step: $(report '"\(.result) (\(.why))"')"
}

expect_result () {
    local got
    got=$(report .result)
    [ "$got" = "$1" ] || fail_later "result '$got', want '$1' ($(report '.error // ""'))"
    if [ $# -ge 2 ]; then
        got=$(report .why)
        [ "$got" = "$2" ] || fail_later "reason '$got', want '$2'"
    fi
}

check_step_report () { check_report_changes; }

reg () { hivexget "$1" "$2" "$3" 2>/dev/null || echo "<absent>"; }
