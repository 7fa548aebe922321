#!/usr/bin/python3
"""Tests for the simulated KubeVirt of the fake API server
(tests/fakes/virt_launcher.py: --virt-launcher, POST /_fake/virt-launcher).

The orchestrator's health gate leans on these VMIs, Pods and console logs
looking like a real cluster's, so their shape is checked here, and every
object the simulation stores is put through the fake's validation again at
the end of each test.  No guest boots here: "canned" mode has a configured
console, and "qemu" mode runs a stub emulator that records its command
line and sleeps (test_virt_launcher_boot.py boots a real one).

Standard library only.  SHARED_DATA must point at the shared test data
directory (ctest sets it from V2V_SHARED_DATA).
"""

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_kube_fake as base  # noqa: E402
from test_kube_fake import Fake, MAKE_CERTS, TOKEN  # noqa: E402
import virt_launcher  # noqa: E402

NS = "vms"
VMS = f"/apis/kubevirt.io/v1/namespaces/{NS}/virtualmachines"
VMIS = f"/apis/kubevirt.io/v1/namespaces/{NS}/virtualmachineinstances"
SUB = f"/apis/subresources.kubevirt.io/v1/namespaces/{NS}/virtualmachines"
PODS = f"/api/v1/namespaces/{NS}/pods"
HEALTH = 'V2V-HEALTH {"state":"running","failed_units":[]}'
CONSOLE = f"SeaBIOS (canned)\nBooting from Hard Disk...\n{HEALTH}\nweb-1 login: \n"

# Stands in for qemu-system-x86_64: records its command line and pid
# under $STUB_QEMU_DIR, prints a console, and sleeps (or "powers off" when
# the guest's name ends in -poweroff).
STUB_QEMU = r"""#!/bin/sh
name=$(printf '%s\n' "$@" | sed -n 's/^guest=//p')
printf '%s\n' "$@" > "$STUB_QEMU_DIR/$name.argv.tmp"
mv "$STUB_QEMU_DIR/$name.argv.tmp" "$STUB_QEMU_DIR/$name.argv"
echo "stub qemu starting" >&2
echo "SeaBIOS (stub)"
echo "V2V-HEALTH {\"stub\":\"$name\"}"
case $name in *-poweroff) sleep 0.3; exit 0;; esac
echo $$ > "$STUB_QEMU_DIR/$name.pid"
exec sleep 600
"""


def vm(name, strategy="Always", disks=("root",), console_log=True,
       ifaces=None, extra_volumes=(), running=None):
    disks_spec = [{"name": f"disk{i}", "disk": {"bus": "virtio"}}
                  for i, _ in enumerate(disks)]
    if disks_spec:
        disks_spec[0]["bootOrder"] = 1
    volumes = [{"name": f"disk{i}", "persistentVolumeClaim":
                {"claimName": f"pvc-{d}"}} for i, d in enumerate(disks)]
    volumes += list(extra_volumes)
    ifaces = ifaces if ifaces is not None else [
        {"name": "nic0", "model": "virtio", "macAddress": "02:00:00:00:00:01",
         "masquerade": {}}]
    spec = {"template": {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"domain": {
            "cpu": {"sockets": 1, "cores": 2, "threads": 1},
            "memory": {"guest": "256Mi"},
            "machine": {"type": "q35"},
            "firmware": {"bootloader": {"bios": {}}},
            "devices": {"disks": disks_spec, "interfaces": ifaces,
                        "logSerialConsole": console_log, "rng": {}}},
            "networks": [{"name": i["name"], "pod": {}} for i in ifaces],
            "volumes": volumes}}}
    if running is not None:
        spec["running"] = running
    else:
        spec["runStrategy"] = strategy
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": name, "namespace": NS,
                         "labels": {"v2v.kubevirt.io/plan": "wave1"}},
            "spec": spec}


def pv_pair(name, handle):
    return [
        {"apiVersion": "v1", "kind": "PersistentVolume",
         "metadata": {"name": f"pv-{name}"},
         "spec": {"capacity": {"storage": "1Gi"},
                  "accessModes": ["ReadWriteOnce"], "volumeMode": "Block",
                  "csi": {"driver": "ebs.csi.aws.com",
                          "volumeHandle": handle},
                  "claimRef": {"namespace": NS, "name": f"pvc-{name}"}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": f"pvc-{name}", "namespace": NS},
         "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Block",
                  "volumeName": f"pv-{name}", "storageClassName": "",
                  "resources": {"requests": {"storage": "1Gi"}}}}]


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class VirtLauncherTest(unittest.TestCase):
    extra_args = ()

    @classmethod
    def setUpClass(cls):
        if not os.environ.get("SHARED_DATA"):
            raise unittest.SkipTest("SHARED_DATA is not set")
        cls.tmp = tempfile.mkdtemp(prefix="virt-launcher-test-")
        cls.certs = os.path.join(cls.tmp, "certs")
        subprocess.run([MAKE_CERTS, cls.certs], check=True,
                       stdout=subprocess.DEVNULL)
        cls.vols = os.path.join(cls.tmp, "volumes")
        cls.stub_dir = os.path.join(cls.tmp, "stub")
        os.makedirs(cls.vols)
        os.makedirs(cls.stub_dir)
        for h in ("vol-root", "vol-data"):
            with open(os.path.join(cls.vols, h + ".img"), "wb") as f:
                f.truncate(1 << 20)
        cls.stub = os.path.join(cls.tmp, "qemu-stub")
        with open(cls.stub, "w") as f:
            f.write(STUB_QEMU)
        os.chmod(cls.stub, 0o755)
        os.environ["STUB_QEMU_DIR"] = cls.stub_dir
        cls.seed = os.path.join(cls.tmp, "seed.json")
        with open(cls.seed, "w") as f:
            json.dump([{"apiVersion": "v1", "kind": "Node",
                        "metadata": {"name": "node-a"}},
                       *pv_pair("root", "vol-root"),
                       *pv_pair("data", "vol-data")], f)
        cls.fake = Fake(cls.tmp, cls.certs, "--token", TOKEN,
                        "--seed", cls.seed, "--volume-dir", cls.vols,
                        "--virt-delay", "0.05", "--virt-qemu", cls.stub,
                        *cls.extra_args)
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
        self.assertEqual(self.control("GET", "/_fake/kubelet")["errors"], [])
        for obj in self.control("GET", "/_fake/objects"):
            status, reply, _ = self.call("POST", "/_fake/objects", obj,
                                         token=None)
            self.assertEqual(status, 200, reply)

    call = base.KubeFakeTest.call
    control = base.KubeFakeTest.control
    conn = base.KubeFakeTest.conn

    # -- helpers --

    def launcher(self, **settings):
        return self.control("POST", "/_fake/virt-launcher", settings)

    def create(self, obj):
        status, reply, _ = self.call("POST", VMS, obj)
        self.assertEqual(status, 201, reply)
        return reply

    def get(self, path):
        status, obj, _ = self.call("GET", path)
        return obj if status == 200 else None

    def raw(self, method, path, body=None):
        """(status, body bytes, content type) of a non-JSON reply."""
        c = self.conn()
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {TOKEN}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        out = r.read()
        c.close()
        return r.status, out, r.getheader("Content-Type")

    def wait_for(self, what, fn, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = fn()
            if v:
                return v
            time.sleep(0.02)
        self.fail(f"timed out waiting for {what}")

    def wait_phase(self, name, phase, seen=None, timeout=60):
        def check():
            vmi = self.get(f"{VMIS}/{name}")
            p = ((vmi or {}).get("status") or {}).get("phase")
            if seen is not None and p and (not seen or seen[-1] != p):
                seen.append(p)
            return vmi if p == phase else None
        return self.wait_for(f"VMI {name} {phase}", check, timeout)

    def launcher_pods(self, name):
        status, lst, _ = self.call(
            "GET", PODS + f"?labelSelector=vm.kubevirt.io/name={name}")
        self.assertEqual(status, 200)
        return lst["items"]

    def console(self, pod, query=""):
        status, out, ctype = self.raw(
            "GET", f"{PODS}/{pod}/log?container=guest-console-log{query}")
        self.assertEqual(status, 200, out)
        self.assertTrue(ctype.startswith("text/plain"), ctype)
        return out.decode()

    # -- canned mode --

    def test_running_vm_gets_vmi_pod_and_console(self):
        self.launcher(mode="canned", console=CONSOLE)
        v = self.create(vm("web-1"))
        # Polling can miss a short phase; the VMI's own record cannot.
        vmi = self.wait_phase("web-1", "Running")
        meta = vmi["metadata"]
        self.assertEqual(meta["ownerReferences"], [{
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "name": "web-1", "uid": v["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}])
        self.assertEqual(meta["labels"]["app"], "web")
        self.assertEqual(meta["labels"]["kubevirt.io/nodeName"], "node-a")
        st = vmi["status"]
        self.assertEqual([p["phase"] for p in
                          st["phaseTransitionTimestamps"]],
                         ["Pending", "Scheduling", "Scheduled", "Running"])
        self.assertEqual(st["nodeName"], "node-a")
        ready = [c for c in st["conditions"] if c["type"] == "Ready"]
        self.assertEqual(ready[0]["status"], "True")
        self.assertEqual(st["interfaces"][0]["mac"], "02:00:00:00:00:01")
        self.assertEqual(st["currentCPUTopology"],
                         {"sockets": 1, "cores": 2, "threads": 1})
        # The template's spec, with KubeVirt's defaults.
        self.assertEqual(vmi["spec"]["domain"]["devices"],
                         v["spec"]["template"]["spec"]["domain"]["devices"])
        self.assertEqual(vmi["spec"]["domain"]["resources"]["requests"]
                         ["memory"], "256Mi")
        pods = self.launcher_pods("web-1")
        self.assertEqual(len(pods), 1)
        pod = pods[0]
        pm = pod["metadata"]
        self.assertRegex(pm["name"],
                         r"^virt-launcher-web-1-[bcdfghjklmnpqrstvwxz2456789]{5}$")
        self.assertEqual(pm["labels"]["kubevirt.io/created-by"],
                         meta["uid"])
        self.assertEqual(pm["labels"]["kubevirt.io"], "virt-launcher")
        self.assertEqual(pm["ownerReferences"][0]["uid"], meta["uid"])
        self.assertEqual(st["activePods"], {pm["uid"]: "node-a"})
        self.assertEqual([c["name"] for c in pod["spec"]["containers"]],
                         ["compute", "guest-console-log"])
        self.assertEqual(pod["spec"]["containers"][0]["volumeDevices"],
                         [{"name": "disk0", "devicePath": "/dev/disk0"}])
        self.assertEqual(pod["status"]["phase"], "Running")
        # The serial console, through pods/log.
        self.wait_for("the health line",
                      lambda: HEALTH in self.console(pm["name"]))
        self.assertEqual(self.console(pm["name"]), CONSOLE)
        self.assertEqual(self.console(pm["name"], "&tailLines=1"),
                         "web-1 login: \n")
        self.assertEqual(self.console(pm["name"], "&tailLines=2"),
                         f"{HEALTH}\nweb-1 login: \n")
        self.assertEqual(self.console(pm["name"], "&sinceSeconds=60"),
                         CONSOLE)
        self.assertEqual(self.console(pm["name"], "&limitBytes=7"),
                         "SeaBIOS")
        stamped = self.console(pm["name"], "&timestamps=true")
        self.assertRegex(stamped.splitlines()[0],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z SeaBIOS")
        # The VM's status follows.
        vmobj = self.wait_for("VM Running", lambda: (lambda o: o if (
            o.get("status") or {}).get("printableStatus") == "Running"
            else None)(self.get(f"{VMS}/web-1")))
        self.assertTrue(vmobj["status"]["ready"])
        self.assertTrue(vmobj["status"]["created"])
        self.assertEqual(vmobj["status"]["runStrategy"], "Always")
        # The Events a cluster has.
        status, evs, _ = self.call("GET", f"/api/v1/namespaces/{NS}/events")
        reasons = {(e["involvedObject"]["kind"], e["reason"])
                   for e in evs["items"]}
        self.assertLessEqual({("VirtualMachine", "SuccessfulCreate"),
                              ("VirtualMachineInstance", "SuccessfulCreate"),
                              ("VirtualMachineInstance", "Started")},
                             reasons)

    def test_pod_log_errors_are_a_clusters(self):
        self.launcher(mode="canned", console=CONSOLE)
        self.create(vm("web-1"))
        self.wait_phase("web-1", "Running")
        pod = self.launcher_pods("web-1")[0]["metadata"]["name"]
        status, out, _ = self.raw("GET", f"{PODS}/{pod}/log")
        self.assertEqual(status, 400)
        self.assertIn(f"a container name must be specified for pod {pod}, "
                      "choose one of: [compute guest-console-log]",
                      json.loads(out)["message"])
        for q, code, msg in (
                ("?container=serial", 400,
                 f"container serial is not valid for pod {pod}"),
                ("?container=guest-console-log&previous=true", 400,
                 "previous terminated container"),
                ("?container=guest-console-log&tailLines=-1", 422,
                 "tailLines"),
                ("?container=guest-console-log&sinceSeconds=0", 422,
                 "sinceSeconds")):
            status, out, _ = self.raw("GET", f"{PODS}/{pod}/log{q}")
            self.assertEqual(status, code, q)
            self.assertIn(msg, json.loads(out)["message"], q)
        status, out, _ = self.raw("GET", f"{PODS}/virt-launcher-x/log")
        self.assertEqual(status, 404)
        status, out, _ = self.raw("POST", f"{PODS}/{pod}/log", {})
        self.assertEqual(status, 405)
        # The compute container's log is virt-launcher's own.
        status, out, _ = self.raw("GET", f"{PODS}/{pod}/log?container=compute")
        self.assertEqual(status, 200)

    def test_no_console_container_without_log_serial_console(self):
        self.launcher(mode="canned", console=CONSOLE)
        self.create(vm("web-2", console_log=False))
        self.wait_phase("web-2", "Running")
        pod = self.launcher_pods("web-2")[0]
        self.assertEqual([c["name"] for c in pod["spec"]["containers"]],
                         ["compute"])
        status, out, _ = self.raw(
            "GET", f"{PODS}/{pod['metadata']['name']}/log"
            "?container=guest-console-log")
        self.assertEqual(status, 400)

    def test_stop_and_start_subresources(self):
        self.launcher(mode="canned", console=CONSOLE)
        self.create(vm("web-1"))
        first = self.wait_phase("web-1", "Running")
        # Always cannot be started again.
        status, out, _ = self.raw("PUT", f"{SUB}/web-1/start", {})
        self.assertEqual(status, 409)
        self.assertEqual(json.loads(out)["message"],
                         'Operation cannot be fulfilled on virtualmachine.'
                         'kubevirt.io "web-1": VM is already running')
        status, out, _ = self.raw("PUT", f"{SUB}/web-1/stop", {})
        self.assertEqual((status, out), (202, b""))
        v = self.get(f"{VMS}/web-1")
        self.assertEqual(v["spec"]["runStrategy"], "Halted")
        self.assertEqual(v["metadata"]["generation"], 2)
        self.wait_for("the VMI to go", lambda: self.get(f"{VMIS}/web-1")
                      is None)
        self.wait_for("the pod to go", lambda: not self.launcher_pods("web-1"))
        self.wait_for("VM Stopped", lambda: (self.get(f"{VMS}/web-1").get(
            "status") or {}).get("printableStatus") == "Stopped")
        status, out, _ = self.raw("PUT", f"{SUB}/web-1/stop", {})
        self.assertEqual(status, 409)
        self.assertIn("VM is not running", json.loads(out)["message"])
        status, out, _ = self.raw("PUT", f"{SUB}/web-1/start", None)
        self.assertEqual(status, 202)
        self.assertEqual(self.get(f"{VMS}/web-1")["spec"]["runStrategy"],
                         "Always")
        second = self.wait_phase("web-1", "Running")
        self.assertNotEqual(second["metadata"]["uid"],
                            first["metadata"]["uid"])
        # Errors a real virt-api gives.
        status, out, _ = self.raw("PUT", f"{SUB}/nope/start", {})
        self.assertEqual(status, 404)
        self.assertIn('virtualmachine.kubevirt.io "nope" not found',
                      json.loads(out)["message"])
        status, out, _ = self.raw("POST", f"{SUB}/web-1/start", {})
        self.assertEqual(status, 405)
        status, out, _ = self.raw("PUT", f"{SUB}/web-1/migrate", {})
        self.assertEqual(status, 404)
        c = self.conn()
        c.request("PUT", f"{SUB}/web-1/stop", body=b"{not json",
                  headers={"Authorization": f"Bearer {TOKEN}"})
        r = c.getresponse()
        self.assertEqual(r.status, 400)
        r.read()
        c.close()
        # Unauthenticated: 401, as every API path.
        c = self.conn()
        c.request("PUT", f"{SUB}/web-1/stop", body=b"{}")
        r = c.getresponse()
        self.assertEqual(r.status, 401)
        r.read()
        c.close()

    def test_running_false_and_dry_run(self):
        self.launcher(mode="canned")
        self.create(vm("old-style", running=False))
        time.sleep(0.3)
        self.assertIsNone(self.get(f"{VMIS}/old-style"))
        status, _, _ = self.raw("PUT", f"{SUB}/old-style/start",
                                {"dryRun": ["All"]})
        self.assertEqual(status, 202)
        time.sleep(0.3)
        self.assertIs(self.get(f"{VMS}/old-style")["spec"]["running"], False)
        self.assertIsNone(self.get(f"{VMIS}/old-style"))
        status, _, _ = self.raw("PUT", f"{SUB}/old-style/start", {})
        self.assertEqual(status, 202)
        self.assertIs(self.get(f"{VMS}/old-style")["spec"]["running"], True)
        self.wait_phase("old-style", "Running")

    def test_manual_strategy(self):
        self.launcher(mode="canned")
        self.create(vm("man", strategy="Manual"))
        time.sleep(0.3)
        self.assertIsNone(self.get(f"{VMIS}/man"))
        self.assertEqual(self.raw("PUT", f"{SUB}/man/start", {})[0], 202)
        self.wait_phase("man", "Running")
        self.assertEqual(self.raw("PUT", f"{SUB}/man/stop", {})[0], 202)
        self.wait_for("the VMI to go", lambda: self.get(f"{VMIS}/man")
                      is None)
        time.sleep(0.3)
        self.assertIsNone(self.get(f"{VMIS}/man"))
        v = self.get(f"{VMS}/man")
        self.assertEqual(v["spec"]["runStrategy"], "Manual")
        self.assertNotIn("stateChangeRequests", v["status"])

    def test_guest_power_off_and_crash(self):
        self.launcher(mode="canned", rules=[
            {"vm_regex": "^once", "console": "bye\n", "exit": "Succeeded"},
            {"vm_regex": "^crash", "console": "panic\n", "exit": "Failed"}])
        self.create(vm("once-1", strategy="Once"))
        done = self.wait_phase("once-1", "Succeeded")
        pod = self.launcher_pods("once-1")[0]
        self.assertEqual(pod["status"]["phase"], "Succeeded")
        # The log of a finished container is still there.
        self.assertEqual(self.console(pod["metadata"]["name"]), "bye\n")
        time.sleep(0.5)
        self.assertEqual(self.get(f"{VMIS}/once-1")["metadata"]["uid"],
                         done["metadata"]["uid"])       # Once: no restart
        self.wait_for("VM Stopped", lambda: (self.get(f"{VMS}/once-1").get(
            "status") or {}).get("printableStatus") == "Stopped")
        # Always: a failed VMI is replaced by a new one.
        self.create(vm("crash-1"))
        failed = self.wait_phase("crash-1", "Failed")
        self.assertEqual(
            [c for c in failed["status"]["conditions"]
             if c["type"] == "Ready"][0]["status"], "False")

        def replaced():
            vmi = self.get(f"{VMIS}/crash-1")
            return vmi and vmi["metadata"]["uid"] != \
                failed["metadata"]["uid"]
        self.wait_for("a new VMI", replaced)

    def test_missing_claim_waits(self):
        self.launcher(mode="canned")
        self.create(vm("late", disks=("late",)))

        def pending():
            vmi = self.get(f"{VMIS}/late")
            conds = ((vmi or {}).get("status") or {}).get("conditions") or []
            return vmi if any(c.get("reason") == "FailedPvcNotFound"
                              for c in conds) else None
        vmi = self.wait_for("FailedPvcNotFound", pending)
        self.assertEqual(vmi["status"]["phase"], "Pending")
        self.assertEqual(self.launcher_pods("late"), [])
        self.wait_for("ErrorPvcNotFound", lambda: (self.get(
            f"{VMS}/late").get("status") or {}).get("printableStatus") ==
            "ErrorPvcNotFound")
        status, _, _ = self.call("POST", "/_fake/objects",
                                 pv_pair("late", "vol-data"), token=None)
        self.assertEqual(status, 200)
        self.wait_phase("late", "Running")

    def test_unmodelled_volume_fails_clearly(self):
        self.launcher(mode="canned")
        self.create(vm("cd", extra_volumes=[
            {"name": "cd", "containerDisk": {"image": "quay.io/x/y:1"}}]))
        vmi = self.wait_phase("cd", "Failed")
        msg = [c for c in vmi["status"]["conditions"]
               if c["type"] == "Ready"][0]["message"]
        self.assertIn("containerDisk volumes are not modelled", msg)

    def test_delete_vm_cascades(self):
        self.launcher(mode="canned")
        self.create(vm("gone"))
        self.wait_phase("gone", "Running")
        status, _, _ = self.call("DELETE", f"{VMS}/gone")
        self.assertEqual(status, 200)
        self.assertIsNone(self.get(f"{VMIS}/gone"))
        self.assertEqual(self.launcher_pods("gone"), [])
        self.wait_for("no runs", lambda: self.control(
            "GET", "/_fake/virt-launcher")["running"] == [])

    def test_delete_vm_orphan_keeps_the_guest(self):
        self.launcher(mode="canned")
        self.create(vm("orphan"))
        before = self.wait_phase("orphan", "Running")
        status, _, _ = self.call("DELETE", f"{VMS}/orphan",
                                 {"propagationPolicy": "Orphan"})
        self.assertEqual(status, 200)
        time.sleep(0.3)
        vmi = self.get(f"{VMIS}/orphan")
        self.assertEqual(vmi["metadata"]["uid"], before["metadata"]["uid"])
        self.assertNotIn("ownerReferences", vmi["metadata"])
        self.assertEqual(vmi["status"]["phase"], "Running")
        self.assertEqual(len(self.launcher_pods("orphan")), 1)

    def test_off_leaves_vms_alone(self):
        self.create(vm("idle"))
        time.sleep(0.3)
        self.assertIsNone(self.get(f"{VMIS}/idle"))
        self.assertNotIn("status", self.get(f"{VMS}/idle"))

    def test_bad_settings_refused(self):
        for body in ({"mode": "sometimes"}, {"delay": -1},
                     {"exit": "Exploded"}, {"console": 3},
                     {"vm_regex": "x"}, {"rules": [{"mode": "qemu"}]},
                     {"rules": [{"vm_regex": "(", "mode": "qemu"}]},
                     {"colour": "blue"}):
            status, _, _ = self.call("POST", "/_fake/virt-launcher", body,
                                     token=None)
            self.assertEqual(status, 400, body)

    # -- qemu mode, with the stub emulator --

    def stub_file(self, name, ext):
        return os.path.join(self.stub_dir, f"{NS}_{name}.{ext}")

    def test_qemu_mode_runs_the_spec_and_delete_kills(self):
        self.launcher(mode="qemu")
        for n in ("argv", "pid"):
            if os.path.exists(self.stub_file("q-1", n)):
                os.unlink(self.stub_file("q-1", n))
        self.create(vm("q-1", disks=("root", "data"), ifaces=[
            {"name": "nic0", "model": "virtio",
             "macAddress": "02:00:00:00:00:01", "masquerade": {}},
            {"name": "nic1", "model": "e1000e",
             "macAddress": "02:00:00:00:00:02", "masquerade": {}}]))
        self.wait_phase("q-1", "Running")
        self.wait_for("the stub's pid", lambda: os.path.exists(
            self.stub_file("q-1", "pid")))
        with open(self.stub_file("q-1", "pid")) as f:
            pid = int(f.read())
        with open(self.stub_file("q-1", "argv")) as f:
            argv = f.read().splitlines()
        joined = " ".join(argv)
        root = os.path.realpath(os.path.join(self.vols, "vol-root.img"))
        data = os.path.realpath(os.path.join(self.vols, "vol-data.img"))
        self.assertIn(f"file={root},format=raw,if=none,id=drive-ua-disk0",
                      argv)
        self.assertIn(f"file={data},format=raw,if=none,id=drive-ua-disk1",
                      argv)
        self.assertNotIn("snapshot=on", joined)
        self.assertRegex(joined, r"virtio-blk-pci,bus=pci\.\d+,"
                         r"drive=drive-ua-disk0,id=ua-disk0,bootindex=1")
        self.assertRegex(joined, r"drive=drive-ua-disk1,id=ua-disk1( |$)")
        self.assertRegex(joined, r"virtio-net-pci,netdev=hostua-nic0,"
                         r"id=ua-nic0,mac=02:00:00:00:00:01")
        self.assertRegex(joined, r"e1000e,netdev=hostua-nic1,id=ua-nic1,"
                         r"mac=02:00:00:00:00:02")
        self.assertIn("2,sockets=1,cores=2,threads=1", argv)
        self.assertIn("256M", argv)
        pod = self.launcher_pods("q-1")[0]["metadata"]["name"]
        self.wait_for("the stub's console", lambda: 'V2V-HEALTH {"stub"' in
                      self.console(pod))
        status, out, _ = self.raw("GET", f"{PODS}/{pod}/log?container=compute")
        self.assertIn(b"stub qemu starting", out)
        self.assertTrue(alive(pid))
        status, _, _ = self.call("DELETE", f"{VMS}/q-1")
        self.assertEqual(status, 200)
        self.wait_for("the emulator to die", lambda: not alive(pid))
        self.wait_for("no runs", lambda: self.control(
            "GET", "/_fake/virt-launcher")["running"] == [])

    def test_qemu_exit_0_is_succeeded(self):
        self.launcher(mode="qemu")
        self.create(vm("q-poweroff", strategy="Once"))
        self.wait_phase("q-poweroff", "Succeeded")
        pod = self.launcher_pods("q-poweroff")[0]
        self.assertEqual(pod["status"]["phase"], "Succeeded")
        t = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        self.assertEqual(t["exitCode"], 0)

    def test_pod_deleted_under_a_guest_fails_it(self):
        self.launcher(mode="qemu")
        if os.path.exists(self.stub_file("q-pod", "pid")):
            os.unlink(self.stub_file("q-pod", "pid"))
        self.create(vm("q-pod", strategy="Once"))
        self.wait_phase("q-pod", "Running")
        self.wait_for("the stub's pid", lambda: os.path.exists(
            self.stub_file("q-pod", "pid")))
        with open(self.stub_file("q-pod", "pid")) as f:
            pid = int(f.read())
        pod = self.launcher_pods("q-pod")[0]["metadata"]["name"]
        self.assertEqual(self.call("DELETE", f"{PODS}/{pod}")[0], 200)
        self.wait_phase("q-pod", "Failed")
        self.wait_for("the emulator to die", lambda: not alive(pid))

    def test_boot_cap_leaves_the_next_unschedulable(self):
        self.launcher(mode="qemu")
        self.create(vm("cap-1"))
        self.wait_phase("cap-1", "Running")
        self.create(vm("cap-2"))

        def unschedulable():
            pods = self.launcher_pods("cap-2")
            conds = ((pods or [{}])[0].get("status") or {}).get(
                "conditions") or []
            return any(c.get("reason") == "Unschedulable" for c in conds)
        self.wait_for("cap-2 unschedulable", unschedulable)
        self.assertEqual(self.get(f"{VMIS}/cap-2")["status"]["phase"],
                         "Scheduling")
        self.wait_for("ErrorUnschedulable", lambda: (self.get(
            f"{VMS}/cap-2").get("status") or {}).get("printableStatus") ==
            "ErrorUnschedulable")
        self.assertEqual(self.raw("PUT", f"{SUB}/cap-1/stop", {})[0], 202)
        self.wait_phase("cap-2", "Running")

    def test_fake_exit_kills_guests(self):
        tmp = tempfile.mkdtemp(prefix="virt-exit-", dir=self.tmp)
        fake = Fake(tmp, self.certs, "--token", TOKEN, "--seed", self.seed,
                    "--volume-dir", self.vols, "--virt-delay", "0.05",
                    "--virt-qemu", self.stub, "--virt-launcher", "qemu")
        try:
            old, self.fake = self.fake, fake
            if os.path.exists(self.stub_file("q-exit", "pid")):
                os.unlink(self.stub_file("q-exit", "pid"))
            self.create(vm("q-exit"))
            self.wait_for("the stub's pid", lambda: os.path.exists(
                self.stub_file("q-exit", "pid")))
            with open(self.stub_file("q-exit", "pid")) as f:
                pid = int(f.read())
            self.assertTrue(alive(pid))
        finally:
            self.fake = old
            fake.proc.send_signal(signal.SIGTERM)
            fake.proc.wait(10)
        self.wait_for("the emulator to die", lambda: not alive(pid))


class QemuArgvTest(unittest.TestCase):
    """The spec -> qemu translation, without running anything."""

    def vmi(self, domain, volumes=None, networks=None):
        return {"metadata": {"name": "t", "namespace": "ns",
                             "uid": "3b5c0000-0000-0000-0000-000000000001"},
                "spec": {"domain": domain, "volumes": volumes or [],
                         "networks": networks or []}}

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="qemu-argv-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def argv(self, domain, files=None, **kw):
        return virt_launcher.qemu_argv(self.vmi(domain, **kw), files or {},
                                       self.tmp)

    def test_secure_boot_efi_and_buses(self):
        a = self.argv({
            "firmware": {"bootloader": {"efi": {}}},
            "cpu": {"sockets": 2, "cores": 2, "threads": 2},
            "memory": {"guest": "1Gi"},
            "devices": {"disks": [
                {"name": "a", "disk": {"bus": "sata"}, "bootOrder": 2},
                {"name": "b", "disk": {"bus": "scsi"}, "bootOrder": 1},
                {"name": "c", "cdrom": {"bus": "sata"}}],
                "interfaces": [{"name": "n", "bridge": {}, "model": "e1000"}],
                "autoattachMemBalloon": False}},
            {"a": ("/x/a.img", False), "b": ("/x/b.img", False),
             "c": ("/x/c.iso", False)})
        j = " ".join(a)
        self.assertIn("q35,accel=tcg,smm=on", a)
        self.assertIn(f"if=pflash,format=raw,unit=0,readonly=on,file="
                      f"{virt_launcher.OVMF_CODE_SECBOOT}", a)
        self.assertIn("driver=cfi.pflash01,property=secure,value=on", a)
        self.assertIn("8,sockets=2,cores=2,threads=2", a)
        self.assertIn("1024M", a)
        self.assertIn("ide-hd,bus=ide.0,drive=drive-ua-a,id=ua-a,bootindex=2",
                      a)
        self.assertIn("scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,"
                      "drive=drive-ua-b,id=ua-b,bootindex=1", a)
        self.assertIn("ide-cd,bus=ide.1,drive=drive-ua-c,id=ua-c", a)
        self.assertIn("file=/x/c.iso,format=raw,if=none,id=drive-ua-c,"
                      "readonly=on", a)
        self.assertRegex(j, r"e1000,netdev=hostua-n,id=ua-n,"
                         r"mac=52:54:00:[0-9a-f:]{8},bus=pci\.\d+,romfile=")
        self.assertNotIn("virtio-balloon", j)
        self.assertEqual(a[-2:], ["-boot", "strict=on"])

    def test_efi_without_secure_boot_and_listed_order(self):
        a = self.argv({
            "firmware": {"bootloader": {"efi": {"secureBoot": False}}},
            "resources": {"requests": {"memory": "512M"}},
            "devices": {"disks": [{"name": "a"}, {"name": "b"}]}},
            {"a": ("/x/a.img", False), "b": ("/x/b.img", True)})
        self.assertIn("q35,accel=tcg,smm=on", a)   # q35's SMM default
        self.assertIn(f"if=pflash,format=raw,unit=0,readonly=on,file="
                      f"{virt_launcher.OVMF_CODE}", a)
        self.assertNotIn("driver=cfi.pflash01,property=secure,value=on", a)
        self.assertIn("488M", a)                     # 512 MB
        j = " ".join(a)
        self.assertRegex(j, r"drive=drive-ua-a,id=ua-a,bootindex=1")
        self.assertRegex(j, r"drive=drive-ua-b,id=ua-b,bootindex=2")
        self.assertIn("file=/x/b.img,format=raw,if=none,id=drive-ua-b,"
                      "readonly=on", a)
        # No interfaces and no networks: KubeVirt's default pod NIC.
        self.assertRegex(j, r"virtio-net-pci,netdev=hostua-default")
        self.assertIn("user,id=hostua-default,restrict=on,net=10.0.2.0/24,"
                      "host=10.0.2.1,dhcpstart=10.0.2.2", a)

    def test_bios_serial_and_what_is_not_modelled(self):
        a = self.argv({"firmware": {"bootloader": {"bios": {
            "useSerial": True}}}, "memory": {"guest": "64Mi"},
            "devices": {"interfaces": []}})
        self.assertIn("q35,accel=tcg,smm=on,graphics=off", a)
        self.assertNotIn("pflash", " ".join(a))
        for domain, files, msg in (
                ({"memory": {"guest": "1Gi"}, "machine": {"type": "pc"}},
                 {}, "only q35"),
                ({"memory": {"guest": "1Gi"},
                  "devices": {"disks": [{"name": "a"}]}}, {}, "no volume"),
                ({"memory": {"guest": "1Gi"}, "devices": {"disks": [
                    {"name": "a", "lun": {}}]}}, {"a": ("/a", False)},
                 "lun"),
                ({"memory": {"guest": "1Gi"}, "devices": {"interfaces": [
                    {"name": "n", "model": "vmxnet3"}]}}, {}, "vmxnet3"),
                ({"devices": {}}, {}, "no guest memory")):
            with self.assertRaises(virt_launcher.Unmodelled) as cm:
                self.argv(domain, files)
            self.assertIn(msg, str(cm.exception))

    def test_cloud_init_nocloud_disk(self):
        xorriso = shutil.which("xorriso")
        if not xorriso:
            self.skipTest("xorriso is not installed")
        import base64
        vol = {"name": "cloudinit", "cloudInitNoCloud": {
            "userDataBase64": base64.b64encode(
                b"#cloud-config\nhostname: web\n").decode(),
            "networkData": "version: 2\n"}}
        iso = os.path.join(self.tmp, "ci.iso")
        virt_launcher.cloud_init_iso(vol, "cloudInitNoCloud",
                                     self.vmi({}), iso)
        info = subprocess.run([xorriso, "-indev", iso, "-pvd_info"],
                              capture_output=True, text=True).stdout
        self.assertRegex(info, r"Volume Id\s*: cidata")
        out = os.path.join(self.tmp, "ci")
        subprocess.run([xorriso, "-osirrox", "on", "-indev", iso,
                        "-extract", "/", out], check=True,
                       capture_output=True)
        with open(os.path.join(out, "user-data")) as f:
            self.assertEqual(f.read(), "#cloud-config\nhostname: web\n")
        with open(os.path.join(out, "meta-data")) as f:
            self.assertEqual(json.load(f), {"instance-id": "t.ns",
                                            "local-hostname": "t"})
        with open(os.path.join(out, "network-config")) as f:
            self.assertEqual(f.read(), "version: 2\n")
        vol = {"name": "s", "cloudInitNoCloud": {"secretRef": {"name": "x"}}}
        with self.assertRaises(virt_launcher.Unmodelled):
            virt_launcher.cloud_init_iso(vol, "cloudInitNoCloud",
                                         self.vmi({}), iso)

    def test_quantities(self):
        q = virt_launcher.quantity
        self.assertEqual(q("8192Mi", "m"), 8 << 30)
        self.assertEqual(q("1G", "m"), 10**9)
        self.assertEqual(q("1.5Gi", "m"), 3 << 29)
        self.assertEqual(q("4096", "m"), 4096)
        with self.assertRaises(virt_launcher.Unmodelled):
            q("lots", "m")


if __name__ == "__main__":
    unittest.main(verbosity=2)
