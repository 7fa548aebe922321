#!/usr/bin/python3
"""Validate Kubernetes objects against the strict JSON schemas in
SHARED_DATA/schemas (kubectl cannot validate offline here).

    validate-k8s.py SCHEMAS_DIR FILE...

Each FILE is JSON (an object or an array of objects) or YAML (one or
more documents, if python3-yaml is available).  Every object's kind must
have a schema, or be one of the kinds below that are checked
structurally; each is validated and, to prove the check can fail, a
copy with an unknown field under its spec (or top level) must be
refused.  Exit 0 if all are valid, 1 otherwise.

Kinds with no schema in SHARED_DATA (Namespace, ServiceAccount, Secret,
Role, ClusterRole, RoleBinding, ClusterRoleBinding, CronJob,
Kustomization) get a small strict check of our own, written from the
Kubernetes API reference: the allowed and required fields, the RBAC
rule fields and known verbs (no wildcards), bindings that name a role
and service accounts given in the same FILEs, and a CronJob's
jobTemplate validated as a Job against the Job schema.  That is a
structural check only, not the API server's validation.
"""
import copy
import json
import os
import re
import sys

import jsonschema

SCHEMAS = {
    ("v1", "Pod"): "k8s/pod-v1.json",
    ("v1", "Event"): "k8s/event-v1.json",
    ("v1", "PersistentVolume"): "k8s/persistentvolume-v1.json",
    ("v1", "PersistentVolumeClaim"): "k8s/persistentvolumeclaim-v1.json",
    ("v1", "ConfigMap"): "k8s/configmap-v1.json",
    ("batch/v1", "Job"): "k8s/job-batch-v1.json",
    ("networking.k8s.io/v1", "NetworkPolicy"):
        "k8s/networkpolicy-networking-v1.json",
    ("kubevirt.io/v1", "VirtualMachine"): "kubevirt.io/virtualmachine_v1.json",
}


# --- Structural checks for the kinds with no schema -------------------

RBAC = "rbac.authorization.k8s.io/v1"
VERBS = {"get", "list", "watch", "create", "update", "patch", "delete",
         "deletecollection"}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}


class Problems:
    def __init__(self):
        self.list = []

    def add(self, where, msg):
        self.list.append("%s: %s" % (where, msg))


def fields(pr, where, obj, allowed, required=()):
    if not isinstance(obj, dict):
        pr.add(where, "must be an object")
        return False
    for k in obj:
        if k not in allowed:
            pr.add(where, "unknown field '%s'" % k)
    for k in required:
        if k not in obj:
            pr.add(where, "'%s' is required" % k)
    return True


def string_list(pr, where, v, nonempty=True):
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        pr.add(where, "must be a list of strings")
        return False
    if nonempty and not v:
        pr.add(where, "must not be empty")
        return False
    return True


def string_map(pr, where, v):
    if not isinstance(v, dict) or not all(
            isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
        pr.add(where, "must be a map of strings to strings")


def check_metadata(pr, obj):
    kind = obj.get("kind")
    meta = obj.get("metadata")
    if not fields(pr, "metadata", meta,
                  {"name", "namespace", "labels", "annotations"}, ("name",)):
        return
    name = meta.get("name")
    pattern = DNS_LABEL if kind == "Namespace" else DNS_SUBDOMAIN
    if not isinstance(name, str) or not pattern.match(name):
        pr.add("metadata/name", "'%s' is not a valid name" % name)
    if kind in CLUSTER_SCOPED:
        if "namespace" in meta:
            pr.add("metadata/namespace", "%s is cluster-scoped" % kind)
    elif not isinstance(meta.get("namespace"), str) or \
            not DNS_LABEL.match(meta["namespace"]):
        pr.add("metadata/namespace", "a namespace is required")
    for k in ("labels", "annotations"):
        if k in meta:
            string_map(pr, "metadata/" + k, meta[k])


def check_namespace(pr, obj, ctx):
    fields(pr, "", obj, {"apiVersion", "kind", "metadata"}, ("metadata",))
    check_metadata(pr, obj)


def check_serviceaccount(pr, obj, ctx):
    fields(pr, "", obj, {"apiVersion", "kind", "metadata",
                         "automountServiceAccountToken"}, ("metadata",))
    check_metadata(pr, obj)
    if not isinstance(obj.get("automountServiceAccountToken", True), bool):
        pr.add("automountServiceAccountToken", "must be a boolean")


def check_secret(pr, obj, ctx):
    fields(pr, "", obj, {"apiVersion", "kind", "metadata", "type", "data",
                         "stringData", "immutable"}, ("metadata",))
    check_metadata(pr, obj)
    if not isinstance(obj.get("type", "Opaque"), str):
        pr.add("type", "must be a string")
    for k in ("data", "stringData"):
        if k in obj:
            string_map(pr, k, obj[k])
            for key in obj[k] if isinstance(obj[k], dict) else ():
                if not re.match(r"^[-._a-zA-Z0-9]+$", key):
                    pr.add("%s/%s" % (k, key), "not a valid key")
    if "data" in obj and isinstance(obj["data"], dict):
        import base64
        for key, v in obj["data"].items():
            try:
                base64.b64decode(v, validate=True)
            except Exception:
                pr.add("data/" + key, "not base64")


def check_rules(pr, rules):
    if not isinstance(rules, list) or not rules:
        pr.add("rules", "must be a non-empty list")
        return
    for i, r in enumerate(rules):
        w = "rules/%d" % i
        if not fields(pr, w, r, {"apiGroups", "resources", "verbs",
                                 "resourceNames"},
                      ("apiGroups", "resources", "verbs")):
            continue
        for k in ("apiGroups", "resources", "verbs", "resourceNames"):
            if k in r and string_list(pr, "%s/%s" % (w, k), r[k],
                                      nonempty=k != "apiGroups"):
                if "*" in r[k]:
                    pr.add("%s/%s" % (w, k), "no wildcards: grant what is "
                           "used")
        for v in r.get("verbs") or ():
            if v not in VERBS and v != "*":
                pr.add(w + "/verbs", "unknown verb '%s'" % v)
        if "resourceNames" in r and set(r.get("verbs") or ()) & {
                "create", "list", "watch", "deletecollection"}:
            pr.add(w, "resourceNames cannot restrict create, list, watch "
                   "or deletecollection")


def check_role(pr, obj, ctx):
    fields(pr, "", obj, {"apiVersion", "kind", "metadata", "rules"},
           ("metadata", "rules"))
    check_metadata(pr, obj)
    check_rules(pr, obj.get("rules"))


def check_binding(pr, obj, ctx):
    fields(pr, "", obj, {"apiVersion", "kind", "metadata", "roleRef",
                         "subjects"}, ("metadata", "roleRef", "subjects"))
    check_metadata(pr, obj)
    cluster = obj.get("kind") == "ClusterRoleBinding"
    ns = (obj.get("metadata") or {}).get("namespace")
    ref = obj.get("roleRef")
    if fields(pr, "roleRef", ref, {"apiGroup", "kind", "name"},
              ("apiGroup", "kind", "name")):
        if ref.get("apiGroup") != "rbac.authorization.k8s.io":
            pr.add("roleRef/apiGroup", "must be rbac.authorization.k8s.io")
        if ref.get("kind") not in (("ClusterRole",) if cluster
                                   else ("Role", "ClusterRole")):
            pr.add("roleRef/kind", "'%s' cannot be bound here"
                   % ref.get("kind"))
        elif ref.get("kind") == "Role" and \
                ("Role", ns, ref.get("name")) not in ctx:
            pr.add("roleRef", "no Role %s/%s in these files"
                   % (ns, ref.get("name")))
        elif ref.get("kind") == "ClusterRole" and \
                ("ClusterRole", None, ref.get("name")) not in ctx:
            pr.add("roleRef", "no ClusterRole %s in these files"
                   % ref.get("name"))
    subjects = obj.get("subjects")
    if not isinstance(subjects, list) or not subjects:
        pr.add("subjects", "must be a non-empty list")
        return
    for i, sub in enumerate(subjects):
        w = "subjects/%d" % i
        if not fields(pr, w, sub, {"kind", "name", "namespace", "apiGroup"},
                      ("kind", "name")):
            continue
        if sub.get("kind") != "ServiceAccount":
            pr.add(w + "/kind", "only ServiceAccount subjects are used here")
            continue
        if "apiGroup" in sub and sub["apiGroup"] != "":
            pr.add(w + "/apiGroup", "a ServiceAccount's apiGroup is \"\"")
        if ("ServiceAccount", sub.get("namespace"), sub.get("name")) \
                not in ctx:
            pr.add(w, "no ServiceAccount %s/%s in these files"
                   % (sub.get("namespace"), sub.get("name")))


def check_cronjob(pr, obj, ctx):
    fields(pr, "", obj, {"apiVersion", "kind", "metadata", "spec"},
           ("metadata", "spec"))
    check_metadata(pr, obj)
    spec = obj.get("spec")
    if not fields(pr, "spec", spec, {
            "schedule", "timeZone", "jobTemplate", "concurrencyPolicy",
            "suspend", "startingDeadlineSeconds",
            "successfulJobsHistoryLimit", "failedJobsHistoryLimit"},
            ("schedule", "jobTemplate")):
        return
    sched = spec.get("schedule")
    if not isinstance(sched, str) or (len(sched.split()) != 5 and
                                      not sched.startswith("@")):
        pr.add("spec/schedule", "not a cron schedule (five fields)")
    if spec.get("concurrencyPolicy", "Allow") not in ("Allow", "Forbid",
                                                      "Replace"):
        pr.add("spec/concurrencyPolicy", "Allow, Forbid or Replace")
    if not isinstance(spec.get("suspend", False), bool):
        pr.add("spec/suspend", "must be a boolean")
    for k in ("startingDeadlineSeconds", "successfulJobsHistoryLimit",
              "failedJobsHistoryLimit"):
        if k in spec and (not isinstance(spec[k], int) or spec[k] < 0):
            pr.add("spec/" + k, "must be a non-negative integer")
    if "timeZone" in spec and not isinstance(spec["timeZone"], str):
        pr.add("spec/timeZone", "must be a string")
    jt = spec.get("jobTemplate")
    if not fields(pr, "spec/jobTemplate", jt, {"metadata", "spec"},
                  ("spec",)):
        return
    # The template is a Job in all but name: hold it to the Job schema.
    meta = dict(jt.get("metadata") or {})
    meta.setdefault("name", (obj.get("metadata") or {}).get("name", "cronjob"))
    meta.setdefault("namespace", (obj.get("metadata") or {}).get("namespace"))
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
           "spec": jt["spec"]}
    v = ctx["validator"](("batch/v1", "Job"))
    for e in sorted(v.iter_errors(job), key=lambda e: list(e.path)):
        pr.add("spec/jobTemplate/" + "/".join(map(str, e.path)), e.message)


def check_kustomization(pr, obj, ctx):
    fields(pr, "", obj, {"apiVersion", "kind", "namespace", "resources",
                         "labels", "images"}, ("resources",))
    if "namespace" in obj and not DNS_LABEL.match(str(obj["namespace"])):
        pr.add("namespace", "not a valid namespace")
    if string_list(pr, "resources", obj.get("resources")):
        base = os.path.dirname(ctx["path"])
        for r in obj["resources"]:
            if not os.path.isfile(os.path.join(base, r)):
                pr.add("resources", "'%s' is not a file beside "
                       "kustomization.yaml" % r)
    for i, img in enumerate(obj.get("images") or ()):
        fields(pr, "images/%d" % i, img, {"name", "newName", "newTag",
                                          "digest"}, ("name",))


STRUCTURAL = {
    ("v1", "Namespace"): check_namespace,
    ("v1", "ServiceAccount"): check_serviceaccount,
    ("v1", "Secret"): check_secret,
    (RBAC, "Role"): check_role,
    (RBAC, "ClusterRole"): check_role,
    (RBAC, "RoleBinding"): check_binding,
    (RBAC, "ClusterRoleBinding"): check_binding,
    ("batch/v1", "CronJob"): check_cronjob,
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"):
        check_kustomization,
}


class StructuralValidator:
    """The subset of a jsonschema validator that main() uses."""

    def __init__(self, check, ctx):
        self.check, self.ctx = check, ctx

    def problems(self, obj):
        pr = Problems()
        self.check(pr, obj, self.ctx)
        return pr.list

    def is_valid(self, obj):
        return not self.problems(obj)


def load(path):
    with open(path) as f:
        text = f.read()
    if path.endswith((".yaml", ".yml")):
        import yaml
        return [d for d in yaml.safe_load_all(text) if d is not None]
    data = json.loads(text)
    return data if isinstance(data, list) else [data]


def main():
    schemas_dir, files = sys.argv[1], sys.argv[2:]
    cache = {}
    bad = 0
    n = 0

    def schema_validator(key):
        if key not in cache:
            with open(os.path.join(schemas_dir, SCHEMAS[key])) as f:
                schema = json.load(f)
            cache[key] = jsonschema.validators.validator_for(schema)(
                schema, format_checker=jsonschema.FormatChecker())
        return cache[key]

    docs = [(path, obj) for path in files for obj in load(path)]
    # What bindings may refer to: the roles and service accounts given.
    known = set()
    for _, obj in docs:
        if obj.get("kind") in ("Role", "ClusterRole", "ServiceAccount"):
            meta = obj.get("metadata") or {}
            known.add((obj["kind"], meta.get("namespace"), meta.get("name")))

    for path, obj in docs:
        key = (obj.get("apiVersion"), obj.get("kind"))
        name = "%s %s/%s" % (path, key[1],
                             (obj.get("metadata") or {}).get("name"))
        if key in SCHEMAS:
            v = schema_validator(key)
            errors = ["%s: %s" % ("/".join(map(str, e.path)), e.message)
                      for e in sorted(v.iter_errors(obj),
                                      key=lambda e: list(e.path))]
        elif key in STRUCTURAL:
            ctx = {"path": path, "validator": schema_validator}
            ctx.update(dict.fromkeys(known, True))
            v = StructuralValidator(STRUCTURAL[key], ctx)
            errors = v.problems(obj)
        else:
            print("%s: no schema for %s %s" % (name, *key))
            bad += 1
            continue
        for e in errors:
            print("%s: %s" % (name, e))
        bad += bool(errors)
        n += 1
        # The same object with a typo must fail, or this proves
        # nothing about the schema's strictness.
        mutant = copy.deepcopy(obj)
        target = mutant.get("spec") if isinstance(mutant.get("spec"),
                                                  dict) else mutant
        target["notAField"] = True
        if v.is_valid(mutant):
            print("%s: a copy with an unknown field passed: the schema "
                  "is not strict" % name)
            bad += 1
    print("validate-k8s: %d object(s), %d problem(s)" % (n, bad))
    return 1 if bad or n == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
