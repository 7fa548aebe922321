#!/usr/bin/python3
"""The simulated virt-launcher boots a VM from its spec, for real (e2e).

One fake kube-apiserver in --virt-launcher qemu mode (TCG) and three VMs
whose boot volume is a tiny BIOS boot sector (below): it writes its message
to sector 1 of the disk it booted from (through the BIOS), prints it on
COM1 and powers the machine off through ACPI.

- "good": BIOS, a blank emptyDisk first, the boot volume on SATA with
  bootOrder 1, an e1000e NIC: the message comes through
  pods/log?container=guest-console-log, the VMI goes Running then
  Succeeded, the volume file holds the message (KubeVirt writes the PVC:
  no snapshot), and the qemu command line has the spec's NIC and MAC.
- "wrong-disk": the same, but bootOrder 1 on the blank disk: no guest.
- "wrong-firmware": EFI (no CSM) on the BIOS-only disk: no guest.

A guest that did not run leaves its volume's sector 1 untouched, which is
the proof; the firmware's own giving-up text only ends the wait early.

Needs qemu-system-x86_64 and Debian's OVMF.  Wrap it in
flock /work/heavy.lock (ctest label e2e).
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_kube_fake as base  # noqa: E402
from test_kube_fake import Fake, MAKE_CERTS, TOKEN  # noqa: E402
from test_virt_launcher import pv_pair, NS, VMS, VMIS, PODS  # noqa: E402
import virt_launcher  # noqa: E402

# The boot sector's code, assembled from (GNU as, .code16, -Ttext 0x7c00):
#   cli; xor ax,ax; mov ds/es/ss,ax; mov sp,0x7c00; sti; mov [drive],dl
#   mov ax,0x0301; mov cx,2; xor dh,dh; mov dl,[drive]; mov bx,msg
#   int 0x13                      ; write 1 sector (CHS 0/0/2) from msg
#   mov si,msg; mov dx,0x3f8
#   1: lodsb; test al,al; jz 2f; out dx,al; jmp 1b   ; print to COM1
#   2: mov dx,0x604; mov ax,0x2000; out dx,ax        ; ICH9 ACPI S5
#   3: hlt; jmp 3b
#   drive: .byte 0
#   msg:   (at 0x7c3b, NUL-terminated)
BOOT_CODE = bytes.fromhex(
    "fa31c08ed88ec08ed0bc007cfb88163a7cb80103b9020030f68a163a7cbb3b7ccd13"
    "be3b7cbaf803ac84c07403eeebf8ba0406b80020eff4ebfd00")
MESSAGE = b'V2V-HEALTH {"probe":"boot-sector","state":"running"}\r\n'
GIVE_UP = ("No bootable device", "Boot failed", "No bootable option",
           "failed to load Boot", "UEFI Interactive Shell", "Shell>")


def boot_sector():
    sector = BOOT_CODE + MESSAGE + b"\0"
    return sector.ljust(510, b"\0") + b"\x55\xaa"


def vm(name, firmware, boot_on_blank=False):
    blank = {"name": "blank", "disk": {"bus": "virtio"}}
    root = {"name": "root", "disk": {"bus": "sata"}}
    (blank if boot_on_blank else root)["bootOrder"] = 1
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"runStrategy": "Once", "template": {"spec": {
                "domain": {
                    "cpu": {"sockets": 1, "cores": 1, "threads": 1},
                    "memory": {"guest": "128Mi"},
                    "firmware": {"bootloader": firmware},
                    "devices": {
                        "disks": [blank, root],
                        "interfaces": [{"name": "nic0", "model": "e1000e",
                                        "macAddress": "02:00:00:00:00:42",
                                        "masquerade": {}}],
                        "logSerialConsole": True}},
                "networks": [{"name": "nic0", "pod": {}}],
                "volumes": [
                    {"name": "blank", "emptyDisk": {"capacity": "16Mi"}},
                    {"name": "root", "persistentVolumeClaim":
                     {"claimName": f"pvc-{name}"}}]}}}}


class VirtLauncherBootTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.environ.get("SHARED_DATA"):
            raise unittest.SkipTest("SHARED_DATA is not set")
        if not shutil.which(virt_launcher.QEMU):
            raise unittest.SkipTest("qemu-system-x86_64 is not installed")
        if not os.path.exists(virt_launcher.OVMF_CODE):
            raise unittest.SkipTest("Debian's OVMF is not installed")
        cls.tmp = tempfile.mkdtemp(prefix="virt-launcher-boot-")
        cls.certs = os.path.join(cls.tmp, "certs")
        subprocess.run([MAKE_CERTS, cls.certs], check=True,
                       stdout=subprocess.DEVNULL)
        cls.vols = os.path.join(cls.tmp, "volumes")
        os.makedirs(cls.vols)
        seed = [{"apiVersion": "v1", "kind": "Node",
                 "metadata": {"name": "node-a"}}]
        for name in ("good", "wrong-disk", "wrong-firmware"):
            with open(os.path.join(cls.vols, f"vol-{name}.img"), "wb") as f:
                f.write(boot_sector())
                f.truncate(1 << 20)
            seed += pv_pair(name, f"vol-{name}")
        cls.seed = os.path.join(cls.tmp, "seed.json")
        with open(cls.seed, "w") as f:
            json.dump(seed, f)
        cls.fake = Fake(cls.tmp, cls.certs, "--token", TOKEN,
                        "--seed", cls.seed, "--volume-dir", cls.vols,
                        "--virt-launcher", "qemu", "--virt-delay", "0.1",
                        "--virt-max-boots", "1")
        cls.ctx = ssl.create_default_context(
            cafile=os.path.join(cls.certs, "ca.crt"))

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self):
        self.assertEqual(self.control("GET", "/_fake/kubelet")["errors"], [])
        for obj in self.control("GET", "/_fake/objects"):
            status, reply, _ = self.call("POST", "/_fake/objects", obj,
                                         token=None)
            self.assertEqual(status, 200, reply)

    call = base.KubeFakeTest.call
    control = base.KubeFakeTest.control
    conn = base.KubeFakeTest.conn

    def get(self, path):
        status, obj, _ = self.call("GET", path)
        return obj if status == 200 else None

    def log(self, pod, container):
        c = self.conn()
        c.request("GET", f"{PODS}/{pod}/log?container={container}",
                  headers={"Authorization": f"Bearer {TOKEN}"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data.decode("utf-8", "replace")

    def sector1(self, name):
        with open(os.path.join(self.vols, f"vol-{name}.img"), "rb") as f:
            f.seek(512)
            return f.read(len(MESSAGE))

    def start(self, name, firmware, boot_on_blank=False):
        status, reply, _ = self.call("POST", VMS, vm(name, firmware,
                                                     boot_on_blank))
        self.assertEqual(status, 201, reply)
        end = time.monotonic() + 120
        while time.monotonic() < end:
            vmi = self.get(f"{VMIS}/{name}")
            phase = ((vmi or {}).get("status") or {}).get("phase")
            if phase in ("Running", "Succeeded", "Failed"):
                break
            time.sleep(0.1)
        self.assertIn(phase, ("Running", "Succeeded"), vmi)
        status, lst, _ = self.call(
            "GET", f"{PODS}?labelSelector=vm.kubevirt.io/name={name}")
        return vmi, lst["items"][0]["metadata"]["name"]

    def stop(self, name):
        status, _, _ = self.call("DELETE", f"{VMS}/{name}")
        self.assertEqual(status, 200)
        end = time.monotonic() + 30
        while self.control("GET", "/_fake/virt-launcher")["running"] and \
                time.monotonic() < end:
            time.sleep(0.1)
        self.assertEqual(self.control("GET", "/_fake/virt-launcher")
                         ["running"], [])

    def no_guest(self, name, firmware, boot_on_blank, window):
        """Boot NAME; its guest must never run.  The console's text once
        the firmware gives up (or WINDOW seconds) ends the wait."""
        vmi, pod = self.start(name, firmware, boot_on_blank)
        end = time.monotonic() + window
        console = ""
        while time.monotonic() < end:
            status, console = self.log(pod, "guest-console-log")
            self.assertEqual(status, 200, console)
            if any(m in console for m in GIVE_UP):
                break
            time.sleep(0.5)
        time.sleep(2)
        status, console = self.log(pod, "guest-console-log")
        self.assertNotIn("V2V-HEALTH", console)
        self.assertEqual(self.sector1(name), b"\0" * len(MESSAGE),
                         "the boot sector ran")
        # As on a cluster, the VMI runs on: the firmware waits.
        self.assertEqual(self.get(f"{VMIS}/{name}")["status"]["phase"],
                         "Running")
        self.stop(name)
        return console

    def test_boots_from_the_spec(self):
        t0 = time.monotonic()
        vmi, pod = self.start("good", {"bios": {"useSerial": True}})
        end = time.monotonic() + 120
        while time.monotonic() < end:
            vmi = self.get(f"{VMIS}/good")
            if vmi["status"]["phase"] in ("Succeeded", "Failed"):
                break
            time.sleep(0.2)
        self.assertEqual(vmi["status"]["phase"], "Succeeded",
                         self.log(pod, "compute")[1][-2000:])
        self.assertEqual([p["phase"] for p in
                          vmi["status"]["phaseTransitionTimestamps"]],
                         ["Pending", "Scheduling", "Scheduled", "Running",
                          "Succeeded"])
        status, console = self.log(pod, "guest-console-log")
        self.assertEqual(status, 200)
        self.assertIn(MESSAGE.decode().strip(), console)
        # The guest wrote its PVC (no snapshot, no overlay).
        self.assertEqual(self.sector1("good"), MESSAGE)
        status, compute = self.log(pod, "compute")
        argv = next(json.loads(line)["qemu"] for line in
                    compute.splitlines() if '"qemu": [' in line)
        joined = " ".join(argv)
        self.assertIn("e1000e,netdev=hostua-nic0,id=ua-nic0,"
                      "mac=02:00:00:00:00:42", joined)
        self.assertIn("ide-hd,bus=ide.0,drive=drive-ua-root,id=ua-root,"
                      "bootindex=1", joined)
        self.assertIn("sockets=1,cores=1,threads=1", joined)
        pod_obj = self.get(f"{PODS}/{pod}")
        self.assertEqual(pod_obj["status"]["phase"], "Succeeded")
        self.stop("good")
        print(f"good: {time.monotonic() - t0:.1f} s", file=sys.stderr)

        t0 = time.monotonic()
        console = self.no_guest("wrong-disk", {"bios": {"useSerial": True}},
                                True, 30)
        print(f"wrong-disk: {time.monotonic() - t0:.1f} s; console ends "
              f"{console[-200:]!r}", file=sys.stderr)

        t0 = time.monotonic()
        console = self.no_guest("wrong-firmware",
                                {"efi": {"secureBoot": False}}, False, 90)
        print(f"wrong-firmware: {time.monotonic() - t0:.1f} s; console "
              f"ends {console[-200:]!r}", file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
