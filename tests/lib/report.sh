# validate_report REPORT.json...: every report a test makes goes through
# this, so that each one holds to docs/report.schema.json (the contract
# of convert/report.h and docs/report.md).  Fails the test (exit 1) with
# the report's path and what breaks the schema.
#
# Source it: . "$(dirname "$0")/../lib/report.sh"
_v2v_report_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

validate_report () {
    python3 "$_v2v_report_lib/../tools/validate-report.py" "$@" || {
        # A test's own fail (tests/lib/functions.sh), which names it.
        if declare -F fail >/dev/null; then
            fail "a report breaks docs/report.schema.json: $*"
        fi
        echo "FAIL: a report breaks docs/report.schema.json: $*" >&2
        exit 1
    }
}
