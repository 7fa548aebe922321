#!/bin/bash
# "v2v-agent run" without an appliance (--skip-conversion, or stopped
# while it waits for a disk), against the strict fake kube-apiserver:
# retries through injected faults, Retry-After, a timed-out request, a
# dropped connection; --timeout and SIGTERM; Forklift's settings; no
# secret in the logs.  Fast enough for the unit tier, so it also runs
# under the sanitizers.
#
#   agent-run-without-appliance.sh   (V2V_AGENT, SHARED_DATA from the environment)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/functions.sh"
: "${V2V_AGENT:?}" "${SHARED_DATA:?}"
agent=$V2V_AGENT
unset V2V_AGENT
export V2V_ACCEL=tcg V2V_LOG_FORMAT=json

requires python3 jq sfdisk mkfs.ext4 openssl

scratch_dir T v2v-agent-run

# A small disk an OS could live on: one bootable ext4 partition.
mkdir "$T/dev"
truncate -s 64M "$T/disk.img"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$T/disk.img"
mkfs.ext4 -q -F -E offset=1048576 "$T/disk.img" 60M
ln -s "$T/disk.img" "$T/dev/block0"
sum_before=$(sha256sum < "$T/disk.img")

ns=v2v pod=convert-vm-1 token=tok-$RANDOM$RANDOM-s3cret
cat > "$T/seed.json" <<JSON
[{"apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "$pod", "namespace": "$ns", "uid": "u-1234"},
  "spec": {"containers": [{"name": "agent", "image": "v2v-agent:test"}]}}]
JSON
# The first two Events get 500, the next is dropped on the floor and
# the one after gets 409 (as if an earlier try had made it); the
# first Pod patch gets 429 (Retry-After: 1), the second outlives the
# agent's 10 s request timeout.
cat > "$T/faults.json" <<'JSON'
[{"method": "POST", "path_regex": "/events$", "times": 2, "status": 500},
 {"method": "POST", "path_regex": "/events$", "times": 1, "drop": true},
 {"method": "POST", "path_regex": "/events$", "times": 1, "status": 409},
 {"method": "PATCH", "path_regex": "/pods/", "times": 1, "status": 429,
  "retry_after": 1},
 {"method": "PATCH", "path_regex": "/pods/", "times": 1, "delay": 11}]
JSON
start_kube_fake --token "$token" --seed "$T/seed.json" \
    --faults "$T/faults.json"
port=$KUBE_PORT

kubeconfig () {     # kubeconfig FILE [insecure]
    local ca_line="certificate-authority: certs/ca.crt"
    [ "${2:-}" = insecure ] && ca_line="insecure-skip-tls-verify: true"
    cat > "$1" <<YAML
apiVersion: v1
kind: Config
current-context: c
contexts:
- name: c
  context:
    cluster: fake
    user: agent
    namespace: $ns
clusters:
- name: fake
  cluster:
    server: "https://127.0.0.1:$port/"
    $ca_line
users:
- name: agent
  user:
    tokenFile: token
YAML
}
printf '%s\n' "$token" > "$T/token"
kubeconfig "$T/kubeconfig"
kubeconfig "$T/kubeconfig-insecure" insecure
export KUBECONFIG=$T/kubeconfig POD_NAME=$pod
unset POD_NAMESPACE KUBERNETES_SERVICE_HOST

requests () { cat "$KUBE_RECORD" 2>/dev/null || true; }

python3 "$here/../tools/status-receiver.py" "$T/status-posts" "$T/status-port" &
status_pid=$!
kill_on_exit $status_pid
wait_for_file "$T/status-port" $status_pid status-receiver.py

# --- 1. skip-conversion through faults -----------------------------------
rc=0
"$agent" run --device-dir "$T/dev" --skip-conversion \
    --status-url "http://127.0.0.1:$(cat "$T/status-port")/v2v/status" \
    --termination-log "$T/term1" 2> "$T/log1" || rc=$?
[ $rc -eq 0 ] || { cat "$T/log1"; fail "skip-conversion run exited $rc"; }
jq -e '.outcome == "Succeeded" and .reason == "ConversionSkipped"' \
    "$T/term1" >/dev/null || fail "termination message: $(cat "$T/term1")"
for r in Devices Probing ConversionSkipped; do
    # 409: the server says it has it (here, an injected fault).
    requests | jq -se --arg r "$r" 'any(.[]; .method == "POST" and
        .body.reason? == $r and (.status == 201 or .status == 409))' \
        >/dev/null || fail "Event $r never created"
done
n500=$(requests | jq -s '[.[] | select(.method == "POST" and .status == 500)] | length')
ndrop=$(requests | jq -s '[.[] | select(.dropped == true)] | length')
[ "$n500" -eq 2 ] && [ "$ndrop" -eq 1 ] ||
    fail "faults not all hit: $n500 x 500, $ndrop dropped"
# Retry-After was honoured, and the final annotations arrived.
python3 - "$KUBE_RECORD" <<'PY' || fail "the 429 was not retried after Retry-After"
import json, sys, datetime
reqs = [json.loads(l) for l in open(sys.argv[1])]
patches = [r for r in reqs if r["method"] == "PATCH" and "/pods/" in r["path"]]
t = lambda r: datetime.datetime.fromisoformat(r["time"].rstrip("Z"))
i = next(i for i, r in enumerate(patches) if r["status"] == 429)
assert i + 1 < len(patches), "no patch after the 429"
gap = (t(patches[i + 1]) - t(patches[i])).total_seconds()
assert gap >= 0.95, f"retried {gap:.2f} s after a Retry-After of 1 s"
PY
curl -sf --cacert "$T/certs/ca.crt" "https://127.0.0.1:$port/_fake/objects" |
    jq -e --arg n "$pod" '[.. | objects | select(.kind? == "Pod" and
        .metadata.name == $n)][0].metadata.annotations["v2v.kubevirt.io/result"]
        | fromjson | .outcome == "Succeeded"' >/dev/null ||
    fail "the result annotation did not arrive"
bad=$(requests | jq -c 'select(.schema_errors // [] | length > 0)')
[ -z "$bad" ] || fail "bodies the schema refused: $bad"
[ "$(sha256sum < "$T/disk.img")" = "$sum_before" ] ||
    fail "--skip-conversion wrote to the disk"
grep -qF -- "$token" "$T/log1" "$T/term1" "$KUBE_RECORD" &&
    fail "the token leaked"
# A 409 ends the Event's retries: nothing more is sent for it.
requests | jq -se '[.[] | select(.method == "POST" and .body.reason? == "Devices")]
    | length == 4 and .[-1].status == 409' >/dev/null ||
    fail "the Devices Event was not 500, 500, dropped, 409 and no more"
! grep -q 'refused it (HTTP 409)' "$T/log1" ||
    fail "a 409 on an Event (made by an earlier try) was treated as an error"
# --status-url got the status JSON, ending with the outcome.
jq -se 'length >= 1 and all(.[]; .ct == "application/json") and
    (.[-1].body | .outcome == "Succeeded" and .reason == "ConversionSkipped"
     and .phase != null and (.warnings | type == "array"))' \
    "$T/status-posts" >/dev/null ||
    fail "--status-url: $(cat "$T/status-posts" 2>/dev/null)"
echo "ok 1: reported through 500, a dropped connection, 409, 429 and a timeout"

# --- 1b. a repeated Event is counted, not repeated --------------------------
if [ -n "${REPORTER_EVENTS:-}" ]; then
    curl -sf -X POST --cacert "$T/certs/ca.crt" -H 'Content-Type: application/json' \
        -d '[]' "https://127.0.0.1:$port/_fake/faults" >/dev/null
    POD_NAMESPACE=$ns "$REPORTER_EVENTS" "W:DiskSlow:block0 is slow" \
        "N:Other:x" "W:DiskSlow:block0 is slow" "W:DiskSlow:block0 is slow" ||
        fail "reporter-events failed"
    ev=$(requests | jq -s '[.[] | select(.body.reason? == "DiskSlow" or
        (.method == "PATCH" and (.path | contains("/events/"))))]')
    echo "$ev" | jq -e 'length == 3 and .[0].method == "POST" and
        .[0].body.count == 1 and .[1].method == "PATCH" and
        .[1].body.count == 2 and .[2].body.count == 3 and
        (.[0].body.metadata.name as $n | .[1].path | endswith($n)) and
        all(.[]; .status == 201 or .status == 200)' >/dev/null ||
        fail "a repeated Event: $(echo "$ev" | jq -c '[.[] | {method, path, count: .body.count, status}]')"
    stored=$(curl -sf --cacert "$T/certs/ca.crt" "https://127.0.0.1:$port/_fake/objects" |
        jq '[.. | objects | select(.kind? == "Event" and .reason? == "DiskSlow")]')
    echo "$stored" | jq -e 'length == 1 and .[0].count == 3 and
        .[0].type == "Warning"' >/dev/null || fail "stored Events: $stored"
    echo "ok 1b: a repeated Event is one Event with count 3"
fi

# --- 2. --timeout while waiting for a disk that never comes ----------------
mkdir "$T/dev2"
ln -s "$T/disk.img" "$T/dev2/block1"          # block0 never appears
start=$(date +%s)
rc=0
"$agent" run --device-dir "$T/dev2" --timeout 2 \
    --termination-log "$T/term2" 2> "$T/log2" || rc=$?
took=$(( $(date +%s) - start ))
[ $rc -eq 15 ] || { cat "$T/log2"; fail "--timeout exited $rc, want 15"; }
# Without --timeout the wait for block0 lasts 300 s; 2 s plus the 10 s
# cap on the last report is 12 s, and the bound leaves room for a slow
# machine (valgrind makes a loaded one take over 20 s).
[ $took -lt 60 ] || fail "--timeout 2 took $took s"
jq -e '.outcome == "Cancelled" and .reason == "Timeout" and .exitCode == 15' \
    "$T/term2" >/dev/null || fail "termination message: $(cat "$T/term2")"
# The Event has the 10 s the agent gives its last report once cancelled.
# Under valgrind (the wrapper in build-valgrind/valgrind/) on a loaded
# machine, a TLS handshake alone can take that long: there the run is
# checked for memory errors, and the Event only by the normal run.
case $agent in
    */valgrind/*) ;;
    *) requests | jq -se 'any(.[]; .body.reason? == "Timeout" and
           .body.type == "Warning" and .status == 201)' >/dev/null ||
           fail "no Timeout Warning Event" ;;
esac
echo "ok 2: --timeout cancels a run waiting for its disks ($took s)"

# --- 3. SIGTERM while waiting ----------------------------------------------
"$agent" run --device-dir "$T/dev2" --termination-log "$T/term3" \
    2> "$T/log3" &
apid=$!
# Once it waits for its disk, not after a fixed time: under valgrind
# the agent takes seconds to start, and SIGTERM before its handler would
# kill it outright.
for _ in $(seq 300); do
    grep -q 'waiting for device' "$T/log3" 2>/dev/null && break
    sleep 0.1
done
kill -TERM $apid
rc=0
wait $apid || rc=$?
[ $rc -eq 15 ] || fail "SIGTERM: exit $rc, want 15"
jq -e '.outcome == "Cancelled" and .reason == "Cancelled"' "$T/term3" \
    >/dev/null || fail "termination message: $(cat "$T/term3")"
echo "ok 3: SIGTERM cancels"

# --- 4. Forklift's settings ------------------------------------------------
rc=0
V2V_source=vSphere "$agent" run --device-dir "$T/dev" --skip-conversion \
    --termination-log "$T/term4" 2> "$T/log4" || rc=$?
[ $rc -eq 2 ] && grep -q 'V2V_inPlace' "$T/log4" ||
    fail "V2V_source=vSphere without V2V_inPlace: exit $rc"
rc=0
V2V_extra_args='["--cloud-init", "bogus"]' "$agent" run --device-dir "$T/dev" \
    --skip-conversion 2> "$T/log5" || rc=$?
[ $rc -eq 2 ] && grep -q "cloud-init.*bogus" "$T/log5" ||
    fail "a bad value in V2V_extra_args: exit $rc"
rc=0
"$agent" run --device-dir "$T/dev" --skip-conversion --deadline 5m \
    2> "$T/log5c" || rc=$?
[ $rc -eq 2 ] && grep -q -- '--deadline 5m: expected seconds' "$T/log5c" ||
    fail "--deadline 5m: exit $rc"
# The command line wins over V2V_extra_args.
rc=0
V2V_extra_args='["--cloud-init", "bogus"]' "$agent" run --device-dir "$T/dev" \
    --skip-conversion --cloud-init keep 2> "$T/log5b" || rc=$?
[ $rc -eq 0 ] || fail "--cloud-init on the command line did not win: exit $rc"
rc=0
V2V_source=ec2 V2V_secretKey=very-secret-value V2V_libvirtURL=vpx://x \
V2V_extra_args='["--compat=check"]' \
    "$agent" run --device-dir "$T/dev" --skip-conversion 2> "$T/log6" || rc=$?
[ $rc -eq 0 ] || fail "supported Forklift settings: exit $rc"
[ "$(grep -c 'V2V_secretKey is not supported' "$T/log6")" -eq 1 ] ||
    fail "V2V_secretKey not warned about exactly once"
grep -q 'V2V_libvirtURL is not supported' "$T/log6" ||
    fail "V2V_libvirtURL not warned about"
! grep -q 'very-secret-value' "$T/log6" || fail "a V2V_ value was logged"
echo "ok 4: Forklift settings mapped, refused or warned about"

# --- 5. insecure only when the kubeconfig says so, and loudly --------------
rc=0
KUBECONFIG=$T/kubeconfig-insecure "$agent" run --device-dir "$T/dev" \
    --skip-conversion 2> "$T/log7" || rc=$?
[ $rc -eq 0 ] || fail "insecure kubeconfig: exit $rc"
jq -se 'any(.[]; .level == "warning" and (.msg | startswith("INSECURE")))' \
    "$T/log7" >/dev/null || { cat "$T/log7" >&2; fail "insecure-skip-tls-verify was not logged loudly"; }
echo "ok 5: insecure-skip-tls-verify is obeyed and logged as a warning"
echo "PASS: agent-run-without-appliance"
