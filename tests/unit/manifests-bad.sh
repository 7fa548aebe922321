#!/bin/bash
# manifests-bad.sh SCHEMAS_DIR: tests/tools/validate-k8s.py refuses
# manifests-bad/bad.yaml and names each of its problems, so that the
# structural checks of the kinds with no schema are known to bite.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/functions.sh"

rc=0
out=$(/usr/bin/python3 "$here/../tools/validate-k8s.py" "$1" \
      "$here/manifests-bad/bad.yaml" 2>/dev/null) || rc=$?
echo "$out"
[ $rc -eq 1 ] || fail "bad.yaml: exit $rc, not 1"
while read -r want; do
    grep -qF -- "$want" <<< "$out" || fail "no problem mentions: $want"
done <<'WANT'
Role/wildcard: rules/0/verbs: no wildcards
Role/badverb: rules/0: unknown field 'resourceName'
Role/badverb: rules/0/verbs: unknown verb 'read'
ClusterRole/scoped: metadata/namespace: ClusterRole is cluster-scoped
ClusterRole/scoped: rules/0: resourceNames cannot restrict
RoleBinding/dangling: roleRef: no Role ns/missing
RoleBinding/dangling: subjects/0: no ServiceAccount ns/nobody
ClusterRoleBinding/boundrole: roleRef/kind: 'Role' cannot be bound here
ClusterRoleBinding/boundrole: subjects/0/kind: only ServiceAccount
Secret/s: data/key: not base64
ServiceAccount/sa: metadata/namespace: a namespace is required
CronJob/cj: spec/schedule: not a cron schedule
CronJob/cj: spec/jobTemplate/spec/template/spec/containers/0: Additional properties are not allowed ('notAContainerField'
resources: 'no-such-file.yaml' is not a file
Namespace/Not_A_Name: : unknown field 'spec'
Namespace/Not_A_Name: metadata/name: 'Not_A_Name' is not a valid name
no schema for apps/v1 Deployment
WANT
echo "PASS: every problem of bad.yaml is listed"
