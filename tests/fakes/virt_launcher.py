"""The simulated KubeVirt of the fake kube-apiserver (tests only).

kube-apiserver.py imports this module and hands it itself (the module), so
that every object written here goes through the same validation as an API
write.  With --virt-launcher MODE (or POST /_fake/virt-launcher) it plays:

- virt-controller: a VirtualMachine whose runStrategy (or deprecated
  `running`) wants it up gets a VirtualMachineInstance of the same name,
  owned by the VM; a VM halted gets its VMI deleted; a finished VMI is
  replaced or kept as the run strategy says; the VM's status follows.
- virt-api's start/stop/restart subresources
  (PUT /apis/subresources.kubevirt.io/v1/namespaces/NS/virtualmachines/NAME/ACTION),
  with the same checks and the same spec changes as KubeVirt's handlers.
- virt-handler and virt-launcher: each VMI gets a virt-launcher Pod
  (virt-launcher-NAME-xxxxx, with the guest-console-log container when the
  serial console is logged) and the VMI goes Pending, Scheduling,
  Scheduled, Running, then Succeeded or Failed.  In "qemu" mode the guest
  really runs: qemu (TCG) is started from the VMI's spec (firmware, disks
  and their buses and boot order, NIC models and MACs, CPU topology,
  memory) on the files behind the PVCs, and the serial port is the
  guest-console-log container's log.  In "canned" mode nothing boots: the
  console is a configured text.

It is a fake: KubeVirt's own documentation and sources were the reference
for what it does; docs/testing-fakes.md says what it leaves out.
"""

import copy
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid

LAUNCHER_MODES = ("off", "canned", "qemu")
RUN_STRATEGIES = ("Always", "RerunOnFailure", "Once", "Manual", "Halted")
FINAL = ("Succeeded", "Failed")
LAUNCHER_IMAGE = "quay.io/kubevirt/virt-launcher:v1.6.0"
QEMU = "qemu-system-x86_64"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
OVMF_CODE_SECBOOT = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
OVMF_VARS_SECBOOT = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
SUBRESOURCES = ("start", "stop", "restart")
# KubeVirt derives the firmware UUID from the VM's name (SHA-1, its own
# namespace UUID); any fixed namespace gives the same property here.
FIRMWARE_UUID_NS = uuid.UUID("6a1a24a1-4061-4607-8bf4-a3963d0c5895")
DEFAULT_CONSOLE = ("(simulated virt-launcher, canned mode: no console "
                   "text configured)\n")
# Guest NIC models KubeVirt accepts, as qemu devices (not igb: Debian 12's
# qemu 7.2 has no such device, so it is not modelled).
NIC_MODELS = {"virtio": "virtio-net-pci", "e1000": "e1000",
              "e1000e": "e1000e", "ne2k_pci": "ne2k_pci",
              "pcnet": "pcnet", "rtl8139": "rtl8139"}
MAX_SATA = 6                      # the q35 AHCI controller's ports


class Raw:
    """A reply that is not JSON (a Pod log, an empty 202)."""

    def __init__(self, data, content_type="text/plain"):
        self.data = data
        self.content_type = content_type


class Unmodelled(Exception):
    """Something in the VMI this fake cannot run (not a cluster error)."""


def quantity(text, what):
    """Bytes in a Kubernetes quantity ("8192Mi", "1G", "1073741824")."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([KMGTPE]i|[kMGTPE])?\s*",
                     str(text))
    if not m:
        raise Unmodelled(f"{what}: cannot read the quantity {text!r}")
    mult = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
            "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20,
            "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}[m.group(2)]
    return int(float(m.group(1)) * mult)


def run_strategy(vm):
    spec = vm.get("spec") or {}
    if spec.get("runStrategy"):
        return spec["runStrategy"]
    if "running" in spec:
        return "Always" if spec["running"] else "Halted"
    return "Halted"


def mac_for(uid, index):
    """A stable locally administered MAC, as libvirt would pick one."""
    h = uuid.uuid5(uuid.NAMESPACE_OID, f"{uid}/{index}").bytes
    return "52:54:00:%02x:%02x:%02x" % (h[0], h[1], h[2])


# --- the VMI spec, as qemu arguments ------------------------------------------

def qemu_argv(vmi, files, workdir, accel="tcg", qemu=QEMU):
    """The qemu command line for VMI, as virt-launcher's libvirt would
    build it.  FILES: volume name -> (path, read-only) for every disk-like
    volume.  Raises Unmodelled for what the fake cannot run."""
    meta = vmi["metadata"]
    spec = vmi.get("spec") or {}
    dom = spec.get("domain") or {}
    dev = dom.get("devices") or {}
    feats = dom.get("features") or {}
    bl = ((dom.get("firmware") or {}).get("bootloader") or {})
    efi = bl.get("efi")
    secure = efi is not None and efi.get("secureBoot", True) is not False
    smm = secure or (feats.get("smm") or {}).get("enabled", True) is True
    mtype = (dom.get("machine") or {}).get("type") or "q35"
    if not (mtype == "q35" or mtype.startswith("pc-q35")):
        raise Unmodelled(f"machine type {mtype!r}: only q35 is modelled")
    cpu = dom.get("cpu") or {}
    if cpu.get("dedicatedCpuPlacement"):
        raise Unmodelled("dedicatedCpuPlacement is not modelled")
    sockets = cpu.get("sockets") or 1
    cores = cpu.get("cores") or 1
    threads = cpu.get("threads") or 1
    mem = (dom.get("memory") or {}).get("guest") or \
        ((dom.get("resources") or {}).get("requests") or {}).get("memory")
    if not mem:
        raise Unmodelled("no guest memory: set spec.domain.memory.guest or "
                         "spec.domain.resources.requests.memory")
    mib = max(quantity(mem, "memory") // 2**20, 1)

    machine = f"q35,accel={accel},smm={'on' if smm else 'off'}"
    if bl.get("bios", {}).get("useSerial"):
        machine += ",graphics=off"      # SeaBIOS writes to the serial port
    argv = [qemu, "-name", f"guest={meta['namespace']}_{meta['name']}",
            "-nodefaults", "-no-user-config", "-display", "none",
            "-machine", machine,
            "-cpu", "host" if accel == "kvm" else "max",
            "-smp", f"{sockets * cores * threads},sockets={sockets},"
                    f"cores={cores},threads={threads}",
            "-m", f"{mib}M",
            "-uuid", (dom.get("firmware") or {}).get("uuid") or
            str(uuid.uuid5(FIRMWARE_UUID_NS, meta["name"]))]
    if efi is not None:
        code, vars_src = (OVMF_CODE_SECBOOT, OVMF_VARS_SECBOOT) if secure \
            else (OVMF_CODE, OVMF_VARS)
        vars_file = os.path.join(workdir, "OVMF_VARS.fd")
        shutil.copyfile(vars_src, vars_file)
        argv += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,"
                 f"file={code}",
                 "-drive", f"if=pflash,format=raw,unit=1,file={vars_file}"]
        if secure:
            argv += ["-global", "driver=cfi.pflash01,property=secure,"
                     "value=on"]
    if dev.get("autoattachSerialConsole", True) is not False:
        argv += ["-chardev", "stdio,id=charserial0,signal=off",
                 "-serial", "chardev:charserial0"]

    ports = [0]

    def root_port():
        # KubeVirt puts every PCIe device behind its own root port.
        ports[0] += 1
        n = ports[0]
        argv.extend(["-device", f"pcie-root-port,id=pci.{n},chassis={n},"
                     f"bus=pcie.0"])
        return f"pci.{n}"

    disks = dev.get("disks") or []
    any_order = any(d.get("bootOrder") for d in disks) or \
        any(i.get("bootOrder") for i in dev.get("interfaces") or [])
    sata = 0
    scsi = None
    usb = None
    for n, d in enumerate(disks):
        name = d["name"]
        if name not in files:
            raise Unmodelled(f"disk {name!r}: no volume of that name")
        path, ro = files[name]
        kind = next((k for k in ("disk", "cdrom", "lun") if k in d), "disk")
        if kind == "lun":
            raise Unmodelled(f"disk {name!r}: lun disks are not modelled")
        target = d.get(kind) or {}
        bus = target.get("bus") or ("sata" if kind == "cdrom" else "virtio")
        ro = ro or kind == "cdrom" or target.get("readonly") is True
        drive = f"drive-ua-{name}"
        argv += ["-drive", f"file={path},format=raw,if=none,id={drive}"
                 + (",readonly=on" if ro else "")]
        boot = ""
        if d.get("bootOrder"):
            boot = f",bootindex={d['bootOrder']}"
        elif not any_order:
            # No boot order anywhere: the disks in the order listed.
            boot = f",bootindex={n + 1}"
        serial = f",serial={d['serial']}" if d.get("serial") else ""
        if bus == "virtio" and kind == "disk":
            argv += ["-device", f"virtio-blk-pci,bus={root_port()},"
                     f"drive={drive},id=ua-{name}{serial}{boot}"]
        elif bus == "sata":
            if sata >= MAX_SATA:
                raise Unmodelled(f"disk {name!r}: more than {MAX_SATA} "
                                 "SATA disks")
            model = "ide-cd" if kind == "cdrom" else "ide-hd"
            argv += ["-device", f"{model},bus=ide.{sata},drive={drive},"
                     f"id=ua-{name}{serial}{boot}"]
            sata += 1
        elif bus == "scsi":
            if scsi is None:
                scsi = 0
                argv += ["-device", f"virtio-scsi-pci,id=scsi0,"
                         f"bus={root_port()}"]
            model = "scsi-cd" if kind == "cdrom" else "scsi-hd"
            argv += ["-device", f"{model},bus=scsi0.0,channel=0,"
                     f"scsi-id=0,lun={scsi},drive={drive},"
                     f"id=ua-{name}{serial}{boot}"]
            scsi += 1
        elif bus == "usb":
            if usb is None:
                usb = True
                argv += ["-device", f"qemu-xhci,id=usb,bus={root_port()}"]
            argv += ["-device", f"usb-storage,bus=usb.0,drive={drive},"
                     f"id=ua-{name}{serial}{boot}"]
        else:
            raise Unmodelled(f"disk {name!r}: bus {bus!r} for a {kind} is "
                             "not modelled")

    ifaces = dev.get("interfaces")
    if ifaces is None and dev.get("autoattachPodInterface", True) is not \
            False and not spec.get("networks"):
        ifaces = [{"name": "default", "masquerade": {}}]
    nets = {n.get("name"): n for n in spec.get("networks") or []}
    for j, i in enumerate(ifaces or []):
        model = i.get("model") or "virtio"
        if model not in NIC_MODELS:
            raise Unmodelled(f"interface {i['name']!r}: model {model!r}")
        net = nets.get(i["name"]) or {}
        user = f"user,id=hostua-{i['name']},restrict=on"
        if "masquerade" in i or ("pod" in net and not i.get("bridge")):
            # KubeVirt's masquerade network: the guest is 10.0.2.2 behind
            # a gateway at 10.0.2.1.
            user += ",net=10.0.2.0/24,host=10.0.2.1,dhcpstart=10.0.2.2"
        mac = i.get("macAddress") or mac_for(meta["uid"], j)
        boot = f",bootindex={i['bootOrder']}" if i.get("bootOrder") \
            else ",romfile="
        argv += ["-netdev", user,
                 "-device", f"{NIC_MODELS[model]},netdev=hostua-{i['name']},"
                 f"id=ua-{i['name']},mac={mac},bus={root_port()}{boot}"]
    if "rng" in dev:
        argv += ["-device", f"virtio-rng-pci,bus={root_port()}"]
    if dev.get("autoattachMemBalloon", True) is not False:
        argv += ["-device", f"virtio-balloon-pci,bus={root_port()}"]
    argv += ["-boot", "strict=on"]
    return argv


def cloud_init_iso(vol, kind, vmi, path):
    """The NoCloud (cidata) or ConfigDrive (config-2) disk, as KubeVirt
    builds it."""
    import base64
    src = vol[kind]
    meta = vmi["metadata"]

    def text(key):
        if src.get(key + "Base64"):
            return base64.b64decode(src[key + "Base64"])
        if src.get(key):
            return src[key].encode()
        if src.get("secretRef") or src.get(key + "SecretRef"):
            raise Unmodelled(f"volume {vol['name']!r}: Secrets are not "
                             "modelled")
        return None
    tree = path + ".d"
    shutil.rmtree(tree, ignore_errors=True)
    instance = f"{meta['name']}.{meta['namespace']}"
    hostname = (vmi.get("spec") or {}).get("hostname") or meta["name"]
    files = {}
    if kind == "cloudInitNoCloud":
        label = "cidata"
        files["meta-data"] = json.dumps({"instance-id": instance,
                                         "local-hostname": hostname}).encode()
        files["user-data"] = text("userData") or b""
        nd = text("networkData")
        if nd is not None:
            files["network-config"] = nd
    else:
        label = "config-2"
        files["openstack/latest/meta_data.json"] = json.dumps(
            {"uuid": instance, "hostname": hostname}).encode()
        files["openstack/latest/user_data"] = text("userData") or b""
        nd = text("networkData")
        if nd is not None:
            files["openstack/latest/network_data.json"] = nd
    for rel, data in files.items():
        p = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    xorriso = shutil.which("xorriso")
    if not xorriso:
        raise Unmodelled("building a cloud-init disk needs xorriso "
                         "(apt-get install xorriso)")
    r = subprocess.run([xorriso, "-as", "mkisofs", "-quiet", "-V", label,
                        "-J", "-r", "-o", path, tree],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    shutil.rmtree(tree, ignore_errors=True)
    if r.returncode != 0:
        raise Unmodelled(f"xorriso failed: {r.stderr.decode()[-300:]}")


# --- container logs -----------------------------------------------------------

class Log:
    """A container's output: lines with the time each arrived."""

    def __init__(self, path=None):
        self.lock = threading.Lock()
        self.lines = []               # (time, bytes with its newline)
        self.partial = b""
        self.partial_time = None
        self.file = open(path, "ab") if path else None

    def feed(self, data):
        now = time.time()
        with self.lock:
            if self.file:
                self.file.write(data)
                self.file.flush()
            data = self.partial + data
            *whole, self.partial = data.split(b"\n")
            for line in whole:
                self.lines.append((self.partial_time or now, line + b"\n"))
                self.partial_time = None
            if self.partial and self.partial_time is None:
                self.partial_time = now

    def text(self, tail=None, since=None, limit=None, timestamps=False):
        with self.lock:
            lines = list(self.lines)
            if self.partial:
                lines.append((self.partial_time, self.partial))
        if since is not None:
            lines = [x for x in lines if x[0] >= since]
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        out = []
        for t, line in lines:
            if timestamps:
                ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
                    ".%09dZ " % int((t % 1) * 1e9)
                out.append(ts.encode() + line)
            else:
                out.append(line)
        data = b"".join(out)
        return data[:limit] if limit is not None else data

    def close(self):
        with self.lock:
            if self.file:
                self.file.close()
                self.file = None


class VirtLauncher:
    """virt-controller, virt-api's lifecycle subresources, virt-handler and
    virt-launcher.  Its state is under the fake's state.lock."""

    def __init__(self, kubelet, kube):
        self.kubelet = kubelet
        self.k = kube                 # the kube-apiserver module
        self.state = kubelet.state
        self.args = kubelet.args
        self.runs = {}                # VMI uid -> VmiRun
        self.once_done = set()        # VM uids whose Once run has finished
        self.stopped = set()          # VM uids stopped by a request
        self.restart_at = {}          # VM uid -> (monotonic time, failures)
        self.boots = threading.BoundedSemaphore(
            max(getattr(self.args, "virt_max_boots", 1) or 1, 1))
        self.console_file = None
        if getattr(self.args, "virt_console", None):
            with open(self.args.virt_console, encoding="utf-8") as f:
                self.console_file = f.read()
        k = self.k
        self.sim = k.SimSettings(
            "virt-launcher", LAUNCHER_MODES, "vm_regex",
            {"delay": k.seconds_upto(600),
             "console": lambda v: None if v is None or isinstance(v, str)
             else "must be a string or null",
             "exit": k.one_of(None, "Succeeded", "Failed",
                              what='null, "Succeeded" or "Failed"')},
            {"mode": getattr(self.args, "virt_launcher", "off"),
             "delay": getattr(self.args, "virt_delay", 0.5),
             "console": self.console_file, "exit": None})

    # -- settings (the kube fake's SimSettings, shared with its kubelet) --

    def settings(self):
        return {**self.sim.as_dict(),
                "running": sorted(f"{r.ns}/{r.name}" for r in
                                  self.runs.values() if not r.finished),
                "boots_max": getattr(self.args, "virt_max_boots", 1)}

    def configure(self, data):
        """POST /_fake/virt-launcher.  Locked."""
        self.sim.configure(data)

    def settings_for(self, name):
        return self.sim.for_name(name)

    def reset(self):
        """Locked: every guest stops, the settings of the command line."""
        for run in self.runs.values():
            run.abort.set()
        self.runs = {}
        self.once_done = set()
        self.stopped = set()
        self.restart_at = {}
        self.sim.reset()

    def shutdown(self):
        """The fake is stopping: no guest outlives it."""
        with self.state.lock:
            runs = list(self.runs.values())
            for run in runs:
                run.abort.set()
        for run in runs:
            run.kill(0)

    # -- helpers --

    def res(self, kind):
        return {"VirtualMachine": self.k.BY_KIND[("kubevirt.io/v1",
                                                  "VirtualMachine")],
                "VirtualMachineInstance": self.k.BY_KIND[
                    ("kubevirt.io/v1", "VirtualMachineInstance")],
                "Pod": self.k.BY_KIND[("v1", "Pod")]}[kind]

    def objects(self, plural, group="kubevirt.io", version="v1"):
        return [(k, o) for k, o in self.state.objects.items()
                if k[:3] == (group, version, plural)]

    def lookup(self, plural, ns, name, group="kubevirt.io", version="v1"):
        return self.state.objects.get((group, version, plural, ns, name))

    def remove(self, kind, obj):
        """Delete OBJ as a controller would; the garbage collector takes
        its dependents (a VMI's Pod).  Locked."""
        res = self.res(kind)
        meta = obj["metadata"]
        key = (res.group, res.version, res.plural, meta.get("namespace"),
               meta["name"])
        if key in self.state.objects and \
                self.state.objects[key]["metadata"]["uid"] == meta["uid"]:
            del self.state.objects[key]
            self.state.rv += 1
            self.kubelet.deleted(res, obj, "Background")
            self.state.collect_dependents(obj, "Background")

    def event(self, obj, etype, reason, message, component):
        self.kubelet.event(obj, etype, reason, message, component)

    # -- hooks from the REST layer and the garbage collector (locked) --

    def deleted(self, res, obj, policy):
        """OBJ is gone (its dependents are the collector's business)."""
        uid = obj["metadata"]["uid"]
        if res.kind == "VirtualMachine":
            self.once_done.discard(uid)
            self.stopped.discard(uid)
            self.restart_at.pop(uid, None)
        elif res.kind == "VirtualMachineInstance":
            run = self.runs.get(uid)
            if run is not None:
                run.abort.set()
        elif res.kind == "Pod":
            for run in self.runs.values():
                if run.pod_uid == uid:
                    run.pod_deleted.set()

    # -- the controllers --

    def sync(self):
        with self.state.lock:
            if not self.sim.any_mode_but("off"):
                return
            for key, vm in self.objects("virtualmachines"):
                self.sync_vm(vm)
            for key, vmi in self.objects("virtualmachineinstances"):
                uid = vmi["metadata"]["uid"]
                phase = (vmi.get("status") or {}).get("phase")
                if uid in self.runs or phase in FINAL:
                    continue
                s = self.settings_for(key[4])
                if s["mode"] == "off":
                    continue
                run = VmiRun(self, key[3], key[4], uid, s)
                self.runs[uid] = run
                threading.Thread(target=run.main, daemon=True,
                                 name=f"vmi-{key[4]}").start()
            # A finished run keeps its logs while its VMI (and Pod) exist.
            live = {o["metadata"]["uid"] for _, o in
                    self.objects("virtualmachineinstances")}
            for uid in [u for u, r in self.runs.items() if r.finished and
                        u not in live]:
                del self.runs[uid]

    def sync_vm(self, vm):
        """virt-controller's VM loop for one VM.  Locked."""
        meta = vm["metadata"]
        ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
        if self.settings_for(name)["mode"] == "off":
            return
        strategy = run_strategy(vm)
        vmi = self.lookup("virtualmachineinstances", ns, name)
        if vmi is not None and not any(
                r.get("uid") == uid for r in
                vmi["metadata"].get("ownerReferences") or []):
            vmi = None                # not ours: leave it alone
        phase = ((vmi or {}).get("status") or {}).get("phase")
        requests = (vm.get("status") or {}).get("stateChangeRequests") or []
        if requests:
            # Start and stop requests from the subresources, one a pass.
            req = requests[0]
            if req.get("action") == "Stop":
                self.stopped.add(uid)
                if vmi is not None and req.get("uid") in \
                        (None, vmi["metadata"]["uid"]):
                    self.remove("VirtualMachineInstance", vmi)
                    vmi = None
            elif req.get("action") == "Start":
                self.stopped.discard(uid)
                if vmi is not None and phase in FINAL:
                    self.remove("VirtualMachineInstance", vmi)
                    vmi = None
                if vmi is None:
                    vmi = self.create_vmi(vm)
            self.write_vm_status(vm, vmi, strategy, requests=requests[1:])
            return
        if strategy == "Halted":
            self.stopped.discard(uid)
            if vmi is not None:
                self.remove("VirtualMachineInstance", vmi)
                vmi = None
        elif strategy in ("Always", "RerunOnFailure", "Once") and \
                uid not in self.stopped:
            if vmi is not None and phase in FINAL:
                restart = strategy == "Always" or \
                    (strategy == "RerunOnFailure" and phase == "Failed")
                if strategy == "Once":
                    self.once_done.add(uid)
                if restart:
                    self.remove("VirtualMachineInstance", vmi)
                    vmi = None
                    _, fails = self.restart_at.get(uid, (0, 0))
                    fails = fails + 1 if phase == "Failed" else 0
                    wait = min(max(self.settings_for(name)["delay"], 0.5)
                               * fails, 10)
                    self.restart_at[uid] = (time.monotonic() + wait, fails)
            if vmi is None and uid not in self.stopped and \
                    not (strategy == "Once" and uid in self.once_done):
                at, _ = self.restart_at.get(uid, (0, 0))
                if time.monotonic() >= at:
                    vmi = self.create_vmi(vm)
        self.write_vm_status(vm, vmi, strategy)

    def create_vmi(self, vm):
        """A VMI from the VM's template, as virt-controller makes it."""
        meta = vm["metadata"]
        tmpl = (vm.get("spec") or {}).get("template") or {}
        tmeta = tmpl.get("metadata") or {}
        spec = copy.deepcopy(tmpl.get("spec") or {})
        dom = spec.setdefault("domain", {})
        # The defaults virt-api's mutating webhook fills in.
        dom.setdefault("machine", {}).setdefault("type", "q35")
        fw = dom.setdefault("firmware", {})
        fw.setdefault("uuid", str(uuid.uuid5(FIRMWARE_UUID_NS,
                                             meta["name"])))
        efi = (fw.get("bootloader") or {}).get("efi")
        if efi is not None:
            efi.setdefault("secureBoot", True)
        cpu = dom.setdefault("cpu", {})
        for f in ("sockets", "cores", "threads"):
            cpu.setdefault(f, 1)
        guest = (dom.get("memory") or {}).get("guest")
        if guest:
            dom.setdefault("resources", {}).setdefault(
                "requests", {}).setdefault("memory", guest)
        ann = dict(tmeta.get("annotations") or {})
        ann.update({"kubevirt.io/latest-observed-api-version": "v1",
                    "kubevirt.io/storage-observed-api-version": "v1",
                    "kubevirt.io/vm-generation":
                        str(meta.get("generation", 1))})
        labels = dict(tmeta.get("labels") or {})
        ts = self.k.now_rfc3339()
        vmi = {"apiVersion": "kubevirt.io/v1",
               "kind": "VirtualMachineInstance",
               "metadata": {
                   "name": meta["name"], "namespace": meta["namespace"],
                   "uid": str(uuid.uuid4()), "creationTimestamp": ts,
                   "generation": 1, "annotations": ann,
                   "ownerReferences": [{
                       "apiVersion": "kubevirt.io/v1",
                       "kind": "VirtualMachine", "name": meta["name"],
                       "uid": meta["uid"], "controller": True,
                       "blockOwnerDeletion": True}]},
               "spec": spec,
               "status": {"phase": "Pending", "phaseTransitionTimestamps": [
                   {"phase": "Pending", "phaseTransitionTimestamp": ts}]}}
        if labels:
            vmi["metadata"]["labels"] = labels
        try:
            self.kubelet.store(self.res("VirtualMachineInstance"), vmi)
        except self.k.ApiError as e:
            self.event(vm, "Warning", "FailedCreate",
                       f"Error creating VirtualMachineInstance: {e.message}",
                       "virtualmachine-controller")
            return None
        self.event(vm, "Normal", "SuccessfulCreate",
                   f"Started the virtual machine by creating the new virtual "
                   f"machine instance {meta['name']}",
                   "virtualmachine-controller")
        return vmi

    def write_vm_status(self, vm, vmi, strategy, requests=None):
        """The VM's status as virt-controller keeps it.  Locked."""
        old = vm.get("status") or {}
        vst = (vmi or {}).get("status") or {}
        phase = vst.get("phase")
        conds = {c["type"]: c for c in vst.get("conditions") or []}
        ready = phase == "Running" and \
            conds.get("Ready", {}).get("status") == "True"
        uid = vm["metadata"]["uid"]
        if vmi is None:
            want = uid not in self.stopped and (
                strategy in ("Always", "RerunOnFailure") or
                (strategy == "Once" and uid not in self.once_done))
            printable = "Starting" if want else "Stopped"
            if self.restart_at.get(uid, (0, 0))[1] > 1:
                printable = "CrashLoopBackOff"
        elif phase == "Running":
            printable = "Running"
        elif phase in FINAL:
            printable = "Stopped"
        elif conds.get("PodScheduled", {}).get("reason") == "Unschedulable":
            printable = "ErrorUnschedulable"
        elif conds.get("Synchronized", {}).get("reason") == \
                "FailedPvcNotFound":
            printable = "ErrorPvcNotFound"
        else:
            printable = "Starting"
        st = {"printableStatus": printable, "runStrategy": strategy,
              "desiredGeneration": vm["metadata"].get("generation", 1),
              "observedGeneration": vm["metadata"].get("generation", 1)}
        if vmi is not None:
            st["created"] = True
        if ready:
            st["ready"] = True
        ts = self.k.now_rfc3339()
        if vmi is None:
            rc = {"type": "Ready", "status": "False",
                  "reason": "VMINotExists", "message": "VMI does not exist",
                  "lastTransitionTime": ts}
        else:
            rc = dict(conds.get("Ready") or {
                "type": "Ready", "status": "False",
                "reason": "GuestNotRunning",
                "message": "Guest VM is not reported as running",
                "lastTransitionTime": ts})
        oldrc = next((c for c in old.get("conditions") or []
                      if c.get("type") == "Ready"), None)
        if oldrc and all(oldrc.get(f) == rc.get(f)
                         for f in ("status", "reason", "message")):
            rc = oldrc
        st["conditions"] = [rc]
        if requests:
            st["stateChangeRequests"] = requests
        if st == old:
            return
        new = copy.deepcopy(vm)
        new["status"] = st
        try:
            self.kubelet.store(self.res("VirtualMachine"), new)
        except self.k.ApiError:
            pass

    # -- virt-api: the lifecycle subresources --

    def subresource(self, method, path, body):
        """PUT /apis/subresources.kubevirt.io/VERSION/namespaces/NS/
        virtualmachines/NAME/{start,stop,restart}: (code, reply, headers)."""
        ApiError = self.k.ApiError
        parts = [p for p in path.split("/") if p]
        if len(parts) != 8 or parts[3] != "namespaces" or \
                parts[2] not in ("v1", "v1alpha3") or \
                parts[5] != "virtualmachines" or parts[7] not in SUBRESOURCES:
            raise ApiError(404, "the server could not find the requested "
                           "resource")
        ns, name, action = parts[4], parts[6], parts[7]
        if method != "PUT":
            raise ApiError(405, f"the server does not allow this method on "
                           f"the requested resource ({method} "
                           f"virtualmachines/{action})")
        opts = {}
        if body.strip():
            try:
                opts = json.loads(body)
            except ValueError as e:
                raise ApiError(400, f"Can not unmarshal Request body to "
                               f"struct, error: {e}")
            if not isinstance(opts, dict):
                raise ApiError(400, "Can not unmarshal Request body to "
                               "struct, error: not a JSON object")
        dry = opts.get("dryRun") == ["All"]

        def conflict(msg):
            return ApiError(409, f'Operation cannot be fulfilled on '
                            f'virtualmachine.kubevirt.io "{name}": {msg}',
                            reason="Conflict",
                            details={"name": name, "group": "kubevirt.io",
                                     "kind": "virtualmachine"})
        with self.state.lock:
            vm = self.lookup("virtualmachines", ns, name)
            if vm is None:
                raise ApiError(404, f'virtualmachine.kubevirt.io "{name}" '
                               'not found',
                               details={"name": name, "group": "kubevirt.io",
                                        "kind": "virtualmachine"})
            strategy = run_strategy(vm)
            if strategy not in RUN_STRATEGIES:
                raise ApiError(500, f"Internal error occurred: "
                               f"unknown runStrategy {strategy!r}")
            vmi = self.lookup("virtualmachineinstances", ns, name)
            phase = ((vmi or {}).get("status") or {}).get("phase")
            final = vmi is None or phase in FINAL
            new = copy.deepcopy(vm)
            spec = new.setdefault("spec", {})
            status = new.setdefault("status", {})
            if action == "start":
                if vmi is not None and phase not in FINAL and phase:
                    raise conflict("VM is already running")
                if strategy in ("Always", "Once"):
                    raise conflict(f"{strategy} does not support manual "
                                   "start requests")
                if strategy == "Halted":
                    self.set_running(spec, True)
                elif strategy == "RerunOnFailure" and phase == "Failed":
                    raise conflict("RerunOnFailure does not support starting "
                                   "VM from failed state")
                else:
                    reqs = []
                    if vmi is not None and phase in FINAL:
                        reqs.append({"action": "Stop",
                                     "uid": vmi["metadata"]["uid"]})
                    status["stateChangeRequests"] = reqs + [
                        {"action": "Start"}]
            elif action == "stop":
                if strategy in ("Halted", "RerunOnFailure", "Manual"):
                    if final:
                        raise conflict("VM is not running")
                    if strategy == "Halted":
                        raise conflict("Halted only supports manual stop "
                                       "requests with a shorter graceperiod")
                    status["stateChangeRequests"] = [
                        {"action": "Stop", "uid": vmi["metadata"]["uid"]}]
                else:
                    self.set_running(spec, False)
            else:                     # restart
                if strategy == "Halted":
                    raise conflict("Halted does not support manual restart "
                                   "requests")
                if vmi is None:
                    raise conflict("VM is not running")
            if dry:
                return 202, Raw(b""), []
            if action == "restart":
                self.remove("VirtualMachineInstance", vmi)
                if strategy in ("Manual", "Once"):
                    status["stateChangeRequests"] = [{"action": "Start"}]
                    if strategy == "Once":
                        spec["runStrategy"] = "Manual"
            if not status:
                new.pop("status")
            if spec != vm.get("spec"):
                new["metadata"]["generation"] = \
                    new["metadata"].get("generation", 1) + 1
            if new != vm:
                self.kubelet.store(self.res("VirtualMachine"), new)
        return 202, Raw(b""), []

    @staticmethod
    def set_running(spec, running):
        if spec.get("runStrategy"):
            spec["runStrategy"] = "Always" if running else "Halted"
        else:
            spec["running"] = running

    # -- pods/log --

    def pod_log(self, ns, name, query):
        """GET /api/v1/namespaces/NS/pods/NAME/log: (code, Raw, headers)."""
        ApiError = self.k.ApiError
        with self.state.lock:
            pod = self.lookup("pods", ns, name, "", "v1")
            if pod is None:
                raise ApiError(404, f'pods "{name}" not found',
                               details={"name": name, "kind": "pods"})
            pod = copy.deepcopy(pod)
            run = next((r for r in self.runs.values()
                        if r.pod_uid == pod["metadata"]["uid"]), None)
        names = [c["name"] for c in pod["spec"].get("containers") or []]
        cname = query.get("container")
        if not cname:
            if len(names) != 1:
                raise ApiError(400, f"a container name must be specified for "
                               f"pod {name}, choose one of: "
                               f"[{' '.join(names)}]")
            cname = names[0]
        if cname not in names:
            raise ApiError(400, f"container {cname} is not valid for pod "
                           f"{name}")
        for k in ("follow", "previous", "insecureSkipTLSVerifyBackend"):
            if query.get(k) not in (None, "", "false", "0"):
                if k == "previous":
                    raise ApiError(400, f'previous terminated container '
                                   f'"{cname}" in pod "{name}" not found')
                raise ApiError(400, f"{k} is not supported by the fake")

        def number(key, minimum):
            v = query.get(key)
            if v is None:
                return None
            if not re.fullmatch(r"-?[0-9]+", str(v)) or int(v) < minimum:
                raise ApiError(422, f'PodLogOptions "{name}" is invalid: '
                               f'{key}: Invalid value: {v}: must be greater '
                               f'than {"or equal to " if minimum == 0 else ""}'
                               f'{max(minimum - 1, 0) if minimum else 0}')
            return int(v)
        tail = number("tailLines", 0)
        since = number("sinceSeconds", 1)
        limit = number("limitBytes", 1)
        since_time = query.get("sinceTime")
        if since is not None and since_time:
            raise ApiError(422, f'PodLogOptions "{name}" is invalid: '
                           'sinceSeconds and sinceTime cannot both be set')
        cutoff = time.time() - since if since is not None else None
        if since_time:
            import datetime
            try:
                cutoff = datetime.datetime.fromisoformat(
                    since_time.replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise ApiError(400, f"sinceTime: invalid RFC 3339 time "
                               f"{since_time!r}")
        timestamps = query.get("timestamps") in ("true", "1")
        state = next((cs.get("state") or {} for cs in
                      (pod.get("status") or {}).get("containerStatuses") or []
                      if cs.get("name") == cname), {})
        if "waiting" in state or not state:
            reason = state.get("waiting", {}).get("reason", "ContainerCreating")
            raise ApiError(400, f'container "{cname}" in pod "{name}" is '
                           f'waiting to start: {reason}')
        if run is not None:
            log = run.logs.get(cname)
            data = log.text(tail, cutoff, limit, timestamps) if log else b""
        else:
            data = self.kubelet_log(pod, cname, tail, limit)
        return 200, Raw(data), []

    def kubelet_log(self, pod, cname, tail, limit):
        """A Job Pod's output (exec mode writes it to a file)."""
        name = pod["metadata"]["name"]
        c0 = ((pod["spec"].get("containers") or [{}])[0]).get("name")
        if cname != c0:
            return b""
        logdir = self.args.kubelet_log_dir or \
            os.path.join(self.kubelet.workdir, name)
        try:
            with open(os.path.join(logdir, f"{name}.log"), "rb") as f:
                data = f.read()
        except OSError:
            return b""
        if tail is not None:
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-tail:] if tail else [])
        return data[:limit] if limit is not None else data


# --- one VMI, from its Pod to its end ------------------------------------------

class VmiRun:
    def __init__(self, vl, ns, name, uid, settings):
        self.vl = vl
        self.k = vl.k
        self.state = vl.state
        self.ns = ns
        self.name = name
        self.uid = uid
        self.s = settings
        self.mode = settings["mode"]
        self.abort = threading.Event()       # VMI deleted, reset, shutdown
        self.pod_deleted = threading.Event()
        self.pod_uid = None
        self.pod_name = None
        self.proc = None
        self.slot = False
        self.finished = False
        self.workdir = os.path.join(vl.kubelet.workdir, f"vmi-{uid}")
        os.makedirs(self.workdir, exist_ok=True)
        self.logs = {"compute": Log(os.path.join(self.workdir,
                                                 "compute.log")),
                     "guest-console-log": Log(os.path.join(
                         self.workdir, "virt-serial0-log"))}
        self.vst = None
        self.pod_ip = f"10.244.{os.urandom(1)[0] % 250 + 1}." \
                      f"{os.urandom(1)[0] % 250 + 2}"

    def launcher_log(self, level, msg, **kw):
        rec = {"component": "virt-launcher", "level": level, "msg": msg,
               "pos": "virt_launcher.py", "timestamp":
               time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
               **kw}
        self.logs["compute"].feed(json.dumps(rec).encode() + b"\n")

    # -- object access --

    def vmi(self):
        obj = self.vl.lookup("virtualmachineinstances", self.ns, self.name)
        if obj is None or obj["metadata"]["uid"] != self.uid:
            raise self.k.Gone(f"vmi {self.ns}/{self.name}")
        return obj

    def write_vmi(self, phase=None, labels=None, **changes):
        with self.state.lock:
            if self.abort.is_set():
                raise self.k.Gone("vmi")
            vmi = copy.deepcopy(self.vmi())
            st = vmi.get("status") or {}
            if phase and phase != st.get("phase"):
                st["phase"] = phase
                st.setdefault("phaseTransitionTimestamps", []).append(
                    {"phase": phase,
                     "phaseTransitionTimestamp": self.k.now_rfc3339()})
            for k, v in changes.items():
                if v is None:
                    st.pop(k, None)
                else:
                    st[k] = v
            vmi["status"] = st
            if labels:
                vmi["metadata"].setdefault("labels", {}).update(labels)
            self.vl.kubelet.store(self.vl.res("VirtualMachineInstance"), vmi)
            self.vst = copy.deepcopy(st)
            return vmi

    def conditions(self, ready, reason=None, message=None, extra=()):
        ts = self.k.now_rfc3339()
        c = {"type": "Ready", "status": "True" if ready else "False",
             "lastTransitionTime": ts}
        if not ready:
            c["reason"] = reason or "GuestNotRunning"
            c["message"] = message or "Guest VM is not reported as running"
        return [c, *extra]

    def pod_write(self, status, spec_changes=None):
        with self.state.lock:
            if self.abort.is_set():
                raise self.k.Gone("reset")
            pod = self.vl.lookup("pods", self.ns, self.pod_name, "", "v1")
            if pod is None or pod["metadata"]["uid"] != self.pod_uid:
                raise self.k.Gone("pod")
            pod = copy.deepcopy(pod)
            if spec_changes:
                pod["spec"].update(spec_changes)
            pod["status"] = status
            self.vl.kubelet.store(self.vl.res("Pod"), pod)
            return pod

    def wait(self, seconds):
        end = time.monotonic() + seconds
        while True:
            if self.abort.is_set():
                raise self.k.Gone("vmi")
            if self.pod_deleted.is_set():
                raise PodGone()
            left = end - time.monotonic()
            if left <= 0:
                return
            self.abort.wait(min(left, 0.05))

    # -- the run --

    def main(self):
        try:
            self.run()
        except self.k.Gone:
            pass
        except PodGone:
            self.fail("the virt-launcher pod was deleted",
                      "PodTerminating")
        except Exception as e:        # never die silently
            with self.state.lock:
                self.vl.kubelet.errors.append(
                    f"vmi {self.ns}/{self.name}: {e!r}")
        finally:
            self.kill(3)
            if self.slot:
                self.vl.boots.release()
                self.slot = False
            for log in self.logs.values():
                log.close()
            self.finished = True

    def fail(self, message, reason):
        try:
            self.write_vmi(phase="Failed", reason=reason,
                           conditions=self.conditions(False, reason,
                                                      message))
            with self.state.lock:
                self.vl.event(self.vmi(), "Warning", "Stopped", message,
                              "virt-handler")
        except self.k.Gone:
            pass

    def run(self):
        delay = self.s["delay"]
        self.wait(delay / 2)
        # virt-controller: the volumes must exist before a Pod is made.
        while True:
            with self.state.lock:
                vmi = copy.deepcopy(self.vmi())
                missing = self.missing_claim(vmi)
            if missing is None:
                break
            if (self.vst or {}).get("conditions", [{}])[0].get("reason") != \
                    "FailedPvcNotFound":
                self.write_vmi(phase="Pending", conditions=[{
                    "type": "Synchronized", "status": "False",
                    "reason": "FailedPvcNotFound",
                    "message": f"PVC {self.ns}/{missing} does not exist, "
                               "waiting for it to appear",
                    "lastTransitionTime": self.k.now_rfc3339()}])
            self.wait(0.5)
        pod = self.create_pod(vmi)
        self.write_vmi(phase="Scheduling", conditions=self.conditions(False))
        # The scheduler: one node slot per boot (--virt-max-boots).
        warned = False
        while self.mode == "qemu" and not self.slot:
            self.slot = self.vl.boots.acquire(blocking=False)
            if self.slot:
                break
            if not warned:
                warned = True
                msg = ("0/1 nodes are available: 1 Insufficient "
                       "devices.kubevirt.io/kvm (the fake's "
                       "--virt-max-boots).")
                self.pod_write(self.pod_status(pod, "Pending", None,
                                               unschedulable=msg))
                self.write_vmi(conditions=[*self.conditions(False), {
                    "type": "PodScheduled", "status": "False",
                    "reason": "Unschedulable", "message": msg,
                    "lastTransitionTime": self.k.now_rfc3339()}])
                with self.state.lock:
                    self.vl.event(pod, "Warning", "FailedScheduling", msg,
                                  "default-scheduler")
            self.wait(0.25)
        with self.state.lock:
            node = self.vl.kubelet.node_for({})
        self.pod_write(self.pod_status(pod, "Pending", {}),
                       {"nodeName": node})
        self.wait(delay / 2)
        # The kubelet maps the volumes; virt-launcher prepares the domain.
        warned = set()
        while True:
            try:
                files = self.prepare(vmi)
                break
            except self.k.Blocked as b:
                if b.message not in warned:
                    warned.add(b.message)
                    with self.state.lock:
                        self.vl.event(pod, "Warning", b.event_reason,
                                      b.message, "kubelet")
                self.wait(0.5)
            except Unmodelled as e:
                self.launcher_log("error", f"the simulated virt-launcher "
                                  f"cannot run this VMI: {e}")
                self.end_pod(pod, 1, "Error")
                self.fail(f"not modelled by the simulated virt-launcher: "
                          f"{e}", "Unmodelled")
                return
        started = self.k.now_rfc3339()
        self.started = started
        pod = self.pod_write(self.pod_status(pod, "Running", {
            c["name"]: {"running": {"startedAt": started}}
            for c in pod["spec"]["containers"]}))
        self.write_vmi(phase="Scheduled", labels={"kubevirt.io/nodeName":
                                                  node},
                       nodeName=node, activePods={self.pod_uid: node},
                       conditions=self.conditions(False))
        self.wait(delay / 2)
        if self.mode == "qemu":
            code = self.boot(vmi, files)
        else:
            code = self.pretend(vmi)
        if code is None:
            return
        self.end_pod(pod, code, "Completed" if code == 0 else "Error")
        if code == 0:
            self.write_vmi(phase="Succeeded", conditions=self.conditions(
                False, "PodCompleted", "the guest shut down"))
            with self.state.lock:
                self.vl.event(self.vmi(), "Normal", "Stopped",
                              "The VirtualMachineInstance was shut down.",
                              "virt-handler")
        else:
            self.fail(f"the virt-launcher pod failed: qemu exited "
                      f"with status {code}", "PodFailed")

    # -- pieces --

    def missing_claim(self, vmi):
        """The first PVC the VMI needs that does not exist.  Locked."""
        for v in (vmi.get("spec") or {}).get("volumes") or []:
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName") \
                or (v.get("dataVolume") or {}).get("name")
            if claim and self.vl.lookup("persistentvolumeclaims", self.ns,
                                        claim, "", "v1") is None:
                return claim
        return None

    def console_logged(self, vmi):
        dev = ((vmi.get("spec") or {}).get("domain") or {}).get(
            "devices") or {}
        if dev.get("autoattachSerialConsole") is False:
            return False
        if dev.get("logSerialConsole") is not None:
            return dev["logSerialConsole"] is True
        return getattr(self.vl.args, "virt_console_log_default",
                       "off") == "on"

    def create_pod(self, vmi):
        spec = vmi.get("spec") or {}
        dom = spec.get("domain") or {}
        mem = (dom.get("memory") or {}).get("guest") or \
            ((dom.get("resources") or {}).get("requests") or {}).get(
                "memory") or "0"
        devices, volumes = [], []
        for v in spec.get("volumes") or []:
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName") \
                or (v.get("dataVolume") or {}).get("name")
            if claim:
                volumes.append({"name": v["name"], "persistentVolumeClaim":
                                {"claimName": claim}})
                devices.append({"name": v["name"],
                                "devicePath": f"/dev/{v['name']}"})
        for d in ("private", "public", "sockets", "virt-bin-share-dir",
                  "libvirt-runtime", "ephemeral-disks", "container-disks",
                  "hotplug-disks"):
            volumes.append({"name": d, "emptyDir": {}})
        compute = {
            "name": "compute", "image": LAUNCHER_IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "command": ["/usr/bin/virt-launcher-monitor", "--qemu-timeout",
                        "300s", "--name", self.name, "--uid", self.uid,
                        "--namespace", self.ns, "--kubevirt-share-dir",
                        "/var/run/kubevirt", "--ephemeral-disk-dir",
                        "/var/run/kubevirt-ephemeral-disks",
                        "--container-disk-dir",
                        "/var/run/kubevirt/container-disks",
                        "--grace-period-seconds", "45", "--hook-sidecars",
                        "0", "--ovmf-path", "/usr/share/OVMF"],
            "resources": {"requests": {"memory": mem, "cpu": "100m"},
                          "limits": {"devices.kubevirt.io/kvm": "1",
                                     "devices.kubevirt.io/tun": "1"}},
            "volumeMounts": [{"name": "private",
                              "mountPath": "/var/run/kubevirt-private"}],
            "terminationMessagePolicy": "File"}
        if devices:
            compute["volumeDevices"] = devices
        containers = [compute]
        if self.console_logged(vmi):
            containers.append({
                "name": "guest-console-log", "image": LAUNCHER_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "command": ["/usr/bin/virt-tail"],
                "args": ["--logfile", f"/var/run/kubevirt-private/{self.uid}"
                         "/virt-serial0-log"],
                "resources": {"requests": {"memory": "35M", "cpu": "5m"},
                              "limits": {"memory": "60M", "cpu": "15m"}},
                "volumeMounts": [{"name": "private", "readOnly": True,
                                  "mountPath": "/var/run/kubevirt-private"}]})
        labels = dict(vmi["metadata"].get("labels") or {})
        labels.update({"kubevirt.io": "virt-launcher",
                       "kubevirt.io/created-by": self.uid,
                       "vm.kubevirt.io/name": self.name})
        prefix = f"virt-launcher-{self.name}-"
        with self.state.lock:
            if self.abort.is_set():
                raise self.k.Gone("reset")
            while True:
                name = prefix + self.k.rand_suffix()
                if self.vl.lookup("pods", self.ns, name, "", "v1") is None:
                    break
            meta = {"name": name, "generateName": prefix,
                    "namespace": self.ns, "uid": str(uuid.uuid4()),
                    "creationTimestamp": self.k.now_rfc3339(),
                    "labels": labels,
                    "annotations": {
                        "kubevirt.io/domain": self.name,
                        "kubectl.kubernetes.io/default-container": "compute",
                        "kubevirt.io/migrationTransportUnix": "true"},
                    "ownerReferences": [{
                        "apiVersion": "kubevirt.io/v1",
                        "kind": "VirtualMachineInstance", "name": self.name,
                        "uid": self.uid, "controller": True,
                        "blockOwnerDeletion": True}]}
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                   "spec": {"containers": containers, "volumes": volumes,
                            "restartPolicy": "Never",
                            "hostname": spec.get("hostname") or self.name,
                            "automountServiceAccountToken": False,
                            "enableServiceLinks": False,
                            "terminationGracePeriodSeconds":
                                spec.get("terminationGracePeriodSeconds",
                                         180) + 30,
                            "securityContext": {"runAsUser": 107,
                                                "runAsGroup": 107,
                                                "fsGroup": 107,
                                                "runAsNonRoot": True},
                            "readinessGates": [{"conditionType":
                                "kubevirt.io/virtual-machine-unpaused"}]}}
            self.pod_uid = meta["uid"]
            self.pod_name = name
            pod["status"] = self.pod_status(pod, "Pending", None)
            self.vl.kubelet.store(self.vl.res("Pod"), pod)
            self.vl.event(self.vmi(), "Normal", "SuccessfulCreate",
                          f"Created virtual machine pod {name}",
                          "virtualmachine-controller")
            return copy.deepcopy(pod)

    def pod_status(self, pod, phase, states, unschedulable=None):
        ts = self.k.now_rfc3339()
        if unschedulable or states is None:
            st = {"phase": "Pending", "qosClass": "Burstable",
                  "conditions": [{"type": "PodScheduled",
                                  "status": "False" if unschedulable
                                  else "True",
                                  "lastProbeTime": None,
                                  "lastTransitionTime": ts}]}
            if unschedulable:
                st["conditions"][0].update(reason="Unschedulable",
                                           message=unschedulable)
            return st
        ready = phase == "Running"
        conds = self.k._ready_conditions(
            ready if phase != "Pending" else False,
            None if phase in ("Pending", "Running") else "PodCompleted"
            if phase == "Succeeded" else "PodFailed", ts=ts)
        if phase in FINAL:
            conds[0]["status"] = "False"
        st = {"phase": phase, "qosClass": "Burstable",
              "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
              "startTime": (pod.get("status") or {}).get("startTime", ts),
              "conditions": conds}
        if phase != "Pending":
            st["podIP"] = self.pod_ip
            st["podIPs"] = [{"ip": self.pod_ip}]
        cstats = []
        for c in pod["spec"]["containers"]:
            state = states.get(c["name"]) or \
                {"waiting": {"reason": "ContainerCreating"}}
            running = "running" in state
            cs = {"name": c["name"], "image": c["image"], "imageID": "",
                  "ready": running, "restartCount": 0, "started": running,
                  "state": state}
            if "waiting" not in state:
                cs["imageID"] = LAUNCHER_IMAGE.split(":")[0] + "@sha256:" + \
                    "0" * 64
                cs["containerID"] = "containerd://" + uuid.uuid5(
                    uuid.NAMESPACE_OID, self.pod_uid + c["name"]).hex * 2
            cstats.append(cs)
        st["containerStatuses"] = cstats
        return st

    def end_pod(self, pod, code, reason):
        done = self.k.now_rfc3339()
        started = getattr(self, "started", done)
        states = {c["name"]: {"terminated": {
            "exitCode": code if c["name"] == "compute" else 0,
            "reason": reason if c["name"] == "compute" else "Completed",
            "startedAt": started, "finishedAt": done}}
            for c in pod["spec"]["containers"]}
        try:
            self.pod_write(self.pod_status(
                pod, "Succeeded" if code == 0 else "Failed", states))
        except self.k.Gone:
            pass

    def prepare(self, vmi):
        """Volume name -> (file, read-only); Blocked until the kubelet can
        map them, Unmodelled for what the fake cannot run."""
        spec = vmi.get("spec") or {}
        files = {}
        for v in spec.get("volumes") or []:
            name = v["name"]
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName") \
                or (v.get("dataVolume") or {}).get("name")
            if claim:
                if self.mode != "qemu":
                    files[name] = (None, False)
                    continue
                with self.state.lock:
                    path = self.k.claim_file(self.state.objects, self.ns,
                                             claim, self.vl.args.volume_dir)
                files[name] = (path, bool((v.get("persistentVolumeClaim")
                                           or {}).get("readOnly")))
            elif "emptyDisk" in v:
                size = quantity(v["emptyDisk"].get("capacity"),
                                f"emptyDisk {name!r}")
                path = os.path.join(self.workdir, f"{name}.img")
                if self.mode == "qemu":
                    with open(path, "wb") as f:
                        f.truncate(size)
                files[name] = (path, False)
            elif "cloudInitNoCloud" in v or "cloudInitConfigDrive" in v:
                kind = "cloudInitNoCloud" if "cloudInitNoCloud" in v \
                    else "cloudInitConfigDrive"
                path = os.path.join(self.workdir, f"{name}.iso")
                if self.mode == "qemu":
                    cloud_init_iso(v, kind, vmi, path)
                files[name] = (path, False)
            else:
                kind = next((k for k in v if k != "name"), "?")
                raise Unmodelled(f"volume {name!r}: {kind} volumes are not "
                                 "modelled")
        if self.mode == "qemu":
            self.argv = qemu_argv(vmi, files, self.workdir,
                                  getattr(self.vl.args, "virt_accel", "tcg"),
                                  getattr(self.vl.args, "virt_qemu", None)
                                  or QEMU)
        return files

    def pretend(self, vmi):
        """canned mode: the configured console, then the configured end."""
        self.running(vmi)
        text = self.s.get("console")
        if text is None:
            text = DEFAULT_CONSOLE
        step = min(self.s["delay"] / 10, 0.05)
        for line in text.splitlines(keepends=True):
            self.logs["guest-console-log"].feed(line.encode())
            self.wait(step)
        end = self.s.get("exit")
        if end is None:
            while True:
                self.wait(1)
        self.wait(self.s["delay"] / 2)
        return 0 if end == "Succeeded" else 1

    def running(self, vmi):
        spec = vmi.get("spec") or {}
        dom = spec.get("domain") or {}
        cpu = dom.get("cpu") or {}
        nets = {n.get("name"): n for n in spec.get("networks") or []}
        ifaces = []
        for j, i in enumerate((dom.get("devices") or {}).get("interfaces")
                              or []):
            s = {"name": i["name"], "mac": i.get("macAddress") or
                 mac_for(self.uid, j), "infoSource": "domain",
                 "queueCount": 1, "linkState": "up"}
            if "pod" in (nets.get(i["name"]) or {}):
                s.update(ipAddress=self.pod_ip, ipAddresses=[self.pod_ip],
                         podInterfaceName="eth0",
                         infoSource="domain, multus-status")
            ifaces.append(s)
        mem = (dom.get("memory") or {}).get("guest") or \
            ((dom.get("resources") or {}).get("requests") or {}).get("memory")
        vols = []
        for v in spec.get("volumes") or []:
            s = {"name": v["name"], "target": ""}
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                with self.state.lock:
                    pvc = self.vl.lookup("persistentvolumeclaims", self.ns,
                                         claim, "", "v1") or {}
                ps = pvc.get("spec") or {}
                s["persistentVolumeClaimInfo"] = {
                    "claimName": claim,
                    "accessModes": ps.get("accessModes") or [],
                    "volumeMode": ps.get("volumeMode") or "Filesystem",
                    "requests": (ps.get("resources") or {}).get("requests")
                    or {}}
            vols.append(s)
        changes = {"interfaces": ifaces,
                   "currentCPUTopology": {k: cpu.get(k, 1) for k in
                                          ("sockets", "cores", "threads")},
                   "guestOSInfo": {}, "launcherContainerImageVersion":
                   LAUNCHER_IMAGE, "qosClass": "Burstable",
                   "migrationMethod": "BlockMigration",
                   "machine": {"type": "pc-q35-rhel9.6.0"},
                   "volumeStatus": vols,
                   "conditions": self.conditions(True, extra=[{
                       "type": "LiveMigratable", "status": "False",
                       "reason": "DisksNotLiveMigratable",
                       "message": "cannot migrate VMI: PVC is not shared, "
                                  "live migration requires that all PVCs "
                                  "must be shared (using ReadWriteMany "
                                  "access mode)",
                       "lastTransitionTime": self.k.now_rfc3339()}])}
        if mem:
            changes["memory"] = {"guestAtBoot": mem, "guestCurrent": mem,
                                 "guestRequested": mem}
        vmi = self.write_vmi(phase="Running", **changes)
        with self.state.lock:
            self.vl.event(vmi, "Normal", "Started",
                          "VirtualMachineInstance started.", "virt-handler")

    def boot(self, vmi, files):
        """qemu mode: the guest, for real.  Its exit code, or None."""
        self.launcher_log("info", "starting the domain", qemu=self.argv)
        try:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, cwd=self.workdir,
                start_new_session=True, preexec_fn=die_with_parent)
        except OSError as e:
            self.launcher_log("error", f"cannot start qemu: {e}")
            return 1
        if self.abort.is_set():
            self.kill(0)
            return None
        pumps = [threading.Thread(target=self.pump, daemon=True,
                                  args=(self.proc.stdout,
                                        self.logs["guest-console-log"])),
                 threading.Thread(target=self.pump, daemon=True,
                                  args=(self.proc.stderr,
                                        self.logs["compute"]))]
        for t in pumps:
            t.start()
        # virt-handler sees the domain start: Running, however short.
        self.running(vmi)
        while self.proc.poll() is None:
            self.wait(0.1)
        for t in pumps:
            t.join(5)
        code = self.proc.returncode
        self.launcher_log("info", f"qemu exited with status {code}")
        return code if code >= 0 else 128 - code

    @staticmethod
    def pump(stream, log):
        while True:
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                return
            log.feed(chunk)

    def kill(self, grace):
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(grace)
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()


def die_with_parent():
    """In the child: SIGKILL when the thread that started it ends (it
    waits for the guest), so not even a killed fake leaks a guest."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PDEATHSIG
    except (OSError, AttributeError):
        pass


class PodGone(Exception):
    """The virt-launcher Pod was deleted under a running VMI."""
