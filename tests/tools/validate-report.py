#!/usr/bin/env python3
"""Validate v2v-agent reports against docs/report.schema.json.

    validate-report.py REPORT.json...

Exits 1 naming each report and each place that breaks the contract.
Tests call it through validate_report (tests/lib/report.sh) on every
report they make.
"""
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    # Debian's python3-jsonschema is for /usr/bin/python3; a python3
    # earlier on PATH may not see it.
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit("validate-report.py: python3-jsonschema is missing")

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "docs", "report.schema.json")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: validate-report.py REPORT.json...")
    schema = json.load(open(SCHEMA))
    validator = jsonschema.Draft202012Validator(schema)
    bad = 0
    for path in sys.argv[1:]:
        try:
            report = json.load(open(path))
        except (OSError, ValueError) as e:
            print(f"{path}: not a JSON report: {e}", file=sys.stderr)
            bad += 1
            continue
        for e in sorted(validator.iter_errors(report), key=lambda e: list(e.path)):
            where = "/".join(str(p) for p in e.absolute_path) or "(top)"
            print(f"{path}: {where}: {e.message}", file=sys.stderr)
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
