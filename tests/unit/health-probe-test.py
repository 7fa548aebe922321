#!/usr/bin/env python3
"""The Linux health probe (convert/linux/health-probe.sh) in every state.

    health-probe-test.py PROBE.sh

Each case runs the real script under /bin/sh with stubs of systemctl,
ip, cloud-init, findmnt, findfs and sleep first on PATH (each answers
only the exact command lines the case gives it, and fails otherwise)
and a fake root directory (V2V_HEALTH_ROOT) holding /etc/fstab,
/proc/swaps, /sys/class/tty, the consoles and the state directory.
The line it prints must parse and say what the case set up; curl, wget
and nc are stubs that fail the case if called (no network access).
"""
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

PROBE = None

STUB = r"""#!/bin/sh
# Answers the exact command lines of the case: a file named by them.
key=$(printf '%s' "${0##*/} $*" | tr -c 'A-Za-z0-9._=-' '_')
printf '%s\n' "${0##*/} $*" >> "$STUB_DIR/calls"
# A reply that changes over time: KEY.seq holds how many replies it has
# (KEY.1, KEY.2, ...); the Nth call gets the Nth, the last one repeats.
if [ -f "$STUB_DIR/out/$key.seq" ]; then
    n=$(( $(cat "$STUB_DIR/out/$key.count" 2>/dev/null || echo 0) + 1 ))
    echo "$n" > "$STUB_DIR/out/$key.count"
    [ "$n" -le "$(cat "$STUB_DIR/out/$key.seq")" ] || n=$(cat "$STUB_DIR/out/$key.seq")
    key=$key.$n
fi
if [ -f "$STUB_DIR/out/$key" ]; then
    cat "$STUB_DIR/out/$key"
    exit "$(cat "$STUB_DIR/out/$key.rc" 2>/dev/null || echo 0)"
fi
exit 1
"""
FORBIDDEN = "#!/bin/sh\necho \"$0 $*\" >> \"$STUB_DIR/forbidden\"\nexit 1\n"

UNIT = "v2v-kubevirt-health.service"
HOSTKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheProbeTest root@fixture\n"
LINK_ENP1S0 = ("2: enp1s0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel "
               "state UP mode DEFAULT group default qlen 1000\\    link/ether "
               "52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff\n")
LINK_ENP2S0 = ("3: enp2s0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel "
               "state UP mode DEFAULT group default qlen 1000\\    link/ether "
               "52:54:00:ab:cd:ef brd ff:ff:ff:ff:ff:ff\n")
LINK_LO = ("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode "
           "DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd "
           "00:00:00:00:00:00\n")


def healthy_world():
    """A converted Debian guest booted on KubeVirt, all well."""
    return {
        "cmds": {
            "systemctl is-system-running": ("starting\n", 1),
            # Only our own job is left: the manager says "starting" until
            # it ends.
            "systemctl list-jobs --no-legend":
                f"1234 {UNIT} start running\n",
            "systemctl list-units --state=failed --plain --no-legend --full": "",
            "ip -o link show": LINK_LO + LINK_ENP1S0,
            "ip -o link show dev enp1s0": LINK_ENP1S0,
            "ip -o -4 addr show dev enp1s0":
                "2: enp1s0    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic "
                "enp1s0\\       valid_lft 86313sec preferred_lft 86313sec\n",
            "ip -o -6 addr show dev enp1s0":
                "2: enp1s0    inet6 fec0::5054:ff:fe12:3456/64 scope site dynamic "
                "mngtmpaddr \\       valid_lft 86315sec preferred_lft 14315sec\n"
                "2: enp1s0    inet6 fe80::5054:ff:fe12:3456/64 scope link \\       "
                "valid_lft forever preferred_lft forever\n",
            "ip -4 route show default":
                "default via 10.0.2.2 dev enp1s0 proto dhcp src 10.0.2.15 metric 100\n",
            "ip -6 route show default":
                "default via fe80::2 dev enp1s0 proto ra metric 1024 expires 1798sec "
                "hoplimit 64 pref medium\n",
            "cloud-init status": "status: done\n",
            "findmnt -n -o SOURCE /": "/dev/vda1\n",
            "findmnt -n -o OPTIONS /": "rw,relatime,discard,errors=remount-ro\n",
            "findmnt -n -o SOURCE --mountpoint /boot/efi": "/dev/vda15\n",
            "findmnt -n -o SOURCE --mountpoint /": "/dev/vda1\n",
            "findfs UUID=0b9c-swap": "/dev/vda2\n",
            "systemctl show -p LoadState amazon-ssm-agent.service":
                "LoadState=masked\n",
            "systemctl show -p LoadState ec2-instance-connect.service":
                "LoadState=loaded\n",
            "systemctl is-active ec2-instance-connect.service": ("inactive\n", 3),
            "sleep 1": "", "sleep 2": "",
        },
        "files": {
            "etc/fstab": "# /etc/fstab: static file system information.\n"
                         "UUID=1111-root / ext4 rw,discard,errors=remount-ro 0 1\n"
                         "UUID=2222-EFI /boot/efi vfat umask=0077 0 2\n"
                         "UUID=0b9c-swap none swap sw 0 0\n"
                         "/dev/sr0 /media/cdrom udf,iso9660 user,noauto 0 0\n",
            "proc/swaps": "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                          "/dev/vda2                               partition\t"
                          "1048572\t\t0\t\t-2\n",
            "proc/uptime": "41.73 80.11\n",
            "proc/consoles": "ttyS0                -W- (EC p a)    4:64\n",
            "sys/class/tty/ttyS0/type": "4\n",
            "sys/class/tty/ttyS1/type": "0\n",
            "dev/ttyS0": "",
            "dev/ttyS1": "",
            "dev/kmsg": "",
            "run/cloud-init/status.json":
                '{\n "v1": {\n  "datasource": "DataSourceNoCloud '
                '[seed=/var/lib/cloud/seed/nocloud-net][dsmode=net]",\n'
                '  "init": {"errors": []}\n }\n}\n',
            "var/lib/cloud/data/instance-id": "i-0abc1234def567890\n",
            "etc/ssh/ssh_host_ed25519_key.pub": HOSTKEY,
            # What the conversion installed, which a healthy report removes.
            f"etc/systemd/system/{UNIT}": "[Unit]\n",
            f"etc/systemd/system/multi-user.target.wants/{UNIT}": "[Unit]\n",
            "usr/local/sbin/v2v-kubevirt-health": "#!/bin/sh\n",
        },
        "args": ["--aws-agents=amazon-ssm-agent.service,ec2-instance-connect.service"],
        "env": {},
    }


class Probe(unittest.TestCase):
    def run_probe(self, world):
        tmp = tempfile.mkdtemp(prefix="health-probe-test-")
        self.addCleanup(shutil.rmtree, tmp)
        root = os.path.join(tmp, "root")
        stubs = os.path.join(tmp, "stubs")
        out = os.path.join(stubs, "out")
        os.makedirs(out)
        for path, text in world["files"].items():
            p = os.path.join(root, path)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        for cmd, reply in world["cmds"].items():
            key = "".join(c if c.isalnum() or c in "._=-" else "_" for c in cmd)
            # A list is a reply that changes from call to call.
            if isinstance(reply, list):
                with open(os.path.join(out, key + ".seq"), "w") as f:
                    f.write(str(len(reply)))
                replies = [(f"{key}.{i + 1}", r) for i, r in enumerate(reply)]
            else:
                replies = [(key, reply)]
            for name, r in replies:
                text, rc = r if isinstance(r, tuple) else (r, 0)
                with open(os.path.join(out, name), "w") as f:
                    f.write(text)
                with open(os.path.join(out, name + ".rc"), "w") as f:
                    f.write(str(rc))
        for name in ("systemctl", "ip", "cloud-init", "findmnt", "findfs", "sleep"):
            if name == "cloud-init" and world.get("no_cloud_init"):
                continue
            self.write_exec(os.path.join(stubs, name), STUB)
        for name in ("curl", "wget", "nc"):
            self.write_exec(os.path.join(stubs, name), FORBIDDEN)
        env = {"PATH": f"{stubs}:/usr/bin:/bin", "STUB_DIR": stubs,
               "V2V_HEALTH_ROOT": root, "V2V_HEALTH_SETTLE_WAIT": "4",
               "V2V_HEALTH_ADDR_WAIT": "2", "LC_ALL": "C"}
        env.update(world["env"])
        p = subprocess.run(["/bin/sh", PROBE] + world["args"], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(os.path.exists(os.path.join(stubs, "forbidden")),
                         "the probe tried the network")
        lines = [l for l in p.stdout.splitlines() if l.startswith("V2V-HEALTH ")]
        self.assertEqual(len(lines), 1, p.stdout)
        health = json.loads(lines[0][len("V2V-HEALTH "):])
        self.root, self.stdout, self.line = root, p.stdout, lines[0]
        with open(os.path.join(stubs, "calls")) as f:
            self.calls = f.read().splitlines()
        return health

    @staticmethod
    def write_exec(path, text):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, stat.S_IRWXU)

    def exists(self, path):
        return os.path.exists(os.path.join(self.root, path))

    def test_healthy(self):
        h = self.run_probe(healthy_world())
        self.assertEqual(h["version"], 1)
        self.assertEqual(h["probe"], "linux")
        self.assertEqual(h["status"], "healthy", h["problems"])
        self.assertEqual(h["problems"], [])
        self.assertEqual(h["system"], "running")
        self.assertEqual(h["failed_units"], [])
        self.assertEqual(h["nics"], [{"name": "enp1s0", "mac": "52:54:00:12:34:56",
                                      "ipv4": ["10.0.2.15"],
                                      "ipv6": ["fec0::5054:ff:fe12:3456"]}])
        self.assertEqual(h["default_route"],
                         {"ipv4": {"via": "10.0.2.2", "dev": "enp1s0"},
                          "ipv6": {"via": "fe80::2", "dev": "enp1s0"}})
        self.assertEqual(h["cloud_init"], {"status": "done",
                                           "datasource": "DataSourceNoCloud"})
        self.assertEqual(h["root"], {"source": "/dev/vda1", "mode": "rw"})
        self.assertEqual(h["mounts"], [
            {"target": "/", "spec": "UUID=1111-root", "type": "ext4",
             "state": "mounted", "source": "/dev/vda1"},
            {"target": "/boot/efi", "spec": "UUID=2222-EFI", "type": "vfat",
             "state": "mounted", "source": "/dev/vda15"}])
        self.assertEqual(h["swap"], [{"spec": "UUID=0b9c-swap", "state": "active"}])
        self.assertEqual(h["swap_active"], ["/dev/vda2"])
        self.assertEqual(h["aws_agents"], {"amazon-ssm-agent.service": "masked",
                                           "ec2-instance-connect.service": "inactive"})
        self.assertEqual(h["instance_id"], "i-0abc1234def567890")
        self.assertEqual(h["ssh_host_key"],
                         hashlib.sha256(HOSTKEY.encode()).hexdigest())
        self.assertEqual(h["boot_seconds"], 41.73)
        # The same JSON in the state file, the line on the present serial
        # port (not on ttyS1, which has no UART) and in the kernel log.
        with open(os.path.join(self.root, "var/lib/v2v-kubevirt/health.json")) as f:
            self.assertEqual(json.load(f), h)
        with open(os.path.join(self.root, "dev/ttyS0"), newline="") as f:
            self.assertEqual(f.read(), self.line + "\r\n")
        with open(os.path.join(self.root, "dev/ttyS1")) as f:
            self.assertEqual(f.read(), "")
        with open(os.path.join(self.root, "dev/kmsg")) as f:
            self.assertEqual(f.read(), self.line + "\n")
        # Healthy once: it removed itself.
        for p in (f"etc/systemd/system/{UNIT}",
                  f"etc/systemd/system/multi-user.target.wants/{UNIT}",
                  "usr/local/sbin/v2v-kubevirt-health"):
            self.assertFalse(self.exists(p), p)

    def test_healthy_keep(self):
        w = healthy_world()
        w["args"].append("--keep")
        h = self.run_probe(w)
        self.assertEqual(h["status"], "healthy")
        for p in (f"etc/systemd/system/{UNIT}",
                  f"etc/systemd/system/multi-user.target.wants/{UNIT}",
                  "usr/local/sbin/v2v-kubevirt-health"):
            self.assertTrue(self.exists(p), p)

    def assert_unhealthy(self, h, *problems):
        self.assertEqual(h["status"], "unhealthy")
        self.assertEqual(h["problems"], list(problems))
        # An unhealthy report runs again at the next boot.
        self.assertTrue(self.exists(f"etc/systemd/system/multi-user.target.wants/{UNIT}"))

    def test_failed_units(self):
        w = healthy_world()
        w["cmds"]["systemctl list-units --state=failed --plain --no-legend --full"] = (
            "ec2-metadata-check.service loaded failed failed Check EC2 metadata\n"
            "data\\x2dsync.service loaded failed failed Sync\n")
        h = self.run_probe(w)
        self.assertEqual(h["system"], "degraded")
        self.assertEqual(h["failed_units"], ["ec2-metadata-check.service",
                                             "data\\x2dsync.service"])
        self.assert_unhealthy(h, "the system is degraded",
                              "failed units: ec2-metadata-check.service "
                              "data\\x2dsync.service")

    def test_running_after_boot(self):
        # Started by hand, after boot: the manager says "running".
        w = healthy_world()
        w["cmds"]["systemctl is-system-running"] = "running\n"
        w["cmds"]["systemctl list-jobs --no-legend"] = ""
        h = self.run_probe(w)
        self.assertEqual(h["status"], "healthy")
        self.assertEqual(h["system"], "running")

    def test_still_starting(self):
        w = healthy_world()
        w["cmds"]["systemctl list-jobs --no-legend"] = (
            f"1234 {UNIT} start running\n"
            "1240 slow-app.service start waiting\n")
        h = self.run_probe(w)
        self.assertEqual(h["system"], "starting")
        self.assert_unhealthy(h, "the system is still starting after 4 s "
                                 "(jobs: slow-app.service)")
        # The wait was bounded: two sleeps of 2 s, then the report.
        self.assertEqual(self.calls.count("sleep 2"), 2)

    def test_emergency(self):
        for state in ("maintenance", "stopping"):
            with self.subTest(state=state):
                w = healthy_world()
                w["cmds"]["systemctl is-system-running"] = (state + "\n", 1)
                h = self.run_probe(w)
                self.assertEqual(h["system"], state)
                self.assert_unhealthy(h, f"the system is {state}")

    def test_no_address(self):
        w = healthy_world()
        for fam in ("4", "6"):
            w["cmds"][f"ip -o -{fam} addr show dev enp1s0"] = ""
            w["cmds"][f"ip -{fam} route show default"] = ""
        h = self.run_probe(w)
        self.assertEqual(h["nics"], [{"name": "enp1s0", "mac": "52:54:00:12:34:56",
                                      "ipv4": [], "ipv6": []}])
        self.assertEqual(h["default_route"], {"ipv4": None, "ipv6": None})
        self.assert_unhealthy(h, "no NIC has an IP address", "no default route")
        # It waited for an address, bounded: two 1 s sleeps.
        self.assertEqual(self.calls.count("sleep 1"), 2)

    def test_route_after_address(self):
        # A DHCP client sets the lease's address, then its routes: the
        # probe must not look in between (e2e-compat-generic saw
        # "no default route" beside 10.0.2.15 under TCG).
        w = healthy_world()
        w["cmds"]["ip -6 route show default"] = ""
        route = w["cmds"]["ip -4 route show default"]
        w["cmds"]["ip -4 route show default"] = ["", "", route]
        h = self.run_probe(w)
        self.assertEqual(h["status"], "healthy", h["problems"])
        self.assertEqual(h["default_route"]["ipv4"],
                         {"via": "10.0.2.2", "dev": "enp1s0"})
        self.assertEqual(self.calls.count("sleep 1"), 2)

    def test_two_nics_ipv4_only(self):
        w = healthy_world()
        w["cmds"]["ip -o link show"] = LINK_LO + LINK_ENP1S0 + LINK_ENP2S0
        w["cmds"]["ip -o link show dev enp2s0"] = LINK_ENP2S0
        w["cmds"]["ip -o -4 addr show dev enp2s0"] = (
            "3: enp2s0    inet 192.168.7.20/24 brd 192.168.7.255 scope global "
            "enp2s0\\       valid_lft forever preferred_lft forever\n")
        w["cmds"]["ip -o -6 addr show dev enp2s0"] = ""
        w["cmds"]["ip -6 route show default"] = ""
        h = self.run_probe(w)
        self.assertEqual(h["status"], "healthy", h["problems"])
        self.assertEqual([(n["name"], n["ipv4"], n["ipv6"]) for n in h["nics"]],
                         [("enp1s0", ["10.0.2.15"], ["fec0::5054:ff:fe12:3456"]),
                          ("enp2s0", ["192.168.7.20"], [])])
        self.assertEqual(h["nics"][1]["mac"], "52:54:00:ab:cd:ef")
        self.assertIsNone(h["default_route"]["ipv6"])

    def test_cloud_init_states(self):
        for status, ok in (("error", False), ("running", False),
                           ("disabled", True), ("degraded done", False)):
            with self.subTest(status=status):
                w = healthy_world()
                w["cmds"]["cloud-init status"] = f"status: {status}\n"
                h = self.run_probe(w)
                self.assertEqual(h["cloud_init"]["status"], status)
                if ok:
                    self.assertEqual(h["status"], "healthy")
                else:
                    self.assert_unhealthy(h, f"cloud-init status is {status}")

    def test_no_cloud_init(self):
        w = healthy_world()
        w["no_cloud_init"] = True
        del w["files"]["run/cloud-init/status.json"]
        del w["files"]["var/lib/cloud/data/instance-id"]
        h = self.run_probe(w)
        self.assertEqual(h["status"], "healthy", h["problems"])
        self.assertEqual(h["cloud_init"], {"status": "not-installed",
                                           "datasource": None})
        self.assertIsNone(h["instance_id"])

    def test_root_read_only(self):
        w = healthy_world()
        w["cmds"]["findmnt -n -o OPTIONS /"] = "ro,relatime\n"
        h = self.run_probe(w)
        self.assertEqual(h["root"]["mode"], "ro")
        self.assert_unhealthy(h, "root is mounted read-only")

    def test_missing_mount_and_swap(self):
        w = healthy_world()
        w["files"]["etc/fstab"] += ("LABEL=data /srv/data xfs defaults 0 2\n"
                                    "/dev/xvdg /srv/opt ext4 defaults,nofail 0 2\n")
        w["files"]["proc/swaps"] = "Filename\tType\tSize\tUsed\tPriority\n"
        h = self.run_probe(w)
        self.assertEqual(h["mounts"][-2], {"target": "/srv/data", "spec": "LABEL=data",
                                           "type": "xfs", "state": "missing",
                                           "source": None})
        # A nofail mount is reported missing, but the guest is meant to
        # boot without it: no problem (only the two below).
        self.assertEqual(h["mounts"][-1], {"target": "/srv/opt", "spec": "/dev/xvdg",
                                           "type": "ext4", "state": "missing",
                                           "source": None})
        # noauto entries are not expected to be mounted.
        self.assertNotIn("/media/cdrom", [m["target"] for m in h["mounts"]])
        self.assertEqual(h["swap"], [{"spec": "UUID=0b9c-swap", "state": "missing"}])
        self.assertEqual(h["swap_active"], [])
        self.assert_unhealthy(h, "fstab swap UUID=0b9c-swap is not active",
                              "fstab mount /srv/data (LABEL=data) is not mounted")

    def test_awkward_names(self):
        # Quotes, backslashes and control characters stay valid JSON.
        w = healthy_world()
        w["cmds"]["systemctl list-units --state=failed --plain --no-legend --full"] = (
            'we"ird\\unit\x01.service loaded failed failed x\n')
        w["files"]["var/lib/cloud/data/instance-id"] = 'i-"quoted"\\\n'
        h = self.run_probe(w)
        self.assertEqual(h["failed_units"], ['we"ird\\unit.service'])
        self.assertEqual(h["instance_id"], 'i-"quoted"\\')

    def test_nothing_known(self):
        # Every tool fails: still one line of valid JSON, and unhealthy.
        w = healthy_world()
        w["cmds"] = {"sleep 1": "", "sleep 2": ""}
        w["files"] = {}
        h = self.run_probe(w)
        self.assertEqual(h["system"], "unknown")
        self.assertEqual(h["nics"], [])
        self.assertEqual(h["mounts"], [])
        self.assertIsNone(h["boot_seconds"])
        self.assertEqual(h["aws_agents"], {"amazon-ssm-agent.service": "not-found",
                                           "ec2-instance-connect.service": "not-found"})
        self.assertEqual(h["status"], "unhealthy")
        self.assertIn("the system is unknown", h["problems"])


if __name__ == "__main__":
    PROBE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
