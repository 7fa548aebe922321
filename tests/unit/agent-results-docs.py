#!/usr/bin/env python3
"""The docs' exit-code lists against the agent's result table.

    agent-results-docs.py RESULTS.json DOCS_DIR

RESULTS.json is agent-results-dump's output (agent/result.c).  Checks
that docs/operations.md "Exit codes" (every command's), docs/agent-run.md
"Outcomes and exit codes" (run's) and docs/report.md "status" (convert's
and run's) list exactly what the table says, no more and no less.
"""
import json
import re
import sys


def section_table(path, heading):
    """The rows (lists of cells) of the first table under HEADING."""
    lines = open(path, encoding="utf-8").read().splitlines()
    try:
        start = next(i for i, l in enumerate(lines)
                     if l.startswith("#") and l.lstrip("#").strip() == heading)
    except StopIteration:
        sys.exit(f"{path}: no section '{heading}'")
    rows, seen = [], False
    for l in lines[start + 1:]:
        if l.startswith("#"):
            break
        if l.startswith("|"):
            seen = True
            cells = [c.strip() for c in l.strip().strip("|").split("|")]
            if all(re.fullmatch(r":?-+:?", c) for c in cells):
                continue
            rows.append(cells)
        elif seen:
            break
    if len(rows) < 2:
        sys.exit(f"{path}: no table under '{heading}'")
    return rows[1:]             # without the header


def words(cell):
    """`A`, `B` -> {"A", "B"}."""
    return set(re.findall(r"`([^`]+)`", cell))


def codes(cell):
    return {int(c) for c in re.findall(r"\d+", cell)}


def main():
    results = json.load(open(sys.argv[1]))
    docs = sys.argv[2]
    errors = []

    # operations.md: every exit code once, nothing else.
    want = {r["exit"] for r in results}
    got = {}
    for row in section_table(f"{docs}/operations.md", "Exit codes"):
        for c in codes(row[0]):
            got[c] = row[1]
    if set(got) != want:
        errors.append(f"operations.md exit codes {sorted(got)}, the table "
                      f"has {sorted(want)}")

    # agent-run.md: exit -> outcome -> reasons, both ways.
    doc = set()
    for row in section_table(f"{docs}/agent-run.md",
                             "Outcomes and exit codes"):
        for c in codes(row[0]):
            for o in words(row[1]):
                for why in words(row[2]):
                    doc.add((c, o, why))
    table = {(r["exit"], r["outcome"], r["reason"]) for r in results
             if r["run"]}
    for t in sorted(table - doc):
        errors.append(f"agent-run.md lacks exit {t[0]}, outcome {t[1]}, "
                      f"reason {t[2]}")
    for t in sorted(doc - table):
        errors.append(f"agent-run.md has exit {t[0]}, outcome {t[1]}, "
                      f"reason {t[2]}, which the table does not")

    # report.md: every status with its exit code.
    doc = set()
    for row in section_table(f"{docs}/report.md", "status"):
        for name in words(row[0]):
            for c in codes(row[1]):
                doc.add((name, c))
    table = {(r["name"], r["exit"]) for r in results
             if r["convert"] or r["run"]}
    for t in sorted(table - doc):
        errors.append(f"report.md lacks status {t[0]} (exit {t[1]})")
    for t in sorted(doc - table):
        errors.append(f"report.md has status {t[0]} (exit {t[1]}), which "
                      f"the table does not")

    for e in errors:
        print("FAIL:", e, file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"ok: {len(results)} results, {len(want)} exit codes, as documented")


if __name__ == "__main__":
    main()
