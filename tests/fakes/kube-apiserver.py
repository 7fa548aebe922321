#!/usr/bin/python3
"""A strict loopback fake of the Kubernetes API server, for tests.

No real kube-apiserver exists on the machines that run these tests, so the
agent and the orchestrator are tested against this fake instead.  It is
strict on purpose: a request that a real API server would refuse must fail
here too, or the bug is only found on a real cluster.  Every object written
is validated against the JSON schemas in the shared data directory, and the
fake refuses what the schemas, ObjectMeta rules and a few cheap semantic
rules refuse.  See docs/testing-fakes.md for what it does not check.

Python standard library plus python3-jsonschema only.
"""

import argparse
import base64
import copy
import datetime
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

import jsonschema

import fakeserver
import virt_launcher
from fakeserver import BodyError, DropConnection, FaultRuleError

# A real API server refuses request bodies over 3 MiB (etcd's limit is
# about 1.5 MiB per object); anything larger here is a client bug.
MAX_BODY = 3 * 1024 * 1024


# --- the resources the fake serves ------------------------------------------

class Resource:
    def __init__(self, group, version, plural, kind, namespaced, schema,
                 subresources=(), typed=True):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.schema = schema          # relative to --schemas, or None
        self.subresources = subresources
        # Built-in types are served typed: their list items carry no kind
        # or apiVersion.  Custom resources are served unstructured and the
        # items keep them.  Clients that rely on either get caught here.
        self.typed = typed
        self.validator = None

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self):
        # How Kubernetes names the resource in Status messages: pods,
        # jobs.batch, virtualmachines.kubevirt.io.
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES = [
    Resource("", "v1", "pods", "Pod", True, "k8s/pod-v1.json",
             ("status", "log")),
    Resource("", "v1", "events", "Event", True, "k8s/event-v1.json"),
    Resource("", "v1", "persistentvolumes", "PersistentVolume", False,
             "k8s/persistentvolume-v1.json"),
    Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True,
             "k8s/persistentvolumeclaim-v1.json"),
    Resource("", "v1", "configmaps", "ConfigMap", True,
             "k8s/configmap-v1.json"),
    # No schema is available for Node; the generic checks still apply.
    Resource("", "v1", "nodes", "Node", False, None),
    Resource("batch", "v1", "jobs", "Job", True, "k8s/job-batch-v1.json",
             ("status",)),
    Resource("kubevirt.io", "v1", "virtualmachines", "VirtualMachine", True,
             "kubevirt.io/virtualmachine_v1.json", ("status",), typed=False),
    # KubeVirt's VMI CRD has no status subresource: virt-handler writes
    # the whole object.
    Resource("kubevirt.io", "v1", "virtualmachineinstances",
             "VirtualMachineInstance", True,
             "kubevirt.io/virtualmachineinstance_v1.json", typed=False),
]
BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}

# Field selectors a real API server accepts for these resources.  Any other
# field is refused with 400, as Kubernetes does.
FIELD_SELECTORS = {
    "pods": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
             "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
             "status.podIP", "status.nominatedNodeName"},
    "events": {"involvedObject.kind", "involvedObject.namespace",
               "involvedObject.name", "involvedObject.uid",
               "involvedObject.apiVersion", "involvedObject.resourceVersion",
               "involvedObject.fieldPath", "reason", "reportingComponent",
               "source", "type"},
    "nodes": {"spec.unschedulable"},
    "jobs": {"status.successful"},
}

OBJECT_META_FIELDS = {
    "annotations", "creationTimestamp", "deletionGracePeriodSeconds",
    "deletionTimestamp", "finalizers", "generateName", "generation", "labels",
    "managedFields", "name", "namespace", "ownerReferences",
    "resourceVersion", "selfLink", "uid",
}

REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden",
    404: "NotFound", 405: "MethodNotAllowed", 406: "NotAcceptable",
    409: "Conflict", 410: "Expired", 413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
    500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
}


class ApiError(Exception):
    """A request that ends in a Kubernetes Status reply."""

    def __init__(self, code, message, reason=None, details=None,
                 schema_errors=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "")
        self.details = details
        self.schema_errors = schema_errors


def status_object(code, message, reason=None, details=None):
    st = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reason if reason is not None else REASONS.get(code, ""),
        "code": code,
    }
    if details is not None:
        st["details"] = details
    return st


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


# --- formats -----------------------------------------------------------------

# jsonschema only checks date-time when an optional package is installed,
# and never checks Kubernetes' int32/int64/byte, so the fake checks them
# itself: a timestamp Go cannot parse is refused by a real API server.
FORMATS = jsonschema.FormatChecker(formats=())
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


@FORMATS.checks("date-time")
def _is_datetime(value):
    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        return False
    try:
        datetime.datetime.fromisoformat(
            re.sub(r"\.\d+", "", value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@FORMATS.checks("int32")
def _is_int32(value):
    return not isinstance(value, int) or -2**31 <= value < 2**31


@FORMATS.checks("int64")
def _is_int64(value):
    return not isinstance(value, int) or -2**63 <= value < 2**63


@FORMATS.checks("byte")
def _is_byte(value):
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value, validate=True)
    except ValueError:
        return False
    return True


# --- ObjectMeta rules that the schemas cannot express -----------------------

DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def check_qualified_name(key, field, errors):
    prefix, _, name = key.rpartition("/")
    if "/" in key:
        if not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix):
            errors.append(f"{field}: Invalid value: {key!r}: prefix part must "
                          "be a lowercase RFC 1123 subdomain")
    if not name or len(name) > 63 or not LABEL_NAME.match(name):
        errors.append(f"{field}: Invalid value: {key!r}: name part must "
                      "consist of alphanumeric characters, '-', '_' or '.', "
                      "at most 63, starting and ending with an alphanumeric")


def validate_meta(res, obj, errors):
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        errors.append("metadata: Required value")
        return
    for k in meta:
        if k not in OBJECT_META_FIELDS:
            errors.append(f"metadata.{k}: unknown field")
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        errors.append("metadata.name: Required value: name or generateName "
                      "is required")
    elif len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        errors.append(f"metadata.name: Invalid value: {name!r}: a lowercase "
                      "RFC 1123 subdomain must consist of lower case "
                      "alphanumeric characters, '-' or '.'")
    labels = meta.get("labels")
    if labels is not None:
        if not isinstance(labels, dict):
            errors.append("metadata.labels: must be a map of strings")
        else:
            for k, v in labels.items():
                check_qualified_name(k, "metadata.labels", errors)
                if (not isinstance(v, str) or len(v) > 63
                        or not LABEL_VALUE.match(v)):
                    errors.append(f"metadata.labels: Invalid value: {v!r}: a "
                                  "valid label must be an empty string or "
                                  "consist of alphanumeric characters, '-', "
                                  "'_' or '.', at most 63")
    ann = meta.get("annotations")
    if ann is not None:
        if not isinstance(ann, dict):
            errors.append("metadata.annotations: must be a map of strings")
        else:
            total = 0
            for k, v in ann.items():
                check_qualified_name(k.lower(), "metadata.annotations", errors)
                if not isinstance(v, str):
                    errors.append(f"metadata.annotations.{k}: must be a string")
                else:
                    total += len(k) + len(v)
            if total > 256 * 1024:
                errors.append("metadata.annotations: Too long: must have at "
                              "most 262144 bytes")
    if res.namespaced:
        ns = meta.get("namespace")
        if not isinstance(ns, str) or not ns:
            errors.append("metadata.namespace: Required value")
    elif meta.get("namespace"):
        errors.append("metadata.namespace: Forbidden: not allowed on this "
                      "type")


def validate_event(obj, errors):
    # A real API server runs ValidateEvent; these are the parts that catch
    # real client bugs cheaply.
    io = obj.get("involvedObject") or {}
    for f in ("kind", "name", "namespace"):
        if not io.get(f):
            errors.append(f"involvedObject.{f}: Required value")
    ns = (obj.get("metadata") or {}).get("namespace")
    if io.get("namespace") and ns and io["namespace"] != ns:
        errors.append(f"involvedObject.namespace: Invalid value: "
                      f"{io['namespace']!r}: does not match event.namespace")
    if obj.get("type") not in ("Normal", "Warning"):
        errors.append(f"type: Unsupported value: {obj.get('type')!r}: "
                      "supported values: \"Normal\", \"Warning\"")
    if not obj.get("reason"):
        errors.append("reason: Required value")
    elif len(obj["reason"]) > 128:
        errors.append("reason: Too long: may not be longer than 128")
    if obj.get("eventTime"):
        # Events with eventTime are validated by the events.k8s.io rules.
        for f in ("reportingComponent", "reportingInstance", "action"):
            if not obj.get(f):
                errors.append(f"{f}: Required value")
        if len(obj.get("message") or "") > 1024:
            errors.append("message: Too long: may not be longer than 1024")


def validate_configmap(obj, errors):
    keys = set()
    for field in ("data", "binaryData"):
        for k in (obj.get(field) or {}):
            if len(k) > 253 or not CONFIGMAP_KEY.match(k):
                errors.append(f"{field}[{k}]: Invalid value: {k!r}: a valid "
                              "config key must consist of alphanumeric "
                              "characters, '-', '_' or '.'")
            if k in keys:
                errors.append(f"{field}[{k}]: Invalid value: duplicate of key "
                              "in data")
            keys.add(k)


def schema_errors(res, obj):
    """Every reason why OBJ is not a valid RES, as field: message strings."""
    errors = []
    if res.validator is not None:
        for e in sorted(res.validator.iter_errors(obj),
                        key=lambda e: list(map(str, e.absolute_path))):
            path = ".".join(str(p) for p in e.absolute_path) or "<root>"
            errors.append(f"{path}: {e.message}")
    validate_meta(res, obj, errors)
    if res.kind == "Event":
        validate_event(obj, errors)
    elif res.kind == "ConfigMap":
        validate_configmap(obj, errors)
    return errors


def update_errors(res, old, new):
    """Immutability rules a real API server applies on update."""
    errors = []
    if res.kind == "Pod":
        # Pod spec is immutable but for a few fields (ValidatePodUpdate).
        def strip(spec):
            spec = copy.deepcopy(spec or {})
            for f in ("activeDeadlineSeconds", "tolerations",
                      "terminationGracePeriodSeconds", "schedulingGates"):
                spec.pop(f, None)
            for cl in ("containers", "initContainers"):
                for c in spec.get(cl) or []:
                    c.pop("image", None)
            return spec
        if strip(old.get("spec")) != strip(new.get("spec")):
            errors.append("spec: Forbidden: pod updates may not change fields "
                          "other than `spec.containers[*].image`, "
                          "`spec.initContainers[*].image`, "
                          "`spec.activeDeadlineSeconds`, "
                          "`spec.tolerations` (only additions to existing "
                          "tolerations), "
                          "`spec.terminationGracePeriodSeconds`")
    elif res.kind == "Job":
        o, n = old.get("spec") or {}, new.get("spec") or {}
        for f in ("template", "selector", "completionMode"):
            if o.get(f) != n.get(f):
                errors.append(f"spec.{f}: Invalid value: field is immutable")
    elif res.kind == "PersistentVolumeClaim":
        o = copy.deepcopy(old.get("spec") or {})
        n = copy.deepcopy(new.get("spec") or {})
        for s in (o, n):
            (s.get("resources") or {}).pop("requests", None)
            s.pop("volumeAttributesClassName", None)
        if o != n:
            errors.append("spec: Forbidden: spec is immutable after creation "
                          "except resources.requests and "
                          "volumeAttributesClassName for bound claims")
    elif res.kind == "ConfigMap" and old.get("immutable"):
        for f in ("data", "binaryData", "immutable"):
            if old.get(f) != new.get(f):
                errors.append(f"{f}: Forbidden: field is immutable when "
                              "`immutable` is set")
    return errors


# --- patches -----------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


def strategic_merge_patch(target, patch):
    # Strategic merge patch is a merge patch for maps; its list merge keys
    # and $patch directives are not implemented, and a request that uses a
    # directive is refused rather than silently misapplied.
    def reject_directives(p):
        if isinstance(p, dict):
            for k, v in p.items():
                if k.startswith("$") or k.startswith("$setElementOrder"):
                    raise ApiError(400, f"strategic merge patch directive "
                                   f"{k!r} is not supported by the fake")
                reject_directives(v)
        elif isinstance(p, list):
            for v in p:
                reject_directives(v)
    reject_directives(patch)
    if not isinstance(patch, dict):
        raise ApiError(400, "strategic merge patch must be a JSON object")
    return merge_patch(target, patch)


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, f"json patch: invalid pointer {path!r}")
    return [t.replace("~1", "/").replace("~0", "~")
            for t in path[1:].split("/")]


def _walk(doc, tokens, path):
    for t in tokens:
        if isinstance(doc, dict) and t in doc:
            doc = doc[t]
        elif isinstance(doc, list) and re.fullmatch(r"0|[1-9][0-9]*", t) \
                and int(t) < len(doc):
            doc = doc[int(t)]
        else:
            raise ApiError(422, f"json patch: path {path!r} not found")
    return doc


def _list_index(parent, t, path, adding):
    if adding and t == "-":
        return len(parent)
    if not re.fullmatch(r"0|[1-9][0-9]*", t):
        raise ApiError(422, f"json patch: invalid array index in {path!r}")
    i = int(t)
    if i > len(parent) or (not adding and i == len(parent)):
        raise ApiError(422, f"json patch: index out of range in {path!r}")
    return i


def _remove(doc, path):
    tokens = _pointer(path)
    if not tokens:
        raise ApiError(422, "json patch: cannot remove the whole document")
    parent = _walk(doc, tokens[:-1], path)
    t = tokens[-1]
    if isinstance(parent, dict):
        if t not in parent:
            raise ApiError(422, f"json patch: path {path!r} not found")
        return parent.pop(t)
    if isinstance(parent, list):
        return parent.pop(_list_index(parent, t, path, False))
    raise ApiError(422, f"json patch: path {path!r} not found")


def _add(doc, path, value):
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _walk(doc, tokens[:-1], path)
    t = tokens[-1]
    if isinstance(parent, dict):
        parent[t] = value
    elif isinstance(parent, list):
        parent.insert(_list_index(parent, t, path, True), value)
    else:
        raise ApiError(422, f"json patch: path {path!r} not found")
    return doc


def json_patch(target, ops):
    """RFC 6902 JSON Patch: add, remove, replace, move, copy and test."""
    if not isinstance(ops, list):
        raise ApiError(400, "json patch must be a JSON array of operations")
    doc = copy.deepcopy(target)
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ApiError(400, f"json patch operation {i} needs op and path")
        kind, path = op["op"], op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise ApiError(400, f"json patch operation {i} ({kind}) needs "
                           "a value")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            if not _pointer(path):
                doc = copy.deepcopy(op["value"])
                continue
            _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind in ("move", "copy"):
            if "from" not in op:
                raise ApiError(400, f"json patch operation {i} ({kind}) "
                               "needs from")
            value = copy.deepcopy(_walk(doc, _pointer(op["from"]), op["from"]))
            if kind == "move":
                _remove(doc, op["from"])
            doc = _add(doc, path, value)
        elif kind == "test":
            if _walk(doc, _pointer(path), path) != op["value"]:
                raise ApiError(422, f"json patch: test failed at {path!r}")
        else:
            raise ApiError(400, f"json patch operation {i}: unknown op "
                           f"{kind!r}")
    return doc


PATCHERS = {
    "application/merge-patch+json": merge_patch,
    "application/strategic-merge-patch+json": strategic_merge_patch,
    "application/json-patch+json": json_patch,
}


# --- selectors ---------------------------------------------------------------

def parse_label_selector(text):
    """Equality and existence requirements; set-based ones are refused."""
    reqs = []
    if not text:
        return reqs
    for part in text.split(","):
        part = part.strip()
        if re.search(r"\s(in|notin)\s*\(", part) or "(" in part:
            raise ApiError(400, f"labelSelector {part!r}: set-based "
                           "requirements are not supported by the fake")
        m = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*([^=!\s]*)", part)
        if m:
            key, op, value = m.groups()
            if not LABEL_VALUE.match(value):
                raise ApiError(400, f"labelSelector: invalid value {value!r}")
            reqs.append((key, op, value))
        elif re.fullmatch(r"!?[^=!\s]+", part):
            reqs.append((part.lstrip("!"), "!" if part[0] == "!" else "exists",
                         None))
        else:
            raise ApiError(400, f"unable to parse requirement {part!r}")
        errs = []
        check_qualified_name(reqs[-1][0], "labelSelector", errs)
        if errs:
            raise ApiError(400, errs[0])
    return reqs


def labels_match(obj, reqs):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for key, op, value in reqs:
        if op in ("=", "==") and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
        if op == "exists" and key not in labels:
            return False
        if op == "!" and key in labels:
            return False
    return True


def parse_field_selector(res, text):
    reqs = []
    if not text:
        return reqs
    allowed = {"metadata.name", "metadata.namespace"} | \
        FIELD_SELECTORS.get(res.plural, set())
    for part in text.split(","):
        m = re.fullmatch(r"\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*", part)
        if not m:
            raise ApiError(400, f"invalid field selector {part!r}")
        field, op, value = m.groups()
        if field not in allowed:
            raise ApiError(400, f'field label not supported: {field}')
        reqs.append((field, op, value))
    return reqs


def fields_match(obj, reqs):
    for field, op, value in reqs:
        v = obj
        for p in field.split("."):
            v = v.get(p) if isinstance(v, dict) else None
        if isinstance(v, bool):
            v = "true" if v else "false"
        v = "" if v is None else str(v)
        if (op == "!=") == (v == value):
            return False
    return True


# --- state -------------------------------------------------------------------

class State(fakeserver.FakeState):
    """Everything the fake knows, behind one lock."""

    FAULT_KEYS = frozenset({"method", "path_regex", "times", "status",
                            "retry_after", "delay", "drop", "message"})

    def __init__(self, args):
        super().__init__(args)
        self.seed = []
        self.objects = {}     # (group, version, plural, ns, name) -> obj
        self.rv = 0
        self.outage = args.outage
        self.faults = self.load_fault_file()
        if args.seed:
            with open(args.seed, encoding="utf-8") as f:
                self.seed = json.load(f)
            if not isinstance(self.seed, list):
                raise SystemExit("kube-apiserver.py: --seed must hold a JSON "
                                 "list of objects")
        self.kubelet = Kubelet(self, args)
        self.load_seed()

    def check_fault_rule(self, i, r):
        if r.get("path_regex") is not None:
            try:
                re.compile(r["path_regex"])
            except re.error as e:
                raise FaultRuleError(f"fault rule {i}: path_regex: {e}")

    def reset(self):
        """Back to the seed, for POST /_fake/reset (lock held)."""
        self.kubelet.reset()
        self.requests.clear()
        self.faults = []
        self.outage = None
        self.load_seed()

    def collect_dependents(self, owner, policy):
        """The garbage collector, run at once: OWNER is gone; its
        dependents (objects whose ownerReferences name its uid) are
        deleted (Background, Foreground), recursively, or lose that
        reference and stay (Orphan).  Locked."""
        uid = owner["metadata"]["uid"]
        deps = [(k, o) for k, o in self.objects.items()
                if any(r.get("uid") == uid for r in
                       (o["metadata"].get("ownerReferences") or []))]
        for key, dep in deps:
            if policy == "Orphan":
                refs = [r for r in dep["metadata"]["ownerReferences"]
                        if r.get("uid") != uid]
                if refs:
                    dep["metadata"]["ownerReferences"] = refs
                else:
                    del dep["metadata"]["ownerReferences"]
                dep["metadata"]["resourceVersion"] = self.next_rv()
                continue
            del self.objects[key]
            self.rv += 1
            self.kubelet.deleted(BY_PATH[key[:3]], dep, "Background")
            self.collect_dependents(dep, "Background")

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def load_seed(self):
        self.objects = {}
        for obj in self.seed:
            self.insert(copy.deepcopy(obj), strict=True)

    def insert(self, obj, strict):
        """Store a seed or control-API object, filling server fields."""
        if not isinstance(obj, dict):
            raise ApiError(400, "objects must be JSON objects")
        res = BY_KIND.get((obj.get("apiVersion"), obj.get("kind")))
        if res is None:
            raise ApiError(400, f"no resource for apiVersion "
                           f"{obj.get('apiVersion')!r} kind "
                           f"{obj.get('kind')!r}")
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            meta.setdefault("namespace", "default")
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_rfc3339())
        meta["resourceVersion"] = self.next_rv()
        errors = schema_errors(res, obj)
        if errors and strict:
            raise ApiError(422, f"{res.kind} {meta.get('name')!r} is invalid: "
                           + "; ".join(errors), schema_errors=errors)
        key = (res.group, res.version, res.plural, meta.get("namespace"),
               meta["name"])
        self.objects[key] = obj
        return obj

    def tokens(self):
        toks = set(self.args.token or [])
        if self.args.token_file:
            # Re-read on every request so that a test can rotate the token
            # under a running client, as the kubelet does with projected
            # service account tokens.
            try:
                with open(self.args.token_file, encoding="utf-8") as f:
                    toks |= {line.strip() for line in f if line.strip()}
            except OSError:
                pass
        return toks

    def take_fault(self, method, path):
        def matches(rule):
            return (not rule.get("method") or
                    rule["method"].upper() == method) and \
                (not rule.get("path_regex") or
                 re.search(rule["path_regex"], path))
        return super().take_fault(matches)


# --- the simulated kubelet and Job controller --------------------------------
#
# With --kubelet MODE (or POST /_fake/kubelet) the fake plays the Job
# controller and a kubelet for batch/v1 Jobs: it creates each Job's Pod,
# moves it through Pending, Running and Succeeded or Failed, and keeps the
# Job's status as a Kubernetes 1.32 Job controller would.  In "succeed" and
# "fail" the container is imaginary; in "exec" its command really runs on
# this machine.  Every status written is validated like any other write.
# See docs/testing-fakes.md, "The simulated kubelet".

KUBELET_MODES = ("off", "succeed", "fail", "exec")
# The alphabet of Kubernetes' generated name suffixes (no vowels, no 0/1/3).
NAME_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"
DEFAULT_RESULTS = {
    "succeed": {"outcome": "Succeeded", "reason": "Converted", "exitCode": 0,
                "message": "the guest was converted (simulated kubelet)"},
    "fail": {"outcome": "Failed", "reason": "StepFailed", "exitCode": 11,
             "message": "a conversion step failed (simulated kubelet)"},
}
MAX_TERMINATION_MESSAGE = 4096
BACKOFF_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"
COMPLETE_MESSAGE = "Reached expected number of succeeded pods"
# Passed from the fake's own environment to an exec'd container, so that a
# test can run sanitized builds; everything else comes from the Pod.
PASSTHROUGH_ENV = ("PATH", "LD_LIBRARY_PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS",
                   "LSAN_OPTIONS", "TSAN_OPTIONS", "TMPDIR")


class Gone(Exception):
    """The object a controller write was for no longer exists."""


class Blocked(Exception):
    """The container cannot start yet (a kubelet would retry)."""

    def __init__(self, waiting, event_reason, message):
        super().__init__(message)
        self.waiting = waiting
        self.event_reason = event_reason
        self.message = message


class SimSettings:
    """The settings of a simulated controller (the kubelet here, KubeVirt
    in virt_launcher.py), in one place for both: defaults from the command
    line, changed by POST /_fake/NAME ({key: value, ..., "rules": [...]}),
    and rules, each with REGEX_KEY, whose keys apply to the objects whose
    name matches (the first rule that matches).  MODES are the modes;
    CHECKS maps each other key to a function of its value that returns
    what is wrong with it, or None.  Used under the fake's state lock."""

    def __init__(self, what, modes, regex_key, checks, default):
        self.what = what
        self.modes = modes
        self.regex_key = regex_key
        self.checks = checks
        self.initial = dict(default)
        self.reset()

    def reset(self):
        self.default = dict(self.initial)
        self.rules = []

    def check(self, d, where):
        if not isinstance(d, dict):
            raise ApiError(400, f"{where}: must be a JSON object")
        unknown = set(d) - {"mode", self.regex_key, *self.checks}
        if unknown:
            raise ApiError(400, f"{where}: unknown keys {sorted(unknown)}")
        if "mode" in d and d["mode"] not in self.modes:
            raise ApiError(400, f"{where}: mode must be one of "
                           f"{', '.join(self.modes)}")
        for k, check in self.checks.items():
            wrong = check(d[k]) if k in d else None
            if wrong:
                raise ApiError(400, f"{where}: {k} {wrong}")
        if self.regex_key in d:
            try:
                re.compile(d[self.regex_key])
            except (re.error, TypeError) as e:
                raise ApiError(400, f"{where}: {self.regex_key}: {e}")
        return dict(d)

    def configure(self, data):
        if not isinstance(data, dict):
            raise ApiError(400, f"{self.what} settings must be a JSON object")
        top = self.check({k: v for k, v in data.items() if k != "rules"},
                         f"{self.what} settings")
        if self.regex_key in top:
            raise ApiError(400, f"{self.what}: {self.regex_key} belongs in "
                           "a rule")
        rules = None
        if "rules" in data:
            if not isinstance(data["rules"], list):
                raise ApiError(400, f"{self.what} rules must be a JSON list")
            rules = []
            for i, r in enumerate(data["rules"]):
                r = self.check(r, f"{self.what} rule {i}")
                if self.regex_key not in r:
                    raise ApiError(400, f"{self.what} rule {i} needs "
                                   f"{self.regex_key}")
                rules.append(r)
        self.default.update(top)
        if rules is not None:
            self.rules = rules

    def for_name(self, name):
        s = dict(self.default)
        for r in self.rules:
            if re.search(r[self.regex_key], name):
                s.update({k: v for k, v in r.items() if k != self.regex_key})
                break
        return s

    def as_dict(self):
        return {**self.default, "rules": [dict(r) for r in self.rules]}

    def any_mode_but(self, mode):
        """Is some object possibly in a mode other than MODE?"""
        return self.default["mode"] != mode or \
            any(r.get("mode", mode) != mode for r in self.rules)


def seconds_upto(limit):
    """A SimSettings check: a number of seconds, 0..LIMIT."""
    def check(v):
        if isinstance(v, (int, float)) and not isinstance(v, bool) and \
                0 <= v <= limit:
            return None
        return f"must be 0..{limit} seconds"
    return check


def one_of(*values, what):
    """A SimSettings check: one of VALUES (WHAT says which, in words)."""
    def check(v):
        return None if any(v is x or v == x and type(v) is type(x)
                           for x in values) else f"must be {what}"
    return check


def kubelet_result_ok(v):
    return None if v is None or isinstance(v, dict) else \
        "must be a JSON object or null"


def rand_suffix(n=5):
    return "".join(NAME_SUFFIX_CHARS[b % len(NAME_SUFFIX_CHARS)]
                   for b in os.urandom(n))


def expand_vars(text, env):
    """Kubernetes' $(VAR) expansion: $$ is a $, unknown references stay."""
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", sub, text)


class Kubelet:
    """The Job controller and kubelet; all its state is under state.lock."""

    def __init__(self, state, args):
        self.state = state
        self.args = args
        self.port = None              # set once the server listens
        self.runs = {}                # job uid -> JobRun
        self.errors = []              # writes the fake refused (must be [])
        self.workdir = tempfile.mkdtemp(prefix="kubelet-sim-")
        self.result_file = None
        if args.kubelet_result:
            with open(args.kubelet_result, encoding="utf-8") as f:
                self.result_file = json.load(f)
            if not isinstance(self.result_file, dict):
                raise SystemExit("kube-apiserver.py: --kubelet-result must "
                                 "hold a JSON object")
        self.ca = args.kubelet_ca
        if self.ca is None:
            guess = os.path.join(os.path.dirname(os.path.abspath(args.cert)),
                                 "ca.crt")
            self.ca = guess if os.path.exists(guess) else None
        self.sim = SimSettings(
            "kubelet", KUBELET_MODES, "job_regex",
            {"delay": seconds_upto(3600), "result": kubelet_result_ok},
            {"mode": self.args.kubelet, "delay": self.args.kubelet_delay,
             "result": self.result_file})
        self.stop = threading.Event()
        # KubeVirt's controllers and virt-launcher (virt_launcher.py).
        self.virt = virt_launcher.VirtLauncher(self, sys.modules[__name__])

    def settings(self):
        return {**self.sim.as_dict(),
                "running": sorted(r.job_name for r in self.runs.values()
                                  if not r.finished),
                "errors": list(self.errors)}

    def configure(self, data):
        """POST /_fake/kubelet.  Locked."""
        self.sim.configure(data)

    def settings_for(self, job_name):
        return self.sim.for_name(job_name)

    def shutdown(self):
        """The fake is stopping: no container outlives it."""
        self.stop.set()
        self.virt.shutdown()
        with self.state.lock:
            runs = list(self.runs.values())
            for run in runs:
                run.abort.set()
        for run in runs:
            if run.proc is not None:
                try:
                    os.killpg(run.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
        shutil.rmtree(self.workdir, ignore_errors=True)

    def reset(self):
        """Back to the command line's settings; every run stops.  Locked."""
        for run in self.runs.values():
            run.abort.set()
        self.runs = {}
        self.errors = []
        self.sim.reset()
        self.virt.reset()

    def node_for(self, spec):
        """The node a Pod with SPEC runs on.  Locked."""
        if self.args.kubelet_node:
            return self.args.kubelet_node
        nodes = sorted((o for k, o in self.state.objects.items()
                        if k[:3] == ("", "v1", "nodes")),
                       key=lambda o: o["metadata"]["name"])
        want = spec.get("nodeSelector") or {}
        for n in nodes:
            labels = n["metadata"].get("labels") or {}
            if all(labels.get(k) == v for k, v in want.items()):
                return n["metadata"]["name"]
        return nodes[0]["metadata"]["name"] if nodes else "kubelet-sim-node"

    # -- hooks from the REST layer (locked) --

    def deleted(self, res, obj, policy):
        """OBJ was deleted; returns extra response headers."""
        headers = []
        uid = obj["metadata"]["uid"]
        self.virt.deleted(res, obj, policy)
        if res.kind == "Pod":
            for run in self.runs.values():
                if run.pod_uid == uid:
                    run.pod_deleted.set()
        elif res.kind == "Job" and policy is None:
            headers.append(("Warning", '299 - "child pods are preserved '
                            'by default when jobs are deleted; set '
                            'propagationPolicy=Background to remove them '
                            'or set propagationPolicy=Orphan to suppress '
                            'this warning"'))
        return headers

    # -- the controller loop --

    def loop(self):
        while not self.stop.wait(0.05):
            for sync in (self.sync, self.virt.sync):
                try:
                    sync()
                except Exception as e:  # never let the loop die silently
                    with self.state.lock:
                        self.errors.append(f"controller loop: {e!r}")

    def sync(self):
        with self.state.lock:
            for key, job in list(self.state.objects.items()):
                if key[:3] != ("batch", "v1", "jobs"):
                    continue
                uid = job["metadata"]["uid"]
                if uid in self.runs:
                    continue
                spec = job.get("spec") or {}
                status = job.get("status") or {}
                if spec.get("suspend") or any(
                        c.get("type") in ("Complete", "Failed") and
                        c.get("status") == "True"
                        for c in status.get("conditions") or []):
                    continue
                s = self.settings_for(key[4])
                if s["mode"] == "off":
                    continue
                run = JobRun(self, key[3], key[4], uid, s)
                self.runs[uid] = run
                threading.Thread(target=run.main, daemon=True,
                                 name=f"job-{key[4]}").start()

    # -- writes, as a controller makes them (locked by the caller) --

    def store(self, res, obj):
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self.state.rv + 1)
        errors = schema_errors(res, obj)
        if errors:
            self.errors.append(f"{res.kind} {meta.get('name')}: "
                               + "; ".join(errors))
            raise ApiError(422, f"kubelet-sim: invalid {res.kind}: "
                           + "; ".join(errors))
        self.state.rv += 1
        self.state.objects[(res.group, res.version, res.plural,
                            meta.get("namespace"), meta["name"])] = obj
        return obj

    def current(self, res, ns, name, uid):
        obj = self.state.objects.get((res.group, res.version, res.plural,
                                      ns, name))
        if obj is None or obj["metadata"]["uid"] != uid:
            raise Gone(f"{res.kind} {ns}/{name}")
        return obj

    def event(self, involved, etype, reason, message, component):
        res = BY_KIND[("v1", "Event")]
        meta = involved["metadata"]
        ts = now_rfc3339()
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}",
                           "namespace": meta["namespace"],
                           "uid": str(uuid.uuid4()),
                           "creationTimestamp": ts},
              "involvedObject": {"apiVersion": involved["apiVersion"],
                                 "kind": involved["kind"],
                                 "name": meta["name"],
                                 "namespace": meta["namespace"],
                                 "uid": meta["uid"]},
              "type": etype, "reason": reason, "message": message,
              "source": {"component": component},
              "reportingComponent": component, "reportingInstance": "",
              "firstTimestamp": ts, "lastTimestamp": ts, "count": 1}
        try:
            self.store(res, ev)
        except ApiError:
            pass


def _ready_conditions(ready, reason=None, ts=None):
    ts = ts or now_rfc3339()
    out = []
    for t in ("PodReadyToStartContainers", "Initialized", "Ready",
              "ContainersReady", "PodScheduled"):
        c = {"type": t, "status": "True", "lastProbeTime": None,
             "lastTransitionTime": ts}
        if t in ("Ready", "ContainersReady") and not ready:
            c["status"] = "False"
            if reason:
                c["reason"] = reason
            elif t == "Ready":
                c["reason"] = "ContainersNotReady"
        if t == "PodReadyToStartContainers" and ready is None:
            c["status"] = "False"
        out.append(c)
    return out


class JobRun:
    """One Job, from its first Pod to its terminal condition."""

    def __init__(self, kubelet, ns, name, uid, settings):
        self.k = kubelet
        self.state = kubelet.state
        self.ns = ns
        self.job_name = name
        self.uid = uid
        self.s = settings
        self.mode = settings["mode"]
        self.abort = threading.Event()        # reset: stop everything
        self.pod_deleted = threading.Event()  # the current Pod was deleted
        self.pod_uid = None
        self.proc = None
        self.deadline = None
        self.finished = False
        self.jstatus = {}
        self.pod_ip = f"10.244.{os.urandom(1)[0] % 250 + 1}." \
                      f"{os.urandom(1)[0] % 250 + 2}"

    # -- helpers --

    def sleep(self, seconds):
        """False if the run was aborted meanwhile."""
        return not self.abort.wait(seconds)

    def job(self):
        return self.k.current(BY_KIND[("batch/v1", "Job")], self.ns,
                              self.job_name, self.uid)

    def write_job(self, **changes):
        """Update the Job's status; Gone if the Job is gone."""
        with self.state.lock:
            if self.abort.is_set():
                raise Gone("reset")
            job = copy.deepcopy(self.job())
            for k, v in changes.items():
                if v is None:
                    self.jstatus.pop(k, None)
                else:
                    self.jstatus[k] = v
            job["status"] = copy.deepcopy(self.jstatus)
            self.k.store(BY_KIND[("batch/v1", "Job")], job)

    def write_pod(self, name, status):
        """Update the Pod's status; Gone if it was deleted."""
        with self.state.lock:
            if self.abort.is_set():
                raise Gone("reset")
            pod = copy.deepcopy(self.k.current(BY_KIND[("v1", "Pod")],
                                               self.ns, name, self.pod_uid))
            pod["status"] = status
            self.k.store(BY_KIND[("v1", "Pod")], pod)

    def job_event(self, etype, reason, message):
        with self.state.lock:
            try:
                self.k.event(self.job(), etype, reason, message,
                             "job-controller")
            except Gone:
                pass

    # -- the Job --

    def main(self):
        try:
            self.run_job()
        except Gone:
            pass
        except Exception as e:
            with self.state.lock:
                self.k.errors.append(f"job {self.ns}/{self.job_name}: {e!r}")
        finally:
            self.finished = True

    def run_job(self):
        if not self.sleep(self.s["delay"]):
            return
        with self.state.lock:
            spec = self.job().get("spec") or {}
        # exec mode does not retry: one real run per Job keeps tests short.
        limit = 0 if self.mode == "exec" else spec.get("backoffLimit", 6)
        deadline = spec.get("activeDeadlineSeconds")
        start = time.monotonic()
        self.deadline = start + deadline if deadline else None
        self.write_job(startTime=now_rfc3339(), active=1, ready=0,
                       terminating=0, uncountedTerminatedPods={})
        failed = 0
        while True:
            outcome = self.run_pod()
            if outcome == "succeeded":
                self.write_job(active=None, ready=0, succeeded=1,
                               conditions=[self.cond("SuccessCriteriaMet",
                                                     "CompletionsReached",
                                                     COMPLETE_MESSAGE)])
                self.write_job(completionTime=now_rfc3339(), conditions=[
                    *self.jstatus["conditions"],
                    self.cond("Complete", "CompletionsReached",
                              COMPLETE_MESSAGE)])
                self.job_event("Normal", "Completed", "Job completed")
                return
            if outcome is None:       # the Job is gone, or a reset
                return
            failed += 1
            over = outcome == "deadline" or failed > limit
            self.write_job(active=None if over else 0, ready=0,
                           failed=failed)
            if over:
                reason, msg = ("DeadlineExceeded", DEADLINE_MESSAGE) \
                    if outcome == "deadline" else \
                    ("BackoffLimitExceeded", BACKOFF_MESSAGE)
                self.write_job(conditions=[self.cond("FailureTarget", reason,
                                                     msg)])
                self.write_job(conditions=[
                    *self.jstatus["conditions"],
                    self.cond("Failed", reason, msg)])
                self.job_event("Warning", reason, msg)
                return
            # A real controller backs off 10 s, 20 s, ...; tests cannot wait.
            if not self.sleep(min(self.s["delay"], 1.0)):
                return
            self.write_job(active=1)

    @staticmethod
    def cond(ctype, reason, message):
        ts = now_rfc3339()
        return {"type": ctype, "status": "True", "reason": reason,
                "message": message, "lastProbeTime": ts,
                "lastTransitionTime": ts}

    # -- one Pod --

    def pick_node(self, spec):
        return self.k.node_for(spec)

    def create_pod(self):
        with self.state.lock:
            if self.abort.is_set():
                raise Gone("reset")
            job = self.job()
            tmpl = (job.get("spec") or {}).get("template") or {}
            tmeta = tmpl.get("metadata") or {}
            spec = copy.deepcopy(tmpl.get("spec") or {})
            spec["nodeName"] = self.pick_node(spec)
            labels = dict(tmeta.get("labels") or {})
            labels.update({"controller-uid": self.uid,
                           "batch.kubernetes.io/controller-uid": self.uid,
                           "job-name": self.job_name,
                           "batch.kubernetes.io/job-name": self.job_name})
            prefix = self.job_name[:57] + "-"
            while True:
                name = prefix + rand_suffix()
                if ("", "v1", "pods", self.ns, name) not in \
                        self.state.objects:
                    break
            meta = {"name": name, "generateName": prefix,
                    "namespace": self.ns, "uid": str(uuid.uuid4()),
                    "creationTimestamp": now_rfc3339(), "labels": labels,
                    "ownerReferences": [{
                        "apiVersion": "batch/v1", "kind": "Job",
                        "name": self.job_name, "uid": self.uid,
                        "controller": True, "blockOwnerDeletion": True}]}
            if tmeta.get("annotations"):
                meta["annotations"] = dict(tmeta["annotations"])
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                   "spec": spec}
            pod["status"] = self.pod_status(pod, "Pending", None)
            self.pod_deleted.clear()
            self.pod_uid = meta["uid"]
            self.k.store(BY_KIND[("v1", "Pod")], pod)
            self.k.event(job, "Normal", "SuccessfulCreate",
                         f"Created pod: {name}", "job-controller")
            return copy.deepcopy(pod)

    def pod_status(self, pod, phase, states, reason=None):
        """Pod status for PHASE; STATES: container name -> state dict."""
        spec = pod["spec"]
        ts = now_rfc3339()
        st = {"phase": phase, "qosClass": "BestEffort",
              "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
              "startTime": (pod.get("status") or {}).get("startTime", ts)}
        if phase == "Pending" and states is None:
            st["conditions"] = _ready_conditions(None, ts=ts)
        elif phase == "Pending":
            st["conditions"] = _ready_conditions(False, ts=ts)
        elif phase == "Running":
            st["conditions"] = _ready_conditions(True, ts=ts)
        else:
            st["conditions"] = _ready_conditions(
                False, "PodCompleted" if phase == "Succeeded" else "PodFailed",
                ts=ts)
            # A finished Pod's sandbox is gone: no readiness to start.
            st["conditions"][0]["status"] = "False"
        if phase in ("Running", "Succeeded", "Failed"):
            st["podIP"] = self.pod_ip
            st["podIPs"] = [{"ip": self.pod_ip}]
        cstats = []
        for c in spec.get("containers") or []:
            state = (states or {}).get(c["name"]) or \
                {"waiting": {"reason": "ContainerCreating"}}
            running = "running" in state
            cs = {"name": c["name"], "image": c.get("image", ""),
                  "imageID": "", "ready": running, "restartCount": 0,
                  "started": running, "state": state}
            if "waiting" not in state:
                cs["imageID"] = (c.get("image", "").split(":")[0] +
                                 "@sha256:" + "0" * 64)
                cs["containerID"] = "containerd://" + \
                    uuid.uuid5(uuid.NAMESPACE_OID, self.pod_uid + c["name"]
                               ).hex * 2
            cstats.append(cs)
        st["containerStatuses"] = cstats
        if reason:
            st["reason"] = reason
        return st

    def run_pod(self):
        """Run one Pod: "succeeded", "failed", "deadline", or None."""
        pod = self.create_pod()
        name = pod["metadata"]["name"]
        try:
            if self.mode == "exec":
                return self.exec_pod(pod)
            return self.pretend_pod(pod)
        except Gone:
            # The Pod was deleted under us (a cascading Job deletion, or
            # someone deleting the Pod): a failure, if the Job still cares.
            if self.abort.is_set():
                return None
            return "failed"

    def past_deadline(self):
        return self.deadline is not None and time.monotonic() > self.deadline

    def wait_pod(self, seconds):
        """Sleep; Gone if the Pod is deleted or the run aborted."""
        end = time.monotonic() + seconds
        while True:
            if self.abort.is_set() or self.pod_deleted.is_set():
                raise Gone("pod")
            left = end - time.monotonic()
            if left <= 0:
                return
            self.abort.wait(min(left, 0.05))

    def pretend_pod(self, pod):
        name = pod["metadata"]["name"]
        containers = pod["spec"].get("containers") or []
        step = max(self.s["delay"] / 2, 0.05)
        self.wait_pod(step)
        started = now_rfc3339()
        pod["status"] = self.pod_status(pod, "Running", {
            c["name"]: {"running": {"startedAt": started}}
            for c in containers})
        self.write_pod(name, pod["status"])
        self.write_job(ready=1)
        self.wait_pod(step)
        result = self.s.get("result") or DEFAULT_RESULTS[self.mode]
        if self.mode == "succeed":
            code, reason = 0, "Completed"
        else:
            code = result.get("exitCode")
            if not isinstance(code, int) or isinstance(code, bool) or \
                    not 0 < code < 256:
                code = 11
            reason = "Error"
        msg = json.dumps(result, separators=(",", ":"))
        msg = msg.encode()[:MAX_TERMINATION_MESSAGE].decode("utf-8", "ignore")
        self.finish_pod(pod, {c["name"]: code for c in containers},
                        {c["name"]: reason for c in containers},
                        {c["name"]: msg for c in containers}, started)
        return "succeeded" if code == 0 else "failed"

    def finish_pod(self, pod, codes, reasons, messages, started):
        name = pod["metadata"]["name"]
        done = now_rfc3339()
        states = {}
        for c in pod["spec"].get("containers") or []:
            t = {"exitCode": codes[c["name"]], "reason": reasons[c["name"]],
                 "startedAt": started, "finishedAt": done}
            if messages.get(c["name"]):
                t["message"] = messages[c["name"]]
            states[c["name"]] = {"terminated": t}
        ok = all(v == 0 for v in codes.values())
        pod["status"] = self.pod_status(
            pod, "Succeeded" if ok else "Failed", states)
        for cs in pod["status"]["containerStatuses"]:
            cs["containerID"] = cs.get("containerID") or \
                "containerd://" + "0" * 64
        self.write_pod(name, pod["status"])

    # -- exec mode --

    def exec_pod(self, pod):
        name = pod["metadata"]["name"]
        c0 = pod["spec"]["containers"][0]
        poddir = os.path.join(self.k.workdir, name)
        os.makedirs(poddir, exist_ok=True)
        warned = set()
        while True:
            try:
                argv, env, cwd = self.prepare(pod, c0, poddir)
                break
            except Blocked as b:
                pod["status"] = self.pod_status(pod, "Pending", {
                    c0["name"]: {"waiting": {"reason": b.waiting,
                                             "message": b.message}}})
                self.write_pod(name, pod["status"])
                if b.message not in warned:
                    warned.add(b.message)
                    with self.state.lock:
                        self.k.event(pod, "Warning", b.event_reason,
                                     b.message, "kubelet")
                if self.past_deadline():
                    self.kill_for_deadline(pod, None)
                    return "deadline"
                self.wait_pod(0.5)
        logdir = self.k.args.kubelet_log_dir or poddir
        os.makedirs(logdir, exist_ok=True)
        log = open(os.path.join(logdir, f"{name}.log"), "ab")
        started = now_rfc3339()
        others = {c["name"]: 0 for c in pod["spec"]["containers"][1:]}
        other_reasons = {n: "Completed" for n in others}
        other_msgs = {n: "not run by the simulated kubelet" for n in others}
        try:
            proc = subprocess.Popen(argv, env=env, cwd=cwd,
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except OSError as e:
            log.close()
            msg = (f"failed to create containerd task: exec: "
                   f"{argv[0]!r}: {e.strerror}")
            self.finish_pod(pod, {c0["name"]: 128, **others},
                            {c0["name"]: "StartError", **other_reasons},
                            {c0["name"]: msg, **other_msgs}, started)
            return "failed"
        log.close()
        self.proc = proc
        if self.abort.is_set():       # a reset raced with the start
            self.kill(proc, pod)
            raise Gone("reset")
        try:
            pod["status"] = self.pod_status(pod, "Running", {
                c["name"]: {"running": {"startedAt": started}}
                for c in pod["spec"]["containers"]})
            self.write_pod(name, pod["status"])
            try:
                self.write_job(ready=1)
            except Gone:
                pass                  # orphaned: the Pod runs on
            while proc.poll() is None:
                if self.abort.is_set() or self.pod_deleted.is_set():
                    self.kill(proc, pod)
                    raise Gone("pod")
                if self.past_deadline():
                    self.kill(proc, pod)
                    self.kill_for_deadline(pod, started)
                    return "deadline"
                try:
                    proc.wait(0.05)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            # The container's other processes die with it, as they would
            # with its PID namespace.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        code = proc.returncode if proc.returncode >= 0 \
            else 128 - proc.returncode
        msg = self.termination_message(c0, code, poddir, logdir, name)
        self.finish_pod(pod, {c0["name"]: code, **others},
                        {c0["name"]: "Completed" if code == 0 else "Error",
                         **other_reasons},
                        {c0["name"]: msg, **other_msgs}, started)
        return "succeeded" if code == 0 else "failed"

    def kill(self, proc, pod):
        """SIGTERM the container's process group, SIGKILL after the grace
        period (capped at 3 s, for tests)."""
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except OSError:
            return
        try:
            proc.wait(min(grace, 3))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()

    def kill_for_deadline(self, pod, started):
        # The Job controller deletes a Job's Pods when its deadline passes;
        # here the Pod stays, failed, so that a test can look at it.
        codes = {c["name"]: 137 for c in pod["spec"]["containers"]}
        self.finish_pod(pod, codes, {n: "Error" for n in codes}, {},
                        started or now_rfc3339())

    def termination_message(self, c0, code, poddir, logdir, name):
        data = b""
        try:
            with open(os.path.join(poddir, "termination-log"), "rb") as f:
                data = f.read(MAX_TERMINATION_MESSAGE)
        except OSError:
            pass
        if not data and code != 0 and \
                c0.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            try:
                with open(os.path.join(logdir, f"{name}.log"), "rb") as f:
                    lines = f.read().splitlines()[-80:]
                data = b"\n".join(lines)[-2048:]
            except OSError:
                pass
        return data.decode("utf-8", "replace")

    def prepare(self, pod, c0, poddir):
        """(argv, env, cwd) for the container, or Blocked."""
        meta = pod["metadata"]
        spec = pod["spec"]
        with self.state.lock:
            objects = self.state.objects
            env = {}
            for k in PASSTHROUGH_ENV:
                if k in os.environ:
                    env[k] = os.environ[k]
            env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:"
                           "/usr/sbin:/usr/bin:/sbin:/bin")
            env["HOSTNAME"] = meta["name"]
            env["HOME"] = poddir
            port = str(self.k.port)
            env.update({
                "KUBERNETES_SERVICE_HOST": "127.0.0.1",
                "KUBERNETES_SERVICE_PORT": port,
                "KUBERNETES_SERVICE_PORT_HTTPS": port,
                "KUBERNETES_PORT": f"tcp://127.0.0.1:{port}",
                "KUBERNETES_PORT_443_TCP": f"tcp://127.0.0.1:{port}",
                "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
                "KUBERNETES_PORT_443_TCP_ADDR": "127.0.0.1",
                "KUBERNETES_PORT_443_TCP_PORT": port})
            # envFrom, then env, as the kubelet does.
            for src in c0.get("envFrom") or []:
                if "configMapRef" in src:
                    ref = src["configMapRef"]
                    cm = objects.get(("", "v1", "configmaps", self.ns,
                                      ref.get("name")))
                    if cm is None:
                        if ref.get("optional"):
                            continue
                        raise Blocked("CreateContainerConfigError", "Failed",
                                      f'configmap "{ref.get("name")}" not '
                                      "found")
                    for k, v in (cm.get("data") or {}).items():
                        env[(src.get("prefix") or "") + k] = v
                else:
                    raise Blocked("CreateContainerConfigError", "Failed",
                                  "envFrom other than configMapRef is not "
                                  "supported by the simulated kubelet")
            for e in c0.get("env") or []:
                if "valueFrom" in (e or {}) and e["valueFrom"]:
                    env[e["name"]] = self.value_from(pod, e["valueFrom"],
                                                     objects)
                else:
                    env[e["name"]] = expand_vars(e.get("value") or "", env)
            # The container's view of the node, mapped into this machine.
            devdir = os.path.join(poddir, "dev")
            os.makedirs(devdir, exist_ok=True)
            volumes = {v.get("name"): v for v in spec.get("volumes") or []}
            links = []
            for vd in c0.get("volumeDevices") or []:
                links.append((os.path.basename(vd["devicePath"]),
                              self.map_device(vd, volumes, objects)))
            sa = os.path.join(poddir, "serviceaccount")
            os.makedirs(sa, exist_ok=True)
            token = (self.k.args.token or [None])[0] or \
                next(iter(sorted(self.state.tokens())), "")
        for base, target in links:
            link = os.path.join(devdir, base)
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(target, link)
        with open(os.path.join(sa, "token"), "w", encoding="utf-8") as f:
            f.write(token)
        with open(os.path.join(sa, "namespace"), "w", encoding="utf-8") as f:
            f.write(self.ns)
        tlog = os.path.join(poddir, "termination-log")
        open(tlog, "wb").close()
        env["V2V_DEVICE_DIR"] = devdir
        env["V2V_TERMINATION_LOG"] = tlog
        if self.k.ca:
            shutil.copyfile(self.k.ca, os.path.join(sa, "ca.crt"))
            env["V2V_SERVICEACCOUNT_DIR"] = sa
            kc = os.path.join(poddir, "kubeconfig")
            with open(kc, "w", encoding="utf-8") as f:
                json.dump({
                    "apiVersion": "v1", "kind": "Config",
                    "clusters": [{"name": "fake", "cluster": {
                        "server": f"https://127.0.0.1:{port}",
                        "certificate-authority": os.path.join(sa, "ca.crt")}}],
                    "users": [{"name": "kubelet-sim", "user": {
                        "tokenFile": os.path.join(sa, "token")}}],
                    "contexts": [{"name": "fake", "context": {
                        "cluster": "fake", "user": "kubelet-sim",
                        "namespace": self.ns}}],
                    "current-context": "fake"}, f, indent=1)
            env["KUBECONFIG"] = kc
        cmd = [expand_vars(a, env) for a in c0.get("command") or []]
        args = [expand_vars(a, env) for a in c0.get("args") or []]
        if not cmd:
            raise Blocked("CreateContainerError", "Failed",
                          "the simulated kubelet needs a command: it has no "
                          "image to take an entrypoint from")
        cmd[0] = self.find_command(cmd[0], env.get("PATH", ""))
        cwd = c0.get("workingDir")
        if not cwd or not os.path.isdir(cwd):
            cwd = poddir
        return cmd + args, env, cwd

    def find_command(self, word, path):
        bindir = self.k.args.kubelet_bin_dir
        if bindir:
            cand = os.path.join(bindir, os.path.basename(word))
            if os.path.isfile(cand) and os.access(cand, os.X_OK):
                return cand
        if "/" in word:
            return word
        found = shutil.which(word, path=path)
        return found or word          # exec fails: StartError

    def value_from(self, pod, vf, objects):
        meta, spec = pod["metadata"], pod["spec"]
        if "fieldRef" in vf:
            fp = vf["fieldRef"].get("fieldPath", "")
            simple = {"metadata.name": meta["name"],
                      "metadata.namespace": meta["namespace"],
                      "metadata.uid": meta["uid"],
                      "spec.nodeName": spec.get("nodeName", ""),
                      "spec.serviceAccountName":
                          spec.get("serviceAccountName", "default"),
                      "status.hostIP": "127.0.0.1",
                      "status.hostIPs": "127.0.0.1",
                      "status.podIP": self.pod_ip,
                      "status.podIPs": self.pod_ip}
            if fp in simple:
                return simple[fp]
            m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", fp)
            if m:
                return (meta.get(m.group(1)) or {}).get(m.group(2), "")
            raise Blocked("CreateContainerConfigError", "Failed",
                          f"fieldRef {fp!r} is not supported")
        if "configMapKeyRef" in vf:
            ref = vf["configMapKeyRef"]
            cm = objects.get(("", "v1", "configmaps", self.ns,
                              ref.get("name")))
            val = ((cm or {}).get("data") or {}).get(ref.get("key"))
            if val is None and not ref.get("optional"):
                raise Blocked("CreateContainerConfigError", "Failed",
                              f'couldn\'t find key {ref.get("key")} in '
                              f'ConfigMap {self.ns}/{ref.get("name")}')
            return val or ""
        which = next(iter(vf), "?")
        raise Blocked("CreateContainerConfigError", "Failed",
                      f"valueFrom.{which} is not supported by the simulated "
                      "kubelet (no Secrets, no resources)")

    def map_device(self, vd, volumes, objects):
        """The file behind a volumeDevice: PVC -> PV -> volumeHandle."""
        vol = volumes.get(vd["name"])
        claim = ((vol or {}).get("persistentVolumeClaim") or {}).get(
            "claimName")
        if not claim:
            raise Blocked("ContainerCreating", "FailedMapVolume",
                          f"volumeDevice {vd['name']!r} is not a "
                          "persistentVolumeClaim volume of the Pod")
        pvc = objects.get(("", "v1", "persistentvolumeclaims", self.ns,
                           claim))
        if pvc is not None and \
                (pvc.get("spec") or {}).get("volumeMode") != "Block":
            raise Blocked("ContainerCreating", "FailedMapVolume",
                          f'persistentvolumeclaim "{claim}": volumeMode is '
                          "not Block, but the container wants a "
                          "volumeDevice")
        return claim_file(objects, self.ns, claim, self.k.args.volume_dir)


def claim_file(objects, ns, claim, vdir):
    """The file behind the claim NS/CLAIM: PVC -> PV -> volumeHandle ->
    VDIR/HANDLE.img; Blocked (as a kubelet's FailedMapVolume) until it is
    there."""
    pvc = objects.get(("", "v1", "persistentvolumeclaims", ns, claim))
    if pvc is None:
        raise Blocked("ContainerCreating", "FailedMapVolume",
                      f'persistentvolumeclaim "{claim}" not found')
    pvname = (pvc.get("spec") or {}).get("volumeName")
    pv = objects.get(("", "v1", "persistentvolumes", None, pvname)) \
        if pvname else None
    if pv is None:
        for k, o in objects.items():
            ref = (o.get("spec") or {}).get("claimRef") or {}
            if k[:3] == ("", "v1", "persistentvolumes") and \
                    ref.get("name") == claim and ref.get("namespace") == ns:
                pv = o
                break
    if pv is None:
        raise Blocked("ContainerCreating", "FailedMapVolume",
                      f'persistentvolumeclaim "{claim}" is not bound '
                      "to a PersistentVolume")
    handle = ((pv.get("spec") or {}).get("csi") or {}).get("volumeHandle")
    if not handle:
        raise Blocked("ContainerCreating", "FailedMapVolume",
                      f'persistentvolume "{pv["metadata"]["name"]}" has '
                      "no spec.csi.volumeHandle")
    if not vdir:
        raise Blocked("ContainerCreating", "FailedMapVolume",
                      "the fake was started without --volume-dir")
    path = os.path.join(vdir, os.path.basename(handle) + ".img")
    if not os.path.exists(path):
        raise Blocked("ContainerCreating", "FailedMapVolume",
                      f"MapVolume.SetUpDevice failed for volume "
                      f'"{pv["metadata"]["name"]}": {path} does not '
                      "exist")
    return os.path.abspath(path)


# --- HTTP --------------------------------------------------------------------

class Handler(fakeserver.FakeHandler):
    LOG_NAME = "kube-apiserver.py"
    METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
    MAX_BODY = MAX_BODY
    ACCEPT_CHUNKED = True
    server_version = "fake-kube-apiserver/1"

    def send_json(self, code, obj, extra_headers=()):
        if isinstance(obj, virt_launcher.Raw):
            data, ctype = obj.data, obj.content_type
        else:
            data, ctype = json.dumps(obj).encode() + b"\n", \
                "application/json"
        self.send_body(code, data, ctype,
                       [("Cache-Control", "no-cache, private")]
                       + list(extra_headers))

    def dispatch(self):
        state = self.server.state
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        try:
            body = self.read_body()
        except BodyError as e:
            if not path.startswith("/_fake/"):
                state.record({"time": now_rfc3339(), "method": self.command,
                              "path": path, "query": {},
                              "content_type":
                                  self.headers.get("Content-Type"),
                              "auth": None, "status": e.status,
                              "body": None})
            self.send_json(e.status, status_object(e.status, e.message))
            return
        except (ValueError, OSError):
            self.close_connection = True
            return
        if self.is_control(path):
            self.control(path, body)
            return

        query = {k: v[0] if len(v) == 1 else v
                 for k, v in urllib.parse.parse_qs(
                     url.query, keep_blank_values=True).items()}
        ctype = self.headers.get("Content-Type")
        entry = {
            "time": fakeserver.record_time(),
            "method": self.command,
            "path": path,
            "query": query,
            "content_type": ctype,
            "auth": None,
            "status": None,
            "body": None,
        }
        if body:
            try:
                entry["body"] = json.loads(body)
            except ValueError:
                entry["body"] = body.decode("utf-8", "replace")

        code, reply, headers = None, None, []
        try:
            code, reply, headers = self.api(state, entry, path, query, ctype,
                                            body)
        except DropConnection:
            entry["dropped"] = True
            state.record(entry)
            raise
        except ApiError as e:
            code = e.code
            reply = status_object(e.code, e.message, e.reason, e.details)
            if e.schema_errors:
                entry["schema_errors"] = e.schema_errors
        entry["status"] = code
        state.record(entry)
        self.send_json(code, reply, headers)

    def api(self, state, entry, path, query, ctype, body):
        """Answer one API request: (code, JSON reply, extra headers)."""
        if state.outage:
            entry["outage"] = state.outage
            raise ApiError(state.outage, "the fake API server is in outage "
                           "mode")
        fault = state.take_fault(self.command, path)
        if fault:
            entry["fault"] = fault
            self.apply_fault(fault)
            if fault.get("status") is not None:
                code = int(fault["status"])
                headers = []
                if fault.get("retry_after") is not None:
                    headers.append(("Retry-After", str(fault["retry_after"])))
                msg = fault.get("message") or \
                    f"injected fault: {code} {REASONS.get(code, '')}".strip()
                details = None
                if fault.get("retry_after") is not None:
                    details = {"retryAfterSeconds": int(fault["retry_after"])}
                entry["auth"] = self.auth_result(state)
                return code, status_object(code, msg, details=details), headers

        entry["auth"] = self.auth_result(state)
        if entry["auth"] != "valid":
            raise ApiError(401, "Unauthorized")

        if self.command in ("GET", "HEAD") and path == "/version":
            return 200, {"major": "1", "minor": "32",
                         "gitVersion": "v1.32.2-fake",
                         "platform": "linux/amd64"}, []
        if self.command in ("GET", "HEAD") and \
                path in ("/healthz", "/readyz", "/livez"):
            return 200, {"status": "ok"}, []

        if path.startswith("/apis/subresources.kubevirt.io/"):
            return state.kubelet.virt.subresource(self.command, path, body)
        return self.serve_resource(state, entry, path, query, ctype, body)

    def auth_result(self, state):
        h = self.headers.get("Authorization")
        if h is None:
            return "missing"
        scheme, _, token = h.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "invalid"
        token = token.strip()
        ok = False
        for t in state.tokens():
            # Compare every candidate so timing says nothing; this is a fake
            # but it costs nothing to do it the right way.
            ok |= hmac.compare_digest(t.encode(), token.encode())
        return "valid" if ok else "invalid"

    # -- the REST layer --

    def parse_path(self, path):
        """(resource, namespace, name, subresource) or ApiError 404."""
        parts = [p for p in path.split("/") if p != ""]
        if path.endswith("/") and path != "/":
            raise ApiError(404, "the server could not find the requested "
                           "resource")
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "the server could not find the requested "
                           "resource")
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError(404, "the server could not find the requested "
                           "resource")
        res = BY_PATH.get((group, version, rest[0]))
        if res is None:
            raise ApiError(404, "the server could not find the requested "
                           "resource")
        if ns is not None and not res.namespaced:
            raise ApiError(404, "the server could not find the requested "
                           "resource")
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        if sub is not None and sub not in res.subresources:
            raise ApiError(404, "the server could not find the requested "
                           "resource")
        if res.namespaced and name is not None and ns is None:
            raise ApiError(404, "the server could not find the requested "
                           "resource")
        return res, ns, name, sub

    def serve_resource(self, state, entry, path, query, ctype, body):
        res, ns, name, sub = self.parse_path(path)
        m = self.command
        if sub == "log":
            if m != "GET":
                raise ApiError(405, f"the server does not allow this method "
                               f"on the requested resource ({m} pods/log)")
            return state.kubelet.virt.pod_log(ns, name, query)
        if "watch" in query and query["watch"] not in ("", "0", "false"):
            raise ApiError(400, "watch is not supported by the fake")
        dry_run = query.get("dryRun") == "All"
        if query.get("dryRun") not in (None, "All"):
            raise ApiError(400, f"dryRun: unsupported value "
                           f"{query['dryRun']!r}: supported values: \"All\"")
        if name is None:
            if m in ("GET", "HEAD"):
                return self.list(state, res, ns, query)
            if m == "POST" and (ns is not None or not res.namespaced):
                return self.create(state, entry, res, ns, ctype, body, dry_run)
            raise ApiError(405, f"the server does not allow this method on "
                           f"the requested resource ({m} {res.qualified})")
        if m in ("GET", "HEAD"):
            with state.lock:
                return 200, copy.deepcopy(self.get(state, res, ns, name)), []
        if m == "PUT":
            return self.replace(state, entry, res, ns, name, sub, ctype,
                                body, dry_run)
        if m == "PATCH":
            return self.patch(state, entry, res, ns, name, sub, ctype, body,
                              dry_run)
        if m == "DELETE" and sub is None:
            return self.delete(state, res, ns, name, ctype, body, dry_run,
                               query)
        raise ApiError(405, f"the server does not allow this method on the "
                       f"requested resource ({m} {res.qualified})")

    def get(self, state, res, ns, name):
        obj = state.objects.get((res.group, res.version, res.plural, ns, name))
        if obj is None:
            raise ApiError(404, f'{res.qualified} "{name}" not found',
                           details={"name": name, "group": res.group,
                                    "kind": res.plural})
        return obj

    def list(self, state, res, ns, query):
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(res, query.get("fieldSelector", ""))
        with state.lock:
            items = []
            for key in sorted(state.objects, key=lambda k: (k[3] or "", k[4])):
                g, v, p, kns, _ = key
                if (g, v, p) != (res.group, res.version, res.plural):
                    continue
                if ns is not None and kns != ns:
                    continue
                obj = state.objects[key]
                if labels_match(obj, labels) and fields_match(obj, fields):
                    obj = copy.deepcopy(obj)
                    if res.typed:
                        obj.pop("kind", None)
                        obj.pop("apiVersion", None)
                    items.append(obj)
            rv = str(state.rv)
        return 200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                     "metadata": {"resourceVersion": rv}, "items": items}, []

    def parse_object(self, res, ctype, body, allowed=("application/json",)):
        mt = (ctype or "").split(";")[0].strip().lower()
        if mt not in allowed:
            raise ApiError(415, f"the body of the request was in an unknown "
                           f"format - accepted media types include: "
                           f"{', '.join(allowed)}")
        try:
            obj = json.loads(body)
        except ValueError as e:
            raise ApiError(400, f"the body of the request is not valid "
                           f"JSON: {e}")
        return mt, obj

    def check_type(self, res, obj):
        if not isinstance(obj, dict):
            raise ApiError(400, "the body of the request must be a JSON "
                           "object")
        # A real server would infer a missing kind from the URL; the fake
        # wants it spelled out, as every client here writes it.
        if obj.get("apiVersion") != res.api_version:
            raise ApiError(400, f"the API version in the data "
                           f"({obj.get('apiVersion')}) does not match the "
                           f"expected API version ({res.api_version})")
        if obj.get("kind") != res.kind:
            raise ApiError(400, f"the kind in the data ({obj.get('kind')}) "
                           f"does not match the expected kind ({res.kind})")
        if not isinstance(obj.get("metadata"), dict):
            raise ApiError(400, "metadata: Required value")

    def invalid(self, res, name, errors):
        causes = [{"reason": "FieldValueInvalid", "message": e,
                   "field": e.split(":")[0]} for e in errors]
        kind = res.kind + (f".{res.group}" if res.group else "")
        raise ApiError(422, f'{kind} "{name}" is invalid: [{", ".join(errors)}]',
                       details={"name": name, "group": res.group,
                                "kind": res.kind, "causes": causes},
                       schema_errors=errors)

    def create(self, state, entry, res, ns, ctype, body, dry_run):
        _, obj = self.parse_object(res, ctype, body)
        self.check_type(res, obj)
        meta = obj["metadata"]
        if res.namespaced:
            if meta.get("namespace") not in (None, ns):
                raise ApiError(400, "the namespace of the provided object "
                               "does not match the namespace sent on the "
                               "request")
            meta["namespace"] = ns
        if meta.get("resourceVersion"):
            # 500, not 400, because that is what a real API server answers:
            # the error comes from its storage layer, untranslated.
            raise ApiError(500, "resourceVersion should not be set on "
                           "objects to be created")
        with state.lock:
            if not meta.get("name") and meta.get("generateName"):
                for _ in range(8):
                    meta["name"] = meta["generateName"] + \
                        uuid.uuid4().hex[:5]
                    if (res.group, res.version, res.plural, ns,
                            meta["name"]) not in state.objects:
                        break
            name = meta.get("name")
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            meta["resourceVersion"] = str(state.rv + 1)
            if "spec" in obj and res.kind in ("Job", "VirtualMachine"):
                meta["generation"] = 1
            errors = schema_errors(res, obj)
            if errors:
                self.invalid(res, name, errors)
            key = (res.group, res.version, res.plural, ns, name)
            if key in state.objects:
                raise ApiError(409, f'{res.qualified} "{name}" already exists',
                               reason="AlreadyExists",
                               details={"name": name, "group": res.group,
                                        "kind": res.plural})
            if not dry_run:
                state.rv += 1
                state.objects[key] = obj
            return 201, copy.deepcopy(obj), []

    def store_update(self, state, res, ns, name, sub, old, new, dry_run):
        """Validate NEW as the successor of OLD and store it.  Locked."""
        if not isinstance(new, dict):
            raise ApiError(422, "the patched object is not a JSON object")
        if sub == "status":
            # The status subresource changes status only, whatever else
            # the client sent; a resourceVersion it sent is still a
            # precondition.
            merged = copy.deepcopy(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            rv = (new.get("metadata") or {}).get("resourceVersion")
            if rv:
                merged["metadata"]["resourceVersion"] = rv
            new = merged
        elif "status" in res.subresources:
            # And the main resource ignores changes to status.
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        nmeta = new.get("metadata")
        if not isinstance(nmeta, dict):
            self.invalid(res, name, ["metadata: Required value"])
        ometa = old["metadata"]
        if nmeta.get("name") != name:
            raise ApiError(400, f"the name of the object "
                           f"({nmeta.get('name')}) does not match the name "
                           f"on the URL ({name})")
        if res.namespaced and nmeta.get("namespace", ns) != ns:
            raise ApiError(400, "the namespace of the provided object does "
                           "not match the namespace sent on the request")
        if nmeta.get("uid") not in (None, ometa["uid"]):
            raise ApiError(409, f"Precondition failed: UID in precondition: "
                           f"{nmeta.get('uid')}, UID in object meta: "
                           f"{ometa['uid']}", reason="Conflict")
        rv = nmeta.get("resourceVersion")
        if rv not in (None, "") and rv != ometa["resourceVersion"]:
            raise ApiError(409, f'Operation cannot be fulfilled on '
                           f'{res.qualified} "{name}": the object has been '
                           f'modified; please apply your changes to the '
                           f'latest version and try again',
                           reason="Conflict",
                           details={"name": name, "group": res.group,
                                    "kind": res.plural})
        if new.get("kind") != res.kind or \
                new.get("apiVersion") != res.api_version:
            self.check_type(res, new)
        # Server-owned fields keep their values.
        for f in ("uid", "creationTimestamp", "generation", "namespace"):
            if f in ometa:
                nmeta[f] = ometa[f]
        if "generation" in ometa and old.get("spec") != new.get("spec"):
            nmeta["generation"] = ometa["generation"] + 1
        nmeta["resourceVersion"] = str(state.rv + 1)
        errors = schema_errors(res, new) + update_errors(res, old, new)
        if errors:
            self.invalid(res, name, errors)
        if not dry_run:
            state.rv += 1
            state.objects[(res.group, res.version, res.plural, ns, name)] = new
        return 200, copy.deepcopy(new), []

    def replace(self, state, entry, res, ns, name, sub, ctype, body, dry_run):
        _, obj = self.parse_object(res, ctype, body)
        self.check_type(res, obj)
        with state.lock:
            old = self.get(state, res, ns, name)
            return self.store_update(state, res, ns, name, sub, old, obj,
                                     dry_run)

    def patch(self, state, entry, res, ns, name, sub, ctype, body, dry_run):
        mt = (ctype or "").split(";")[0].strip().lower()
        if mt not in PATCHERS:
            raise ApiError(415, f"the body of the request was in an unknown "
                           f"format - accepted media types include: "
                           f"{', '.join(PATCHERS)}")
        try:
            patch = json.loads(body)
        except ValueError as e:
            raise ApiError(400, f"the body of the request is not valid "
                           f"JSON: {e}")
        with state.lock:
            old = self.get(state, res, ns, name)
            new = PATCHERS[mt](old, patch)
            return self.store_update(state, res, ns, name, sub, old, new,
                                     dry_run)

    def delete(self, state, res, ns, name, ctype, body, dry_run, query):
        # DeleteOptions come in the body or, as kubectl and client-go
        # send them, in the query string; the body wins when it has any.
        opts = {}
        if body.strip():
            try:
                opts = json.loads(body)
            except ValueError as e:
                raise ApiError(400, f"DeleteOptions is not valid JSON: {e}")
            if not isinstance(opts, dict):
                raise ApiError(400, "DeleteOptions must be a JSON object")
        elif "propagationPolicy" in query:
            opts = {"propagationPolicy": query["propagationPolicy"]}
        policy = opts.get("propagationPolicy")
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise ApiError(400, f"propagationPolicy: Unsupported value: "
                           f"{policy!r}")
        with state.lock:
            obj = self.get(state, res, ns, name)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") not in (None, obj["metadata"]["uid"]) or \
                    pre.get("resourceVersion") not in \
                    (None, obj["metadata"]["resourceVersion"]):
                raise ApiError(409, f"Precondition failed for "
                               f"{res.qualified} \"{name}\"",
                               reason="Conflict")
            headers = []
            answer = copy.deepcopy(obj)
            if not dry_run:
                del state.objects[(res.group, res.version, res.plural, ns,
                                   name)]
                state.rv += 1
                headers = state.kubelet.deleted(res, obj, policy)
                # The default is Background, except for Jobs, whose
                # dependents batch/v1 orphans unless told otherwise.
                state.collect_dependents(
                    obj, policy or ("Orphan" if res.kind == "Job"
                                      else "Background"))
        # Foreground: the owner is first marked (deletionTimestamp, the
        # foregroundDeletion finalizer) and answered as it is then; the
        # collector here removes its dependents and then it at once.
        if policy == "Foreground":
            answer["metadata"]["deletionTimestamp"] = now_rfc3339()
            answer["metadata"]["finalizers"] = \
                (answer["metadata"].get("finalizers") or []) + \
                ["foregroundDeletion"]
            return 200, answer, headers
        # Pods answer with the object (their deletion is graceful on a real
        # cluster); everything else with a Success Status.
        if res.kind == "Pod":
            return 200, answer, headers
        return 200, status_object(200, "", reason="", details={
            "name": name, "group": res.group, "kind": res.plural,
            "uid": obj["metadata"]["uid"]}), headers

    # -- the control API (fakeserver serves requests, faults and reset) --

    def control_error(self, code, message):
        self.send_json(code, status_object(code, message))

    def control_own(self, path, m, data):
        state = self.server.state
        try:
            if path == "/_fake/outage" and m == "POST":
                st = (data or {}).get("status")
                if st is not None and not (isinstance(st, int)
                                           and 100 <= st <= 599):
                    raise ApiError(400, "status must be an HTTP status or "
                                   "null")
                state.outage = st
                self.send_json(200, {"status": st})
            elif path == "/_fake/objects" and m == "GET":
                with state.lock:
                    self.send_json(200, list(state.objects.values()))
            elif path == "/_fake/objects" and m == "POST":
                # Lets a test play the part of a controller (a kubelet
                # setting pod status, KubeVirt starting a VM): the object
                # is stored as given, without the API's update rules, but
                # it must still be valid.
                objs = data if isinstance(data, list) else [data]
                with state.lock:
                    stored = [copy.deepcopy(state.insert(o, strict=True))
                              for o in objs]
                self.send_json(200, stored)
            elif path == "/_fake/kubelet" and m == "GET":
                with state.lock:
                    self.send_json(200, state.kubelet.settings())
            elif path == "/_fake/kubelet" and m == "POST":
                with state.lock:
                    state.kubelet.configure(data if data is not None else {})
                    self.send_json(200, state.kubelet.settings())
            elif path == "/_fake/virt-launcher" and m == "GET":
                with state.lock:
                    self.send_json(200, state.kubelet.virt.settings())
            elif path == "/_fake/virt-launcher" and m == "POST":
                with state.lock:
                    state.kubelet.virt.configure(data if data is not None
                                                 else {})
                    self.send_json(200, state.kubelet.virt.settings())
            else:
                return False
        except ApiError as e:
            self.control_error(e.code, e.message)
        return True


def main():
    ap = argparse.ArgumentParser(
        description="Strict loopback fake of the Kubernetes API server.")
    fakeserver.add_server_options(ap, tls_required=True)
    ap.add_argument("--token", action="append",
                    help="an accepted bearer token (repeatable)")
    ap.add_argument("--token-file",
                    help="accepted bearer tokens, one a line, re-read on "
                    "every request")
    ap.add_argument("--schemas", required=True,
                    help="the shared schema directory (k8s/, kubevirt.io/)")
    ap.add_argument("--seed", help="JSON list of objects to preload")
    ap.add_argument("--outage", type=int, default=None, metavar="STATUS",
                    help="answer every API request with STATUS")
    kg = ap.add_argument_group("simulated kubelet and Job controller")
    kg.add_argument("--kubelet", choices=KUBELET_MODES, default="off",
                    help="what happens to a Job: off (nothing, the "
                    "default), succeed, fail, exec (run its command here)")
    kg.add_argument("--kubelet-delay", type=float, default=1.0,
                    metavar="SECONDS",
                    help="from a Job's creation to its Pod (and the step "
                    "between Pod phases in succeed/fail); default 1")
    kg.add_argument("--kubelet-result", metavar="FILE",
                    help="JSON object: the termination message in "
                    "succeed/fail mode (its exitCode is fail's exit code)")
    kg.add_argument("--kubelet-bin-dir", metavar="DIR",
                    help="exec: look the command up here first, then PATH")
    kg.add_argument("--kubelet-ca", metavar="FILE",
                    help="exec: the CA in the container's kubeconfig "
                    "(default: ca.crt next to --cert, if there)")
    kg.add_argument("--kubelet-log-dir", metavar="DIR",
                    help="exec: write each container's output to DIR/POD.log")
    kg.add_argument("--kubelet-node", metavar="NAME",
                    help="the Pods' spec.nodeName (default: the first Node "
                    "matching the nodeSelector, else the first Node)")
    kg.add_argument("--volume-dir", metavar="DIR",
                    help="exec, qemu: a PV's block device is "
                    "DIR/VOLUMEHANDLE.img")
    vg = ap.add_argument_group("simulated KubeVirt (virt_launcher.py)")
    vg.add_argument("--virt-launcher", choices=virt_launcher.LAUNCHER_MODES,
                    default="off",
                    help="what happens to a VirtualMachine that should run: "
                    "off (nothing, the default), canned (a VMI and a Pod, "
                    "with a configured console), qemu (the guest boots)")
    vg.add_argument("--virt-delay", type=float, default=0.5,
                    metavar="SECONDS",
                    help="the step between a VMI's phases; default 0.5")
    vg.add_argument("--virt-console", metavar="FILE",
                    help="canned: the serial console's text")
    vg.add_argument("--virt-max-boots", type=int, default=1, metavar="N",
                    help="qemu: guests running at once (more stay "
                    "Unschedulable); default 1")
    vg.add_argument("--virt-qemu", metavar="PATH",
                    help="qemu: the emulator; default qemu-system-x86_64")
    vg.add_argument("--virt-accel", choices=("tcg", "kvm"), default="tcg",
                    help="qemu: the accelerator; default tcg")
    vg.add_argument("--virt-console-log-default", choices=("on", "off"),
                    default="off",
                    help="the cluster's serial console logging for VMs that "
                    "do not set logSerialConsole; default off")
    args = ap.parse_args()
    if not args.token and not args.token_file:
        ap.error("give --token and/or --token-file: the fake always "
                 "requires authentication")

    for res in RESOURCES:
        if res.schema is None:
            continue
        path = os.path.join(args.schemas, res.schema)
        try:
            with open(path, encoding="utf-8") as f:
                schema = json.load(f)
        except OSError as e:
            raise SystemExit(f"kube-apiserver.py: {path}: {e.strerror}")
        # The yannh schemas say "$schema": "http://json-schema.org/schema#",
        # which names no draft, and the KubeVirt one says nothing; both are
        # written for draft 4-7, so Draft 7 it is.
        cls = jsonschema.validators.validator_for(
            schema, default=jsonschema.Draft7Validator) \
            if schema.get("$schema", "").startswith(
                ("http://json-schema.org/draft", "https://json-schema.org/draft")) \
            else jsonschema.Draft7Validator
        cls.check_schema(schema)
        res.validator = cls(schema, format_checker=FORMATS)

    try:
        state = State(args)
    except ApiError as e:
        raise SystemExit(f"kube-apiserver.py: {e.message}")
    except FaultRuleError as e:
        raise SystemExit(f"kube-apiserver.py: {e}")

    def started(port):
        state.kubelet.port = port
        threading.Thread(target=state.kubelet.loop, daemon=True,
                         name="kubelet").start()
    return fakeserver.serve("kube-apiserver.py", Handler, state, args,
                            started=started,
                            stopping=state.kubelet.shutdown)


if __name__ == "__main__":
    sys.exit(main())
