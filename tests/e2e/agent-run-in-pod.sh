#!/bin/bash
# "v2v-agent run" in a simulated conversion pod, against the strict fake
# kube-apiserver (tests/fakes/), on a real EC2-layout guest attached
# through a loop device as /dev/block0 would be:
#
#   agent-run-in-pod.sh SCENARIO FIXTURE.img
#
#   report    in-cluster config; the token rotates mid-run; every phase
#             is reported as an Event and in the annotations; the
#             termination message parses; /metrics parses as Prometheus
#             text; no secret in any log, report or request
#   outage    kubeconfig config; the API answers 503 to everything; the
#             guest still converts, exit 0, outcome in the termination
#             message
#   cancel    SIGTERM in the convert phase: every device byte-identical,
#             Cancelled reported, exit 15
#   rogue-ca  a server certificate from another CA is refused, and that
#             does not fail the run
set -euo pipefail
scenario=$1 fixture=$2
TEST_CASE=$scenario
here=$(cd "$(dirname "$0")" && pwd)
. "$here/blockdev-lib.sh"
. "$here/../fixtures/lib.sh"
guestfs_env
agent=$V2V_AGENT
# The harness's own variable is not one the agent should see.
unset V2V_AGENT
: "${SHARED_DATA:?}"
requires python3 openssl curl

ns=v2v-test pod=convert-i-0abc uid=6f1b6c4e-0d5e-4f43-9d0f-4cbb0f3f4a11
token_old=tok-old-$RANDOM$RANDOM-secret token_new=tok-new-$RANDOM$RANDOM-secret
luks_secret=luks-passphrase-$RANDOM$RANDOM

# --- the fake API server -------------------------------------------------
cat > "$T/seed.json" <<JSON
[{"apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "$pod", "namespace": "$ns", "uid": "$uid"},
  "spec": {"containers": [{"name": "agent", "image": "v2v-agent:test"}]}}]
JSON
printf '%s\n' "$token_old" > "$T/fake-tokens"
outage=()
[ "$scenario" = outage ] && outage=(--outage 503)
start_kube_fake --token-file "$T/fake-tokens" --seed "$T/seed.json" \
    "${outage[@]}"
port=$KUBE_PORT

# --- the pod -------------------------------------------------------------
img=$T/guest.img
cp --sparse=always "$fixture" "$img"
attach loopdev "$img"
ln -s "$loopdev" "$D/block0"
sum_before=$(sha256sum < "$img")

mkdir -p "$T/sa" "$T/luks"
printf '%s' "$token_old" > "$T/sa/token"
cp "$T/certs/ca.crt" "$T/sa/ca.crt"
printf '%s' "$ns" > "$T/sa/namespace"
printf '%s\n' "$luks_secret" > "$T/luks/key0"

export POD_NAME=$pod POD_NAMESPACE=$ns NODE_NAME=node-a
export V2V_LUKS_DIR=$T/luks V2V_source=ec2 V2V_vmName=i-0abc V2V_inPlace=true
export V2V_LOG_FORMAT=json
# Through the outage, debug logging traces every API request: still no
# secret may appear (checked below).
[ "$scenario" = outage ] && export V2V_DEBUG=1
case $scenario in
    report|cancel)
        export KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$port
        export V2V_SERVICEACCOUNT_DIR=$T/sa
        unset KUBECONFIG ;;
    outage|rogue-ca)
        ca=$T/certs/ca.crt
        [ "$scenario" = rogue-ca ] && ca=$T/certs/rogue-ca.crt
        cat > "$T/kubeconfig" <<YAML
apiVersion: v1
kind: Config
current-context: test
clusters:
- name: fake
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority-data: $(base64 -w0 < "$ca")
users:
- name: agent
  user:
    token: $token_old
contexts:
- name: test
  context: {cluster: fake, user: agent, namespace: $ns}
YAML
        export KUBECONFIG=$T/kubeconfig
        unset KUBERNETES_SERVICE_HOST ;;
    *) fail "unknown scenario $scenario" ;;
esac

args=(run --device-dir "$D" --termination-log "$T/termination-log"
      --report "$T/report.json" --overlay-dir "$T/overlay"
      --listen 127.0.0.1:0)
[ "$scenario" = rogue-ca ] && args+=(--skip-conversion)

timeout 900 "$agent" "${args[@]}" 2> "$T/agent.log" &
apid=$!
kill_on_exit $apid

requests () { cat "$KUBE_RECORD" 2>/dev/null || true; }
seen_event () { requests | jq -se --arg r "$1" \
    'any(.[]; .method == "POST" and (.path | endswith("/events")) and
               .body.reason == $r)' >/dev/null; }

metrics_port=
rotated=no
while kill -0 "$apid" 2>/dev/null; do
    if [ -z "$metrics_port" ]; then
        metrics_port=$(jq -r 'select(.msg | startswith("serving")) | .msg' \
                           "$T/agent.log" 2>/dev/null | grep -o '[0-9]*$' || true)
    fi
    if [ -n "$metrics_port" ]; then
        curl -sf "http://127.0.0.1:$metrics_port/metrics" \
             > "$T/metrics.new" 2>/dev/null && mv "$T/metrics.new" "$T/metrics"
    fi
    if [ "$scenario" = report ] && [ $rotated = no ] && seen_event Inspecting; then
        # A bound token is rotated: the server takes both for a moment,
        # the file changes, then only the new one is good.
        printf '%s\n%s\n' "$token_old" "$token_new" > "$T/fake-tokens"
        printf '%s' "$token_new" > "$T/sa/token.new"
        mv "$T/sa/token.new" "$T/sa/token"
        sleep 0.5
        printf '%s\n' "$token_new" > "$T/fake-tokens"
        rotated=$(requests | wc -l)
    fi
    if [ "$scenario" = cancel ] && seen_event Converting; then
        sleep 1
        kill -TERM "$apid"
        break
    fi
    sleep 0.5
done
rc=0
wait "$apid" || rc=$?

echo "--- agent log (tail)"
tail -n 15 "$T/agent.log" >&2

# Every log record is one JSON object with time, level, phase and msg.
jq -se 'length > 10 and all(.[]; has("time") and has("level") and
    has("phase") and has("msg"))' "$T/agent.log" >/dev/null ||
    fail "a log line is not a JSON record"

term=$T/termination-log
[ -s "$term" ] || fail "no termination message"
[ "$(stat -c %s "$term")" -le 4096 ] || fail "termination message > 4096 bytes"
jq -e . "$term" >/dev/null || fail "termination message is not JSON: $(cat "$term")"
outcome=$(jq -r .outcome "$term")
# The report, when the run got to write one (not after a forced exit).
[ ! -s "$T/report.json" ] || validate_report "$T/report.json"

# Nothing secret anywhere: logs, reports, termination message, requests.
for f in "$T/agent.log" "$term" "$T/report.json" "$KUBE_RECORD" \
         "$T/metrics"; do
    [ -e "$f" ] || continue
    for s in "$token_old" "$token_new" "$luks_secret"; do
        if grep -qF -- "$s" "$f"; then
            fail "a secret appears in $(basename "$f")"
        fi
    done
done

pod_annotations () {
    curl -sf --cacert "$T/certs/ca.crt" "https://127.0.0.1:$port/_fake/objects" |
        jq -c --arg n "$pod" '[.. | objects | select(.kind? == "Pod" and
            .metadata.name == $n)][0].metadata.annotations // {}'
}

case $scenario in
report)
    [ $rc -eq 0 ] || fail "run exited $rc"
    [ "$outcome" = Succeeded ] || fail "outcome $outcome"
    jq -e '.guest.distro == "debian" and .kubevirtHints.firmware == "bios" and
           .reason == "Converted" and .exitCode == 0' "$term" >/dev/null ||
        fail "termination message lacks guest or hints: $(cat "$term")"
    [ "$(sha256sum < "$img")" != "$sum_before" ] || fail "nothing was written"
    # Every phase is an Event on the Pod, in order, accepted by the server.
    reasons=$(requests | jq -rs '[.[] | select(.method == "POST" and
        (.path | endswith("/events"))) | .body.reason] | join(" ")')
    want="Devices Probing Overlay Inspecting Converting Committing Reporting Converted"
    for r in $want; do
        seen_event "$r" || fail "no $r Event (saw: $reasons)"
    done
    [[ " $reasons " == *" Devices Probing Overlay Inspecting Converting "* ]] ||
        fail "Events out of order: $reasons"
    bad=$(requests | jq -c --arg uid "$uid" 'select(.method == "POST" and
        (.path | endswith("/events"))) | select(.status != 201 or
        (.schema_errors // [] | length > 0) or
        .body.involvedObject.uid != $uid or
        .body.type != (if .body.reason == "ConversionWarning" then "Warning"
                       else "Normal" end))')
    [ -z "$bad" ] || fail "Events refused or without the pod uid: $bad"
    # The xen guest's instance-store entry is a warning: a Warning Event.
    seen_event ConversionWarning || fail "no ConversionWarning Event"
    # The annotations went through every phase and end with the result.
    phases=$(requests | jq -rs '[.[] | select(.method == "PATCH" and
        .status == 200) | .body.metadata.annotations["v2v.kubevirt.io/phase"]]
        | unique | join(" ")')
    for p in inspect convert commit done; do
        [[ " $phases " == *" $p "* ]] || fail "no annotation patch in phase $p ($phases)"
    done
    ann=$(pod_annotations)
    echo "$ann" | jq -e '.["v2v.kubevirt.io/phase"] == "done" and
        .["v2v.kubevirt.io/progress"] == "100" and
        (.["v2v.kubevirt.io/result"] | fromjson | .outcome == "Succeeded")' \
        >/dev/null || fail "final annotations: $ann"
    # The token rotated mid-run and every request was still authorised.
    [ "$rotated" != no ] || fail "the run ended before the token could rotate"
    after=$(requests | tail -n +"$((rotated + 1))" | jq -s 'length')
    [ "$after" -gt 0 ] || fail "no request after the token rotated"
    requests | jq -se 'all(.auth == "valid")' >/dev/null ||
        fail "a request was not authorised: $(requests | jq -c 'select(.auth != "valid") | {path,auth}' | head -3)"
    # /metrics, read during the run, is Prometheus text.
    [ -s "$T/metrics" ] || fail "/metrics was never read"
    # Debian's python3 has prometheus_client; a python3 earlier on PATH
    # may not.
    py=python3
    [ -x /usr/bin/python3 ] && py=/usr/bin/python3
    "$py" "$here/../tools/prom-parse.py" "$T/metrics" ||
        fail "/metrics does not parse (prom-parse.py exit $?)"
    echo "PASS: run converted, reported ${reasons// /, } and survived a token rotation"
    ;;
outage)
    [ $rc -eq 0 ] || fail "run exited $rc under an API outage"
    [ "$outcome" = Succeeded ] || fail "outcome $outcome"
    [ "$(sha256sum < "$img")" != "$sum_before" ] || fail "nothing was written"
    n=$(requests | jq -s '[.[] | select(.outage == 503)] | length')
    [ "$n" -gt 0 ] || fail "the agent never tried the API"
    grep -q 'gave up\|could not be sent' "$T/agent.log" ||
        fail "the log does not say the status could not be sent"
    jq -se 'any(.[]; .level == "debug" and (.msg | test("^HTTP (POST|PATCH) https://127.0.0.1:[0-9]+/api/v1/namespaces/.*: 503 in ")))' \
        "$T/agent.log" >/dev/null || fail "no debug trace of the failed API requests"
    echo "PASS: converted through an API outage ($n requests answered 503)"
    ;;
cancel)
    [ $rc -eq 15 ] || fail "run exited $rc after SIGTERM, want 15"
    [ "$outcome" = Cancelled ] || fail "outcome $outcome"
    [ "$(sha256sum < "$img")" = "$sum_before" ] ||
        fail "the device changed although the run was cancelled"
    ! ls "$T/overlay"/*.qcow2 >/dev/null 2>&1 || fail "overlays left behind"
    seen_event Cancelled || fail "no Cancelled Event"
    requests | jq -se 'any(.[]; .body.reason? == "Cancelled" and
        .body.type == "Warning" and .status == 201)' >/dev/null ||
        fail "the Cancelled Event is not a Warning"
    ann=$(pod_annotations)
    echo "$ann" | jq -e '.["v2v.kubevirt.io/result"] | fromjson |
        .outcome == "Cancelled"' >/dev/null || fail "final annotations: $ann"
    sleep 2
    ! pgrep -f "$T/overlay" >/dev/null || fail "a process still uses the overlays"
    echo "PASS: SIGTERM during conversion left the device byte-identical"
    ;;
rogue-ca)
    [ $rc -eq 0 ] || fail "run exited $rc; a reporting failure must not fail it"
    [ "$outcome" = Succeeded ] || fail "outcome $outcome"
    n=$(requests | jq -s 'length')
    [ "$n" -eq 0 ] || fail "$n request(s) reached a server with an untrusted certificate"
    grep -qi 'certificate\|TLS\|SSL' "$T/agent.log" ||
        fail "the log does not say why the server was refused"
    echo "PASS: a server certificate from another CA was refused"
    ;;
esac
