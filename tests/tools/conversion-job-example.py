#!/usr/bin/python3
"""k8s/manifests/conversion-job.example.yaml is the conversion Job that
orchestrator/render.c makes for the sample VM of orch-render-dump with
tests/unit/plans/full.json.  This regenerates it, or checks that it is
current, so the documentation cannot drift from the code.

    conversion-job-example.py ORCH_RENDER_DUMP PLAN OUT_YAML --write|--check
"""
import json
import subprocess
import sys

import yaml

HEADER = """\
# Documentation, not to be applied: the conversion Job that
# v2v-orchestrator creates for one VM (orchestrator/render.c), here for
# the sample VM of tests/tools/orch-render-dump.c and the plan
# tests/unit/plans/full.json (three EBS volumes, bound to the claims
# web-1-disk0..2 in namespace "vms").  The agent sees the volumes as
# /dev/block0..2, runs as uid 107 with a read-only root filesystem, and
# writes only under /var/tmp (an emptyDir).  The unit test
# manifests-conversion-job checks that this file is what the code renders;
# regenerate it with
#   tests/tools/conversion-job-example.py build/tests/tools/orch-render-dump \\
#     tests/unit/plans/full.json k8s/manifests/conversion-job.example.yaml --write
"""


def render(dump, plan):
    out = subprocess.run([dump, plan], check=True, capture_output=True,
                         text=True).stdout
    jobs = [o for o in json.loads(out) if o.get("kind") == "Job"]
    if not jobs:
        sys.exit("conversion-job-example: %s rendered no Job" % plan)
    return HEADER + yaml.safe_dump(jobs[0], sort_keys=False,
                                   default_flow_style=False, width=72)


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in ("--write", "--check"):
        sys.exit(__doc__)
    dump, plan, path, mode = sys.argv[1:]
    text = render(dump, plan)
    if mode == "--write":
        with open(path + ".tmp", "w") as f:
            f.write(text)
        import os
        os.rename(path + ".tmp", path)
        return 0
    with open(path) as f:
        current = f.read()
    if yaml.safe_load(current) != yaml.safe_load(text):
        print("%s is not what orchestrator/render.c makes now: regenerate "
              "it (see its header)" % path)
        return 1
    print("conversion-job-example: %s is current" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
