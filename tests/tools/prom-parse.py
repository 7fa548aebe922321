#!/usr/bin/env python3
"""Check Prometheus text exposition (format 0.0.4) with the reference
parser, prometheus_client, plus what that parser lets through: every
family announced by HELP and TYPE before its samples, finite values, and
the v2v_agent_* families that docs/operations.md promises.

    prom-parse.py FILE|-          exit 0 if good, 1 if not, 77 (skip)
                                  if prometheus_client is missing

Before reading FILE it checks that it rejects broken input, so a parser
that accepts anything cannot make the test pass.
"""
import math
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("prom-parse: python3-prometheus-client is not installed",
          file=sys.stderr)
    sys.exit(77)

EXPECTED = {
    # family name as the parser reports it: "_total" is dropped from
    # counters
    "v2v_agent_phase": "gauge",
    "v2v_agent_progress_percent": "gauge",
    "v2v_agent_phase_duration_seconds": "gauge",
    "v2v_agent_conversions": "counter",
    "v2v_agent_accelerator_info": "gauge",
    "v2v_agent_warnings": "gauge",
}


def check(text, expect_families=True):
    """Raise ValueError on anything wrong with TEXT."""
    families = list(text_string_to_metric_families(text))

    # The parser does not insist on metadata; we do.
    announced = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not parts[3]:
                raise ValueError("empty %s for %s" % (parts[1], parts[2]))
            announced.setdefault(parts[2], set()).add(parts[1])
        elif line and not line.startswith("#"):
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if announced.get(name) != {"HELP", "TYPE"}:
                raise ValueError("%s: sample before HELP and TYPE" % name)
            # "name{labels} value" and nothing else: no timestamps
            rest = line[len(name):]
            if rest.startswith("{"):
                rest = rest[rest.rindex("}") + 1:]
            if len(rest.split()) != 1:
                raise ValueError("%s: expected one value: %r" % (name, line))

    for f in families:
        for s in f.samples:
            if not math.isfinite(s.value):
                raise ValueError("%s: value %r" % (s.name, s.value))

    if not expect_families:
        return families
    types = {f.name: f.type for f in families}
    for name, typ in EXPECTED.items():
        if types.get(name) != typ:
            raise ValueError("family %s: want %s, got %s"
                             % (name, typ, types.get(name)))
    by_name = {f.name: f for f in families}
    current = [s for s in by_name["v2v_agent_phase"].samples if s.value == 1]
    if len(current) != 1:
        raise ValueError("v2v_agent_phase: %d phases at 1" % len(current))
    accel = by_name["v2v_agent_accelerator_info"].samples
    if len(accel) != 1 or accel[0].labels.get("accelerator") not in (
            "kvm", "tcg", "unknown"):
        raise ValueError("v2v_agent_accelerator_info: %r" % accel)
    return families


BROKEN = [
    # unterminated label value
    '# HELP a x\n# TYPE a gauge\na{phase="x} 1\n',
    # a raw newline in a label value: what escaping must prevent
    '# HELP a x\n# TYPE a gauge\na{phase="x\ny"} 1\n',
    # not a number
    '# HELP a x\n# TYPE a gauge\na 1x\n',
    # no metadata
    'a 1\n',
]


def self_check():
    for text in BROKEN:
        try:
            check(text, expect_families=False)
        except ValueError:
            continue
        print("prom-parse: self-check: accepted broken input %r" % text,
              file=sys.stderr)
        sys.exit(1)
    check('# HELP a x\n# TYPE a gauge\na{l="q\\"\\\\\\n"} 1\n',
          expect_families=False)


def main():
    if len(sys.argv) != 2:
        print("usage: prom-parse.py FILE|-", file=sys.stderr)
        return 2
    self_check()
    if sys.argv[1] == "-":
        text = sys.stdin.read()
    else:
        with open(sys.argv[1], encoding="utf-8") as f:
            text = f.read()
    try:
        families = check(text)
    except ValueError as e:
        print("prom-parse: %s" % e, file=sys.stderr)
        return 1
    print("prom-parse: %d families OK" % len(families))
    return 0


if __name__ == "__main__":
    sys.exit(main())
