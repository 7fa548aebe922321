#!/usr/bin/python3
"""Validate Kubernetes objects against the strict JSON schemas in
SHARED_DATA/schemas (kubectl cannot validate offline here).

    validate-k8s.py SCHEMAS_DIR FILE...

Each FILE is JSON (an object or an array of objects) or YAML (one or
more documents, if python3-yaml is available).  Every object's kind must
have a schema; each is validated and, to prove the check can fail, a
copy with an unknown field under its spec (or top level) must be
refused.  Exit 0 if all are valid, 1 otherwise.
"""
import copy
import json
import os
import sys

import jsonschema

SCHEMAS = {
    ("v1", "Pod"): "k8s/pod-v1.json",
    ("v1", "Event"): "k8s/event-v1.json",
    ("v1", "PersistentVolume"): "k8s/persistentvolume-v1.json",
    ("v1", "PersistentVolumeClaim"): "k8s/persistentvolumeclaim-v1.json",
    ("v1", "ConfigMap"): "k8s/configmap-v1.json",
    ("batch/v1", "Job"): "k8s/job-batch-v1.json",
    ("kubevirt.io/v1", "VirtualMachine"): "kubevirt.io/virtualmachine_v1.json",
}


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
    for path in files:
        for obj in load(path):
            key = (obj.get("apiVersion"), obj.get("kind"))
            name = "%s %s/%s" % (path, key[1],
                                 obj.get("metadata", {}).get("name"))
            if key not in SCHEMAS:
                print("%s: no schema for %s %s" % (name, *key))
                bad += 1
                continue
            if key not in cache:
                with open(os.path.join(schemas_dir, SCHEMAS[key])) as f:
                    schema = json.load(f)
                cache[key] = jsonschema.validators.validator_for(schema)(
                    schema, format_checker=jsonschema.FormatChecker())
            v = cache[key]
            errors = sorted(v.iter_errors(obj), key=lambda e: list(e.path))
            for e in errors:
                print("%s: %s: %s" % (name, "/".join(map(str, e.path)),
                                      e.message))
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
