#!/usr/bin/python3
"""Tests for the simulated kubelet and Job controller of the fake API server
(tests/fakes/kube-apiserver.py --kubelet, POST /_fake/kubelet).

The orchestrator's tests lean on these Jobs and Pods looking like a real
cluster's, so their shape is checked here, and every object the simulation
stores is put through the fake's validation again at the end of each test.

Standard library only.  SHARED_DATA must point at the shared test data
directory (ctest sets it from V2V_SHARED_DATA).
"""

import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_kube_fake as base  # noqa: E402
from test_kube_fake import Fake, MAKE_CERTS, TOKEN  # noqa: E402

NS = "v2v"
JOBS = f"/apis/batch/v1/namespaces/{NS}/jobs"
PODS = f"/api/v1/namespaces/{NS}/pods"

CHECK_ENV = r"""#!/bin/sh
# The "container": checks what the simulated kubelet gave it.
# Not a test's fail(): the container reports through its termination
# message, as the agent would.
bad_env() { echo "check-env: $*" >&2; printf '{"outcome":"Failed","why":"%s"}' "$*" > "$V2V_TERMINATION_LOG"; exit 1; }
[ "$#" = 2 ] && [ "$1" = --mode ] && [ "$2" = "run-x" ] || bad_env "args: $*"
[ "$POD_NAME" = "$HOSTNAME" ] || bad_env "POD_NAME $POD_NAME"
[ "$POD_NAMESPACE" = v2v ] || bad_env "POD_NAMESPACE $POD_NAMESPACE"
[ -n "$POD_UID" ] || bad_env "POD_UID empty"
[ "$NODE_NAME" = node-east ] || bad_env "NODE_NAME $NODE_NAME"
[ "$GREETING" = "hello-v2v" ] || bad_env "GREETING $GREETING"
[ -L "$V2V_DEVICE_DIR/block0" ] || bad_env "no block0 symlink"
[ "$(readlink -f "$V2V_DEVICE_DIR/block0")" = "$EXPECT_DEVICE" ] || bad_env "block0 -> $(readlink -f "$V2V_DEVICE_DIR/block0")"
[ "$(head -c 4 "$V2V_DEVICE_DIR/block0")" = DISK ] || bad_env "block0 content"
[ -f "$KUBECONFIG" ] || bad_env "KUBECONFIG"
[ "$KUBERNETES_SERVICE_HOST" = 127.0.0.1 ] || bad_env "KUBERNETES_SERVICE_HOST"
# Talk back to the fake as the agent would: patch our own Pod.
curl -sf --cacert "$V2V_SERVICEACCOUNT_DIR/ca.crt" \
  -H "Authorization: Bearer $(cat "$V2V_SERVICEACCOUNT_DIR/token")" \
  -H 'Content-Type: application/merge-patch+json' -X PATCH \
  -d '{"metadata":{"annotations":{"v2v.kubevirt.io/phase":"done"}}}' \
  "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$POD_NAMESPACE/pods/$POD_NAME" >/dev/null || bad_env "patch own pod"
echo "check-env: all good"
printf '{"outcome":"Succeeded","reason":"Converted","exitCode":0,"pod":"%s"}' "$POD_NAME" > "$V2V_TERMINATION_LOG"
exit 0
"""

EXIT3 = """#!/bin/sh
echo "refusing" >&2
printf '{"outcome":"DeviceError","reason":"DeviceError","exitCode":3}' > "$V2V_TERMINATION_LOG"
exit 3
"""

SLEEPER = """#!/bin/sh
sleep 60 &
echo "$$ $!" > "$1.tmp" && mv "$1.tmp" "$1"
wait
"""


def job(name, command=None, args=None, env=None, backoff=None, devices=True,
        claim="pvc-a"):
    c = {"name": "agent", "image": "quay.io/example/v2v-agent:1"}
    if command:
        c["command"] = command
    if args:
        c["args"] = args
    if env:
        c["env"] = env
    spec = {"restartPolicy": "Never", "containers": [c]}
    if devices:
        c["volumeDevices"] = [{"name": "disk0", "devicePath": "/dev/block0"}]
        spec["volumes"] = [{"name": "disk0", "persistentVolumeClaim":
                            {"claimName": claim}}]
    j = {"apiVersion": "batch/v1", "kind": "Job",
         "metadata": {"name": name, "namespace": NS},
         "spec": {"template": {"metadata": {"labels": {"app": "v2v"}},
                               "spec": spec}}}
    if backoff is not None:
        j["spec"]["backoffLimit"] = backoff
    return j


class KubeletSimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.environ.get("SHARED_DATA"):
            raise unittest.SkipTest("SHARED_DATA is not set")
        cls.tmp = tempfile.mkdtemp(prefix="kubelet-sim-test-")
        cls.certs = os.path.join(cls.tmp, "certs")
        subprocess.run([MAKE_CERTS, cls.certs], check=True)
        cls.vols = os.path.join(cls.tmp, "volumes")
        cls.bins = os.path.join(cls.tmp, "bin")
        cls.logs = os.path.join(cls.tmp, "logs")
        for d in (cls.vols, cls.bins):
            os.makedirs(d)
        with open(os.path.join(cls.vols, "vol-a.img"), "wb") as f:
            f.write(b"DISK" + b"\0" * 4092)
        for name, text in (("check-env", CHECK_ENV), ("exit3", EXIT3),
                           ("sleeper", SLEEPER)):
            p = os.path.join(cls.bins, name)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, 0o755)
        cls.seed = os.path.join(cls.tmp, "seed.json")
        with open(cls.seed, "w") as f:
            json.dump([
                {"apiVersion": "v1", "kind": "Node", "metadata": {
                    "name": "node-east", "labels": {
                        "topology.kubernetes.io/zone": "us-east-1a"}}},
                {"apiVersion": "v1", "kind": "Node", "metadata": {
                    "name": "node-west", "labels": {
                        "topology.kubernetes.io/zone": "us-west-2b"}}},
                {"apiVersion": "v1", "kind": "PersistentVolume",
                 "metadata": {"name": "pv-a"},
                 "spec": {"capacity": {"storage": "1Gi"},
                          "accessModes": ["ReadWriteOnce"],
                          "volumeMode": "Block",
                          "csi": {"driver": "ebs.csi.aws.com",
                                  "volumeHandle": "vol-a"},
                          "claimRef": {"namespace": NS, "name": "pvc-a"}}},
                {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                 "metadata": {"name": "pvc-a", "namespace": NS},
                 "spec": {"accessModes": ["ReadWriteOnce"],
                          "volumeMode": "Block", "volumeName": "pv-a",
                          "storageClassName": "",
                          "resources": {"requests": {"storage": "1Gi"}}}},
            ], f)
        cls.fake = Fake(cls.tmp, cls.certs, "--token", TOKEN,
                        "--seed", cls.seed, "--kubelet", "off",
                        "--kubelet-delay", "0.1",
                        "--volume-dir", cls.vols, "--kubelet-bin-dir", cls.bins,
                        "--kubelet-log-dir", cls.logs,
                        "--kubelet-ca", os.path.join(cls.certs, "ca.crt"))
        cls.ctx = ssl.create_default_context(
            cafile=os.path.join(cls.certs, "ca.crt"))

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.control("POST", "/_fake/reset")

    def tearDown(self):
        # Everything the simulation stored is still valid: the fake's own
        # strict insert validates each object again (422 if not).
        settings = self.control("GET", "/_fake/kubelet")
        self.assertEqual(settings["errors"], [])
        for obj in self.control("GET", "/_fake/objects"):
            status, reply, _ = self.call("POST", "/_fake/objects", obj,
                                         token=None)
            self.assertEqual(status, 200, reply)

    # helpers borrowed from test_kube_fake's KubeFakeTest: call, control.
    call = base.KubeFakeTest.call
    control = base.KubeFakeTest.control
    conn = base.KubeFakeTest.conn

    def kubelet(self, **settings):
        return self.control("POST", "/_fake/kubelet", settings)

    def create(self, obj):
        status, reply, _ = self.call("POST", JOBS, obj)
        self.assertEqual(status, 201, reply)
        return reply

    def job_pods(self, name):
        status, lst, _ = self.call(
            "GET", PODS + f"?labelSelector=batch.kubernetes.io/job-name={name}")
        self.assertEqual(status, 200)
        return lst["items"]

    def wait_job(self, name, timeout=60, seen=None):
        """Poll (as the orchestrator does) until the Job is finished."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            status, j, _ = self.call("GET", f"{JOBS}/{name}")
            self.assertEqual(status, 200, j)
            if seen is not None:
                for p in self.job_pods(name):
                    seen.add(p.get("status", {}).get("phase"))
            conds = {c["type"]: c for c in
                     (j.get("status") or {}).get("conditions") or []}
            for t in ("Complete", "Failed"):
                if conds.get(t, {}).get("status") == "True":
                    return j
            time.sleep(0.02)
        self.fail(f"job {name} did not finish: {j.get('status')}")

    @staticmethod
    def terminated(pod):
        return pod["status"]["containerStatuses"][0]["state"]["terminated"]

    # -- succeed / fail --

    def test_succeed(self):
        # Running lasts half a delay: 0.15 s was missed by the polls on a
        # machine with a load of 17.
        self.kubelet(mode="succeed", delay=1.0)
        j = self.create(job("conv-ok"))
        seen = set()
        done = self.wait_job("conv-ok", seen=seen)
        self.assertIn("Running", seen)
        st = done["status"]
        self.assertEqual(st["succeeded"], 1)
        self.assertNotIn("failed", st)
        self.assertIn("completionTime", st)
        self.assertIn("startTime", st)
        self.assertEqual([(c["type"], c["status"], c["reason"])
                          for c in st["conditions"]],
                         [("SuccessCriteriaMet", "True", "CompletionsReached"),
                          ("Complete", "True", "CompletionsReached")])
        pods = self.job_pods("conv-ok")
        self.assertEqual(len(pods), 1)
        p = pods[0]
        meta = p["metadata"]
        self.assertRegex(meta["name"], r"^conv-ok-[bcdfghjklmnpqrstvwxz2456789]{5}$")
        self.assertEqual(meta["labels"]["job-name"], "conv-ok")
        self.assertEqual(meta["labels"]["controller-uid"], j["metadata"]["uid"])
        self.assertEqual(meta["labels"]["app"], "v2v")
        self.assertEqual(meta["ownerReferences"], [{
            "apiVersion": "batch/v1", "kind": "Job", "name": "conv-ok",
            "uid": j["metadata"]["uid"], "controller": True,
            "blockOwnerDeletion": True}])
        self.assertEqual(p["spec"]["nodeName"], "node-east")
        self.assertEqual(p["spec"]["containers"],
                         j["spec"]["template"]["spec"]["containers"])
        self.assertEqual(p["status"]["phase"], "Succeeded")
        t = self.terminated(p)
        self.assertEqual((t["exitCode"], t["reason"]), (0, "Completed"))
        self.assertEqual(json.loads(t["message"])["outcome"], "Succeeded")
        # The Job controller's Events.
        status, evs, _ = self.call(
            "GET", f"/api/v1/namespaces/{NS}/events"
            "?fieldSelector=involvedObject.name=conv-ok")
        self.assertEqual({e["reason"] for e in evs["items"]},
                         {"SuccessfulCreate", "Completed"})

    def test_succeed_custom_result_and_rule(self):
        self.kubelet(mode="off", rules=[
            {"job_regex": "^conv-", "mode": "succeed", "delay": 0.05,
             "result": {"outcome": "Succeeded", "reason": "AlreadyConverted",
                        "exitCode": 0}}])
        self.create(job("conv-again"))
        self.create(job("other"))
        self.wait_job("conv-again")
        p = self.job_pods("conv-again")[0]
        self.assertEqual(json.loads(self.terminated(p)["message"])["reason"],
                         "AlreadyConverted")
        time.sleep(0.3)
        self.assertEqual(self.job_pods("other"), [])
        status, other, _ = self.call("GET", f"{JOBS}/other")
        self.assertNotIn("status", other)

    def test_fail_honours_backoff_limit(self):
        self.kubelet(mode="fail", delay=0.05)
        self.create(job("conv-bad", backoff=1))
        done = self.wait_job("conv-bad")
        st = done["status"]
        self.assertEqual(st["failed"], 2)
        self.assertNotIn("succeeded", st)
        self.assertNotIn("completionTime", st)
        self.assertEqual([(c["type"], c["reason"]) for c in st["conditions"]],
                         [("FailureTarget", "BackoffLimitExceeded"),
                          ("Failed", "BackoffLimitExceeded")])
        pods = self.job_pods("conv-bad")
        self.assertEqual(len(pods), 2)
        for p in pods:
            self.assertEqual(p["status"]["phase"], "Failed")
            t = self.terminated(p)
            self.assertEqual((t["exitCode"], t["reason"]), (11, "Error"))
            self.assertEqual(json.loads(t["message"])["outcome"], "Failed")

    def test_bad_settings_refused(self):
        for body in ({"mode": "sometimes"}, {"delay": -1},
                     {"rules": [{"mode": "fail"}]},
                     {"rules": [{"job_regex": "(", "mode": "fail"}]},
                     {"colour": "blue"}):
            status, _, _ = self.call("POST", "/_fake/kubelet", body,
                                     token=None)
            self.assertEqual(status, 400, body)

    # -- deletion --

    def test_delete_background_removes_pods_orphan_keeps_them(self):
        self.kubelet(mode="succeed", delay=0.05)
        self.create(job("conv-a"))
        self.create(job("conv-b"))
        self.wait_job("conv-a")
        self.wait_job("conv-b")
        status, _, r = self.call("DELETE", f"{JOBS}/conv-a",
                                 {"propagationPolicy": "Background"})
        self.assertEqual(status, 200)
        self.assertIsNone(r.getheader("Warning"))
        self.assertEqual(self.job_pods("conv-a"), [])
        status, _, r = self.call("DELETE", f"{JOBS}/conv-b")
        self.assertEqual(status, 200)
        self.assertIn("child pods are preserved", r.getheader("Warning"))
        pods = self.job_pods("conv-b")
        self.assertEqual(len(pods), 1)
        self.assertNotIn("ownerReferences", pods[0]["metadata"])

    def test_delete_policy_in_the_query(self):
        # kube_delete (and kubectl) send the policy as a query parameter,
        # not as a DeleteOptions body: it must be honoured all the same.
        self.kubelet(mode="succeed", delay=0.05)
        for name in ("conv-q", "conv-o", "conv-f"):
            self.create(job(name))
            self.wait_job(name)
        status, _, r = self.call(
            "DELETE", f"{JOBS}/conv-q?propagationPolicy=Background")
        self.assertEqual(status, 200)
        self.assertIsNone(r.getheader("Warning"))
        self.assertEqual(self.job_pods("conv-q"), [])
        status, _, r = self.call(
            "DELETE", f"{JOBS}/conv-o?propagationPolicy=Orphan")
        self.assertEqual(status, 200)
        self.assertIsNone(r.getheader("Warning"))
        pods = self.job_pods("conv-o")
        self.assertEqual(len(pods), 1)
        self.assertNotIn("ownerReferences", pods[0]["metadata"])
        status, reply, _ = self.call(
            "DELETE", f"{JOBS}/conv-f?propagationPolicy=Foreground")
        self.assertEqual(status, 200)
        self.assertEqual(reply["kind"], "Job")
        self.assertEqual(reply["metadata"]["finalizers"],
                         ["foregroundDeletion"])
        self.assertIn("deletionTimestamp", reply["metadata"])
        self.assertEqual(self.job_pods("conv-f"), [])
        self.assertEqual(self.call("GET", f"{JOBS}/conv-f")[0], 404)
        status, _, _ = self.call(
            "DELETE", f"{JOBS}/nothing?propagationPolicy=Sometimes")
        self.assertEqual(status, 400)

    # -- exec --

    def test_exec_runs_the_command(self):
        self.kubelet(mode="exec", delay=0.05)
        fr = lambda p: {"fieldRef": {"apiVersion": "v1", "fieldPath": p}}
        self.create(job("conv-exec", command=["/usr/bin/check-env"],
                        args=["--mode", "$(MODE)"], env=[
            {"name": "POD_NAME", "valueFrom": fr("metadata.name")},
            {"name": "POD_NAMESPACE", "valueFrom": fr("metadata.namespace")},
            {"name": "POD_UID", "valueFrom": fr("metadata.uid")},
            {"name": "NODE_NAME", "valueFrom": fr("spec.nodeName")},
            {"name": "WHO", "value": "v2v"},
            {"name": "GREETING", "value": "hello-$(WHO)"},
            {"name": "MODE", "value": "run-x"},
            {"name": "EXPECT_DEVICE",
             "value": os.path.realpath(os.path.join(self.vols, "vol-a.img"))},
            {"name": "V2V_DEVICE_DIR", "value": "/dev"}]))
        done = self.wait_job("conv-exec")
        p = self.job_pods("conv-exec")[0]
        t = self.terminated(p)
        self.assertEqual((t["exitCode"], t["reason"]), (0, "Completed"),
                         t.get("message"))
        msg = json.loads(t["message"])
        self.assertEqual(msg["pod"], p["metadata"]["name"])
        self.assertEqual(p["status"]["phase"], "Succeeded")
        self.assertEqual(p["metadata"]["annotations"]
                         ["v2v.kubevirt.io/phase"], "done")
        self.assertEqual(done["status"]["succeeded"], 1)
        with open(os.path.join(self.logs, p["metadata"]["name"] + ".log")) as f:
            self.assertIn("check-env: all good", f.read())
        # The same output through pods/log, as text (one container: no
        # container parameter needed).
        c = self.conn()
        c.request("GET", f"{PODS}/{p['metadata']['name']}/log?tailLines=1",
                  headers={"Authorization": f"Bearer {TOKEN}"})
        r = c.getresponse()
        self.assertEqual((r.status, r.read()), (200, b"check-env: all good\n"))
        self.assertTrue(r.getheader("Content-Type").startswith("text/plain"))
        c.close()

    def test_exec_exit_3_fails_without_retry(self):
        self.kubelet(mode="exec", delay=0.05)
        self.create(job("conv-exit3", command=["exit3"]))
        done = self.wait_job("conv-exit3")
        self.assertEqual(done["status"]["failed"], 1)
        self.assertEqual(done["status"]["conditions"][-1]["reason"],
                         "BackoffLimitExceeded")
        pods = self.job_pods("conv-exit3")
        self.assertEqual(len(pods), 1)      # backoffLimit 6, but no retries
        t = self.terminated(pods[0])
        self.assertEqual((t["exitCode"], t["reason"]), (3, "Error"))
        self.assertEqual(json.loads(t["message"])["reason"], "DeviceError")

    def test_exec_missing_command_is_start_error(self):
        self.kubelet(mode="exec", delay=0.05)
        self.create(job("conv-nocmd", command=["no-such-v2v-command"]))
        self.wait_job("conv-nocmd")
        t = self.terminated(self.job_pods("conv-nocmd")[0])
        self.assertEqual((t["exitCode"], t["reason"]), (128, "StartError"))

    def test_exec_unbound_claim_stays_pending(self):
        self.kubelet(mode="exec", delay=0.05)
        self.create(job("conv-nopvc", command=["exit3"], claim="pvc-none"))
        end = time.monotonic() + 60
        while time.monotonic() < end:
            pods = self.job_pods("conv-nopvc")
            if pods and pods[0]["status"]["containerStatuses"][0]["state"] \
                    .get("waiting", {}).get("message"):
                break
            time.sleep(0.05)
        p = pods[0]
        self.assertEqual(p["status"]["phase"], "Pending")
        w = p["status"]["containerStatuses"][0]["state"]["waiting"]
        self.assertEqual(w["reason"], "ContainerCreating")
        self.assertIn("pvc-none", w["message"])
        status, evs, _ = self.call(
            "GET", f"/api/v1/namespaces/{NS}/events?fieldSelector="
            f"involvedObject.name={p['metadata']['name']}")
        self.assertEqual([e["reason"] for e in evs["items"]],
                         ["FailedMapVolume"])

    def test_exec_job_deletion_kills_the_process_group(self):
        self.kubelet(mode="exec", delay=0.05)
        pidfile = os.path.join(self.tmp, "sleeper.pids")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        self.create(job("conv-sleep", command=["sleeper"], args=[pidfile]))
        end = time.monotonic() + 60
        while not os.path.exists(pidfile) and time.monotonic() < end:
            time.sleep(0.02)
        with open(pidfile) as f:
            pids = [int(x) for x in f.read().split()]
        self.assertEqual(self.job_pods("conv-sleep")[0]["status"]["phase"],
                         "Running")
        status, _, _ = self.call("DELETE", f"{JOBS}/conv-sleep",
                                 {"propagationPolicy": "Foreground"})
        self.assertEqual(status, 200)
        self.assertEqual(self.job_pods("conv-sleep"), [])

        def alive(pid):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return f.read().rsplit(")", 1)[1].split()[0] != "Z"
            except OSError:
                return False
        end = time.monotonic() + 60
        while any(alive(p) for p in pids) and time.monotonic() < end:
            time.sleep(0.05)
        self.assertEqual([p for p in pids if alive(p)], [])
        # The run ends just after its processes: give it a moment.
        end = time.monotonic() + 60
        while self.control("GET", "/_fake/kubelet")["running"] and \
                time.monotonic() < end:
            time.sleep(0.05)
        self.assertEqual(self.control("GET", "/_fake/kubelet")["running"], [])

    def test_exec_active_deadline(self):
        self.kubelet(mode="exec", delay=0.05)
        pidfile = os.path.join(self.tmp, "deadline.pids")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        j = job("conv-slow", command=["sleeper"], args=[pidfile])
        j["spec"]["activeDeadlineSeconds"] = 1
        self.create(j)
        done = self.wait_job("conv-slow")
        self.assertEqual([(c["type"], c["reason"])
                          for c in done["status"]["conditions"]],
                         [("FailureTarget", "DeadlineExceeded"),
                          ("Failed", "DeadlineExceeded")])
        t = self.terminated(self.job_pods("conv-slow")[0])
        self.assertEqual((t["exitCode"], t["reason"]), (137, "Error"))

    # -- nodes --

    def test_nodes_by_zone(self):
        status, lst, _ = self.call(
            "GET", "/api/v1/nodes?labelSelector="
            "topology.kubernetes.io/zone%3Dus-east-1a")
        self.assertEqual(status, 200)
        self.assertEqual([n["metadata"]["name"] for n in lst["items"]],
                         ["node-east"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
