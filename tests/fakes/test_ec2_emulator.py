#!/usr/bin/python3
"""Tests for the EC2 emulator (tests/fakes/ec2-emulator.py).

The emulator is what proves the orchestrator's EC2 client right, so it is
tested on its own first, mostly with botocore's own client: if botocore's
signer, serialiser and parser agree with the emulator, the emulator speaks
EC2.  Raw requests then check what an SDK never sends: bad signatures,
unknown and missing parameters.

Needs Debian's python3-botocore: run with /usr/bin/python3.
"""

import datetime
import hashlib
import hmac
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

# How long a fake may take to start (load its schemas or botocore's model)
# and write its port file: a bound for a wait, not a speed target; CI
# runs it beside qemu boots on two cores.
READY_WAIT = 60

import botocore.config
import botocore.exceptions
import botocore.session

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "ec2-emulator.py")
ACCT_A, AKID_A, SECRET_A = "111111111111", "AKIDAAAAAAAAAAAAAAAA", "secret/A+1"
ACCT_B, AKID_B, SECRET_B, TOKEN_B = ("222222222222", "AKIDBBBBBBBBBBBBBBBB",
                                     "secretB", "session-token-B")
INSTANCE = "i-0123456789abcdef0"


def seed():
    vols = [{"VolumeId": f"vol-0000000000000000{i}", "Account": ACCT_A,
             "Size": 8 + i, "VolumeType": "gp3",
             "AvailabilityZone": "us-east-1a",
             "Tags": {"n": str(i)}} for i in range(1, 6)]
    vols[0]["File"] = "DISK"
    return {
        "instances": [{
            "InstanceId": INSTANCE, "Account": ACCT_A,
            "InstanceType": "m5.large", "State": "running",
            "AvailabilityZone": "us-east-1a", "BootMode": "uefi",
            "RootDeviceName": "/dev/xvda", "Tags": {"Name": "web"},
            "UserData": "#cloud-config\n",
            "NetworkInterfaces": [{"MacAddress": "02:00:00:00:00:01",
                                   "SubnetId": "subnet-0abc",
                                   "VpcId": "vpc-0abc",
                                   "PrivateIpAddress": "10.0.0.5"}],
            "BlockDeviceMappings": [
                {"DeviceName": "/dev/xvda",
                 "VolumeId": "vol-00000000000000001"},
                {"DeviceName": "/dev/sdf",
                 "VolumeId": "vol-00000000000000002"}],
            "InstanceStore": [{"DeviceName": "/dev/sdb",
                               "VirtualName": "ephemeral0"}]}],
        "volumes": vols,
    }


class Emulator:
    """One running emulator, started with ARGS on a free port."""

    def __init__(self, tmp, *args):
        self.port_file = os.path.join(tmp, f"port-{id(self)}")
        self.record = os.path.join(tmp, f"record-{id(self)}.jsonl")
        disk = os.path.join(tmp, "disk.img")
        with open(disk, "wb") as f:
            f.truncate(1024 * 1024)
            f.write(b"bootsector")
        s = seed()
        s["volumes"][0]["File"] = disk
        seed_file = os.path.join(tmp, f"seed-{id(self)}.json")
        with open(seed_file, "w") as f:
            json.dump(s, f)
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", EMULATOR, "--port-file", self.port_file,
             "--credentials", f"{ACCT_A}:{AKID_A}:{SECRET_A}",
             "--credentials", f"{ACCT_B}:{AKID_B}:{SECRET_B}:{TOKEN_B}",
             "--seed", seed_file, "--record", self.record, "--quiet",
             *args])
        deadline = time.monotonic() + READY_WAIT
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited {self.proc.returncode}")
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(f"the emulator wrote no port file in {READY_WAIT} s")
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.url = f"http://127.0.0.1:{self.port}"
        self.clients = []

    def stop(self):
        for c in self.clients:
            c.close()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def client(self, akid=AKID_A, secret=SECRET_A, token=None,
               region="us-east-1"):
        c = botocore.session.get_session().create_client(
            "ec2", endpoint_url=self.url, region_name=region,
            aws_access_key_id=akid, aws_secret_access_key=secret,
            aws_session_token=token,
            config=botocore.config.Config(retries={"max_attempts": 1}))
        self.clients.append(c)
        return c

    def control(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path,
                     json.dumps(body) if body is not None else None)
        r = conn.getresponse()
        data = json.loads(r.read())
        conn.close()
        return r.status, data

    def raw(self, params, secret=SECRET_A, akid=AKID_A, tamper=False):
        """POST PARAMS signed by hand (SigV4, as libcurl does it)."""
        body = urllib.parse.urlencode(params).encode()
        host = f"127.0.0.1:{self.port}"
        amz_date = datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y%m%dT%H%M%SZ")
        ctype = "application/x-www-form-urlencoded"
        canonical = "\n".join([
            "POST", "/", "",
            f"content-type:{ctype}\nhost:{host}\nx-amz-date:{amz_date}\n",
            "content-type;host;x-amz-date",
            hashlib.sha256(body).hexdigest()])
        scope = f"{amz_date[:8]}/us-east-1/ec2/aws4_request"
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + secret).encode()
        for part in (amz_date[:8], "us-east-1", "ec2", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if tamper:
            sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request("POST", "/", body, {
            "Content-Type": ctype, "X-Amz-Date": amz_date,
            "Authorization": f"AWS4-HMAC-SHA256 Credential={akid}/{scope}, "
                             f"SignedHeaders=content-type;host;x-amz-date, "
                             f"Signature={sig}"})
        r = conn.getresponse()
        data = r.read().decode()
        conn.close()
        return r.status, data


def error_code(exc):
    return exc.response["Error"]["Code"]


class EmulatorTest(unittest.TestCase):
    ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ec2-emulator-test-")
        cls.emu = Emulator(cls.tmp, "--backing-dir",
                           os.path.join(cls.tmp, "backing"), *cls.ARGS)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.emu.control("POST", "/_fake/reset")


class SdkRoundTrip(EmulatorTest):
    def test_describe_instances_filters(self):
        ec2 = self.emu.client()
        r = ec2.describe_instances(Filters=[
            {"Name": "tag:Name", "Values": ["w*"]},
            {"Name": "instance-state-name", "Values": ["running"]}])
        inst = r["Reservations"][0]["Instances"][0]
        self.assertEqual(r["Reservations"][0]["OwnerId"], ACCT_A)
        self.assertEqual(inst["InstanceId"], INSTANCE)
        self.assertEqual(inst["State"], {"Code": 16, "Name": "running"})
        self.assertEqual(inst["BootMode"], "uefi")
        self.assertEqual(inst["NetworkInterfaces"][0]["MacAddress"],
                         "02:00:00:00:00:01")
        self.assertEqual([b["Ebs"]["VolumeId"]
                          for b in inst["BlockDeviceMappings"]],
                         ["vol-00000000000000001", "vol-00000000000000002"])
        self.assertEqual(ec2.describe_instances(Filters=[
            {"Name": "tag-key", "Values": ["Nope"]}])["Reservations"], [])

    def test_other_account_sees_nothing(self):
        ec2 = self.emu.client(AKID_B, SECRET_B, TOKEN_B)
        self.assertEqual(ec2.describe_instances()["Reservations"], [])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            ec2.describe_instances(InstanceIds=[INSTANCE])
        self.assertEqual(error_code(cm.exception),
                         "InvalidInstanceID.NotFound")

    def test_stop_start_transitions(self):
        ec2 = self.emu.client()
        r = ec2.stop_instances(InstanceIds=[INSTANCE])
        self.assertEqual(r["StoppingInstances"][0]["CurrentState"]["Name"],
                         "stopping")
        state = ec2.describe_instances(InstanceIds=[INSTANCE])[
            "Reservations"][0]["Instances"][0]["State"]["Name"]
        self.assertEqual(state, "stopped")  # --state-latency 0
        r = ec2.start_instances(InstanceIds=[INSTANCE])
        self.assertEqual(r["StartingInstances"][0]["PreviousState"]["Name"],
                         "stopped")

    def test_instance_types_and_userdata(self):
        ec2 = self.emu.client()
        t = ec2.describe_instance_types(InstanceTypes=["r5.large"])[
            "InstanceTypes"][0]
        self.assertEqual((t["VCpuInfo"]["DefaultVCpus"],
                          t["MemoryInfo"]["SizeInMiB"]), (2, 16384))
        ud = ec2.describe_instance_attribute(InstanceId=INSTANCE,
                                             Attribute="userData")
        self.assertEqual(ud["UserData"]["Value"], "I2Nsb3VkLWNvbmZpZwo=")
        zones = ec2.describe_availability_zones()["AvailabilityZones"]
        self.assertIn("us-east-1a", [z["ZoneName"] for z in zones])

    def test_instance_store_and_image_mappings(self):
        # The instance type says how many instance-store volumes and how
        # big; the AMI says which device name each ephemeralN has.
        ec2 = self.emu.client()
        t = ec2.describe_instance_types(InstanceTypes=["m5d.4xlarge"])[
            "InstanceTypes"][0]
        self.assertEqual(t["InstanceStorageInfo"]["TotalSizeInGB"], 600)
        self.assertEqual(t["InstanceStorageInfo"]["Disks"],
                         [{"SizeInGB": 300, "Count": 2, "Type": "ssd"}])
        t = ec2.describe_instance_types(InstanceTypes=["m5.large"])[
            "InstanceTypes"][0]
        self.assertNotIn("InstanceStorageInfo", t)
        images = ec2.describe_images(Filters=[
            {"Name": "image-id", "Values": ["ami-0123456789abcdef0"]}])[
                "Images"]
        self.assertEqual(
            [(m["DeviceName"], m.get("VirtualName"))
             for m in images[0]["BlockDeviceMappings"]],
            [("/dev/xvda", None), ("/dev/sdb", "ephemeral0")])
        # A deregistered (or unknown) AMI: not listed by the filter, an
        # error by id.
        self.assertEqual(ec2.describe_images(Filters=[
            {"Name": "image-id", "Values": ["ami-0fffffffffffffff0"]}])[
                "Images"], [])
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            ec2.describe_images(ImageIds=["ami-0fffffffffffffff0"])
        self.assertEqual(e.exception.response["Error"]["Code"],
                         "InvalidAMIID.NotFound")

    def test_snapshot_volume_backing_files(self):
        ec2 = self.emu.client()
        snaps = ec2.create_snapshots(
            InstanceSpecification={"InstanceId": INSTANCE,
                                   "ExcludeBootVolume": False},
            TagSpecifications=[{"ResourceType": "snapshot",
                                "Tags": [{"Key": "mig", "Value": "1"}]}],
            CopyTagsFromSource="volume")["Snapshots"]
        self.assertEqual(len(snaps), 2)
        root = [s for s in snaps
                if s["VolumeId"] == "vol-00000000000000001"][0]
        self.assertEqual({t["Key"] for t in root["Tags"]}, {"n", "mig"})
        vol = ec2.create_volume(SnapshotId=root["SnapshotId"],
                                AvailabilityZone="us-east-1b",
                                VolumeType="gp3", Iops=4000,
                                Throughput=250)
        self.assertEqual(vol["Size"], 9)
        _, state = self.emu.control("GET", "/_fake/state")
        v = [x for x in state["volumes"]
             if x["VolumeId"] == vol["VolumeId"]][0]
        with open(v["file"], "rb") as f:
            self.assertEqual(f.read(10), b"bootsector")
        ec2.delete_volume(VolumeId=vol["VolumeId"])
        self.assertFalse(os.path.exists(v["file"]))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            ec2.delete_volume(VolumeId="vol-00000000000000001")
        self.assertEqual(error_code(cm.exception), "VolumeInUse")

    def test_tags(self):
        ec2 = self.emu.client()
        ec2.create_tags(Resources=["vol-00000000000000003"],
                        Tags=[{"Key": "k", "Value": "v"}])
        vols = ec2.describe_volumes(Filters=[
            {"Name": "tag:k", "Values": ["v"]}])["Volumes"]
        self.assertEqual([v["VolumeId"] for v in vols],
                         ["vol-00000000000000003"])
        ec2.delete_tags(Resources=["vol-00000000000000003"],
                        Tags=[{"Key": "k"}])
        self.assertEqual(ec2.describe_volumes(Filters=[
            {"Name": "tag-key", "Values": ["k"]}])["Volumes"], [])

    def test_session_token_required(self):
        ec2 = self.emu.client(AKID_B, SECRET_B)  # no token
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            ec2.describe_volumes()
        self.assertEqual(error_code(cm.exception), "InvalidClientTokenId")

    def test_wrong_region(self):
        ec2 = self.emu.client(region="eu-west-1")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            ec2.describe_volumes()
        self.assertEqual(error_code(cm.exception), "SignatureDoesNotMatch")

    def test_bad_enum(self):
        ec2 = self.emu.client()
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            ec2.create_volume(AvailabilityZone="us-east-1a", Size=1,
                              VolumeType="gp9")
        self.assertEqual(error_code(cm.exception), "InvalidParameterValue")

    def test_record_and_counts(self):
        ec2 = self.emu.client()
        ec2.describe_volumes()
        _, reqs = self.emu.control("GET", "/_fake/requests")
        self.assertEqual(reqs[-1]["action"], "DescribeVolumes")
        self.assertTrue(reqs[-1]["polling"])
        self.assertEqual(reqs[-1]["account"], ACCT_A)
        self.assertNotIn(SECRET_A, json.dumps(reqs))
        _, counts = self.emu.control("GET", "/_fake/counts")
        self.assertEqual(counts["by_action"]["DescribeVolumes"], 1)
        self.assertEqual(counts["by_account"][ACCT_A], 1)


class RawRequests(EmulatorTest):
    def test_tampered_signature(self):
        status, body = self.emu.raw({"Action": "DescribeVolumes",
                                     "Version": "2016-11-15"}, tamper=True)
        self.assertEqual(status, 403)
        self.assertTrue(body.startswith(
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors>'
            '<Error><Code>SignatureDoesNotMatch</Code>'), body)
        self.assertIn("<RequestID>", body)

    def test_wrong_secret(self):
        status, body = self.emu.raw({"Action": "DescribeVolumes",
                                     "Version": "2016-11-15"},
                                    secret="not-it")
        self.assertEqual(status, 403)
        self.assertIn("<Code>SignatureDoesNotMatch</Code>", body)

    def test_unknown_key(self):
        status, body = self.emu.raw({"Action": "DescribeVolumes",
                                     "Version": "2016-11-15"},
                                    akid="AKIDUNKNOWN")
        self.assertEqual(status, 401)
        self.assertIn("<Code>AuthFailure</Code>", body)

    def test_good_raw_request(self):
        status, body = self.emu.raw({
            "Action": "DescribeVolumes", "Version": "2016-11-15",
            "VolumeId.1": "vol-00000000000000002"})
        self.assertEqual(status, 200, body)
        self.assertIn('<DescribeVolumesResponse xmlns="http://ec2.amazonaws'
                      '.com/doc/2016-11-15/"><requestId>', body)
        self.assertIn("<volumeSet><item><volumeId>vol-00000000000000002"
                      "</volumeId>", body)

    def test_unknown_parameter(self):
        for bad in ("VolumeIds.1", "Filter.1.Values.1", "Bogus",
                    "Filter.0.Name"):
            status, body = self.emu.raw({"Action": "DescribeVolumes",
                                         "Version": "2016-11-15", bad: "x"})
            self.assertEqual(status, 400, bad)
            self.assertIn("<Code>UnknownParameter</Code>", body)
            self.assertIn(f"The parameter {bad} is not recognized", body)

    def test_missing_parameter(self):
        status, body = self.emu.raw({
            "Action": "CreateSnapshots", "Version": "2016-11-15",
            "InstanceSpecification.ExcludeBootVolume": "true"})
        self.assertEqual(status, 400)
        self.assertIn("<Code>MissingParameter</Code>", body)
        self.assertIn("InstanceSpecification.InstanceId", body)

    def test_bad_integer_and_boolean(self):
        for k, v in (("Size", "ten"), ("Encrypted", "yes")):
            status, body = self.emu.raw({
                "Action": "CreateVolume", "Version": "2016-11-15",
                "AvailabilityZone": "us-east-1a", k: v})
            self.assertEqual(status, 400)
            self.assertIn("<Code>InvalidParameterValue</Code>", body)

    def test_version_and_action(self):
        status, body = self.emu.raw({"Action": "DescribeVolumes",
                                     "Version": "2014-10-01"})
        self.assertEqual((status, "<Code>NoSuchVersion</Code>" in body),
                         (400, True))
        status, body = self.emu.raw({"Action": "DescribeVolume",
                                     "Version": "2016-11-15"})
        self.assertEqual((status, "<Code>InvalidAction</Code>" in body),
                         (400, True))

    def test_throttle_rule(self):
        self.emu.control("POST", "/_fake/faults", [
            {"action": "CreateVolume", "times": 1,
             "code": "RequestLimitExceeded", "status": 503}])
        params = {"Action": "CreateVolume", "Version": "2016-11-15",
                  "AvailabilityZone": "us-east-1a", "Size": "1"}
        status, body = self.emu.raw(params)
        self.assertEqual(status, 503)
        self.assertIn("<Code>RequestLimitExceeded</Code>", body)
        status, body = self.emu.raw(params)
        self.assertEqual(status, 200, body)
        _, rules = self.emu.control("GET", "/_fake/faults")
        self.assertEqual(rules[0]["times"], 0)


    def test_act_then_lose_the_answer(self):
        # EC2 made the snapshots, the answer was a 500: a retry without a
        # ClientToken makes a second set, as real EC2 would.
        self.emu.control("POST", "/_fake/faults", [
            {"action": "CreateSnapshots", "times": 1, "after": True,
             "code": "InternalError", "status": 500}])
        params = {"Action": "CreateSnapshots", "Version": "2016-11-15",
                  "InstanceSpecification.InstanceId": INSTANCE}
        status, body = self.emu.raw(params)
        self.assertEqual(status, 500)
        self.assertIn("<Code>InternalError</Code>", body)
        _, state = self.emu.control("GET", "/_fake/state")
        self.assertEqual(len(state["snapshots"]), 2)
        _, reqs = self.emu.control("GET", "/_fake/requests")
        self.assertTrue(reqs[-1]["acted"])
        status, body = self.emu.raw(params)
        self.assertEqual(status, 200, body)
        _, state = self.emu.control("GET", "/_fake/state")
        self.assertEqual(len(state["snapshots"]), 4)

    def test_after_needs_an_answer(self):
        status, _ = self.emu.control("POST", "/_fake/faults", [
            {"action": "CreateSnapshots", "after": True, "delay": 1}])
        self.assertEqual(status, 400)

    def test_create_volume_client_token(self):
        a = self.emu.client()
        v1 = a.create_volume(AvailabilityZone="us-east-1a", Size=1,
                             ClientToken="tok-1")
        v2 = a.create_volume(AvailabilityZone="us-east-1a", Size=1,
                             ClientToken="tok-1")
        self.assertEqual(v1["VolumeId"], v2["VolumeId"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            a.create_volume(AvailabilityZone="us-east-1a", Size=2,
                            ClientToken="tok-1")
        self.assertEqual(error_code(cm.exception),
                         "IdempotentParameterMismatch")
        v3 = a.create_volume(AvailabilityZone="us-east-1a", Size=1,
                             ClientToken="tok-2")
        self.assertNotEqual(v1["VolumeId"], v3["VolumeId"])

    def test_tag_limit_at_creation(self):
        a = self.emu.client()
        tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            a.create_volume(AvailabilityZone="us-east-1a", Size=1,
                            TagSpecifications=[{"ResourceType": "volume",
                                                "Tags": tags}])
        self.assertEqual(error_code(cm.exception), "TagLimitExceeded")

    def test_source_facts(self):
        # Volume tags (aws: ones included, as EC2 sets them) and ENIs in
        # the order the seed lists them, whatever their device index.
        a = self.emu.client()
        vols = a.describe_volumes(VolumeIds=["vol-00000000000000001"])
        self.assertEqual(vols["Volumes"][0]["Tags"],
                         [{"Key": "n", "Value": "1"}])
        inst = a.describe_instances(InstanceIds=[INSTANCE])[
            "Reservations"][0]["Instances"][0]
        self.assertEqual([n["Attachment"]["DeviceIndex"]
                          for n in inst["NetworkInterfaces"]], [0])


class Terminated(unittest.TestCase):
    """Terminated instances are listed, with nothing attached."""

    def test_seed_terminated(self):
        tmp = tempfile.mkdtemp(prefix="ec2-emulator-test-")
        try:
            s = seed()
            s["instances"].append({
                "InstanceId": "i-0fedcba9876543210", "Account": ACCT_A,
                "InstanceType": "t3.micro", "State": "terminated",
                "AvailabilityZone": "us-east-1a", "Tags": {"Name": "web"}})
            path = os.path.join(tmp, "seed.json")
            with open(path, "w") as f:
                json.dump(s, f)
            emu = Emulator(tmp, "--seed", path)
            try:
                a = emu.client()
                res = a.describe_instances(Filters=[
                    {"Name": "tag:Name", "Values": ["web"]}])
                states = sorted(i["State"]["Name"]
                                for r in res["Reservations"]
                                for i in r["Instances"])
                self.assertEqual(states, ["running", "terminated"])
                res = a.describe_instances(Filters=[
                    {"Name": "instance-state-name",
                     "Values": ["pending", "running", "stopping",
                                "stopped"]}])
                self.assertEqual(len(res["Reservations"]), 1)
            finally:
                emu.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def run_seeded(test, extra, fn):
    """Start an emulator on seed() changed by EXTRA (a function of the
    seed), and call FN with it; or, if FN is None, expect it to refuse
    the seed."""
    tmp = tempfile.mkdtemp(prefix="ec2-emulator-test-")
    try:
        s = seed()
        extra(s)
        path = os.path.join(tmp, "seed.json")
        with open(path, "w") as f:
            json.dump(s, f)
        if fn is None:
            with test.assertRaises(RuntimeError):
                Emulator(tmp, "--seed", path).stop()
            return
        emu = Emulator(tmp, "--seed", path)
        try:
            fn(emu)
        finally:
            emu.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class CpuOptions(unittest.TestCase):
    """An instance's CpuOptions: the type's defaults, or what it was
    launched with, which must be valid for the type."""

    def test_defaults_and_launched(self):
        def extra(s):
            s["instances"].append({
                "InstanceId": "i-0fedcba9876543210", "Account": ACCT_A,
                "InstanceType": "m5.xlarge", "State": "stopped",
                "AvailabilityZone": "us-east-1a",
                "CpuOptions": {"CoreCount": 2, "ThreadsPerCore": 1}})

        def check(emu):
            a = emu.client()
            got = {i["InstanceId"]: i["CpuOptions"]
                   for r in a.describe_instances()["Reservations"]
                   for i in r["Instances"]}
            self.assertEqual(got, {
                INSTANCE: {"CoreCount": 1, "ThreadsPerCore": 2},
                "i-0fedcba9876543210": {"CoreCount": 2,
                                        "ThreadsPerCore": 1}})
            t = {x["InstanceType"]: x["VCpuInfo"]
                 for x in a.describe_instance_types(
                     InstanceTypes=["m5.xlarge", "t2.medium"])[
                         "InstanceTypes"]}
            self.assertEqual(t["m5.xlarge"]["DefaultCores"], 2)
            self.assertEqual(t["m5.xlarge"]["ValidThreadsPerCore"], [1, 2])
            self.assertEqual((t["t2.medium"]["DefaultCores"],
                              t["t2.medium"]["DefaultThreadsPerCore"]),
                             (2, 1))
        run_seeded(self, extra, check)

    def test_invalid_refused(self):
        for bad in ({"CoreCount": 3}, {"ThreadsPerCore": 3},
                    {"CoreCount": 1, "Threads": 1}):
            def extra(s, bad=bad):
                s["instances"][0]["CpuOptions"] = bad
            run_seeded(self, extra, None)


class SecurityGroupsSubnetsUefi(unittest.TestCase):
    """Seeded security groups and subnets, served as EC2 does; UEFI data
    only for a UEFI instance; a bad rule refused at load."""

    @staticmethod
    def extra(s):
        s["security_groups"] = [
            {"GroupId": "sg-0aaaaaaaaaaaaaaa1", "GroupName": "web",
             "Account": ACCT_A,
             "IpPermissions": [
                 {"IpProtocol": "6", "FromPort": 80, "ToPort": 90,
                  "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
                  "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}]},
                 {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1,
                  "PrefixListIds": [{"PrefixListId": "pl-0123abcd"}]},
                 {"IpProtocol": "-1", "UserIdGroupPairs": [
                     {"GroupId": "sg-0aaaaaaaaaaaaaaa2"}]}]},
            {"GroupId": "sg-0aaaaaaaaaaaaaaa2", "GroupName": "db",
             "Account": ACCT_A, "VpcId": "vpc-0def",
             "IpPermissionsEgress": []}]
        s["subnets"] = [{"SubnetId": "subnet-0aaaaaaaaaaaaaaa1",
                         "Account": ACCT_A, "CidrBlock": "10.0.0.0/24",
                         "AvailabilityZone": "us-east-1a"}]
        s["instances"][0]["SecurityGroups"] = ["sg-0aaaaaaaaaaaaaaa1"]
        s["instances"][0]["UefiData"] = "QU1aTlVFRkk="

    def test_served(self):
        def check(emu):
            a = emu.client()
            g = a.describe_security_groups(
                GroupIds=["sg-0aaaaaaaaaaaaaaa1"])["SecurityGroups"][0]
            self.assertEqual(g["IpPermissions"][0]["IpProtocol"], "tcp")
            self.assertEqual((g["IpPermissions"][0]["FromPort"],
                              g["IpPermissions"][0]["ToPort"]), (80, 90))
            self.assertEqual(g["IpPermissions"][1]["PrefixListIds"],
                             [{"PrefixListId": "pl-0123abcd"}])
            # A new group allows everything out, as EC2 makes one.
            self.assertEqual(g["IpPermissionsEgress"], [
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                 "Ipv6Ranges": [], "UserIdGroupPairs": [],
                 "PrefixListIds": []}])
            got = a.describe_security_groups(Filters=[
                {"Name": "vpc-id", "Values": ["vpc-0def"]}])
            self.assertEqual([x["GroupId"] for x in got["SecurityGroups"]],
                             ["sg-0aaaaaaaaaaaaaaa2"])
            # MaxResults within the model's 5..1000, pages of it.
            r = a.describe_security_groups(MaxResults=5)
            self.assertEqual(len(r["SecurityGroups"]), 2)
            with self.assertRaises(botocore.exceptions.ParamValidationError):
                a.describe_security_groups(MaxResults=4)
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                a.describe_security_groups(GroupIds=["sg-0bbbbbbbbbbbbbbb1"])
            self.assertEqual(error_code(cm.exception), "InvalidGroup.NotFound")
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                a.describe_security_groups(Filters=[{"Name": "bogus",
                                                     "Values": ["1"]}])
            self.assertEqual(error_code(cm.exception),
                             "InvalidParameterValue")
            inst = a.describe_instances(InstanceIds=[INSTANCE])[
                "Reservations"][0]["Instances"][0]
            self.assertEqual(inst["SecurityGroups"], [
                {"GroupId": "sg-0aaaaaaaaaaaaaaa1", "GroupName": "web"}])
            sub = a.describe_subnets()["Subnets"]
            self.assertEqual([(x["SubnetId"], x["AvailableIpAddressCount"])
                              for x in sub],
                             [("subnet-0aaaaaaaaaaaaaaa1", 251)])
            self.assertEqual(a.get_instance_uefi_data(InstanceId=INSTANCE)[
                "UefiData"], "QU1aTlVFRkk=")
            # Another account sees none of them.
            b = emu.client(AKID_B, SECRET_B, TOKEN_B)
            self.assertEqual(b.describe_security_groups()["SecurityGroups"],
                             [])
            self.assertEqual(b.describe_subnets()["Subnets"], [])
        run_seeded(self, self.extra, check)

    def test_bad_seeds_refused(self):
        bad_rules = [
            {"IpProtocol": "tcp", "FromPort": 90, "ToPort": 80,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80},
            {"IpProtocol": "-1", "FromPort": 1, "ToPort": 2,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            {"IpProtocol": "bogus", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        ]
        for rule in bad_rules:
            def extra(s, rule=rule):
                self.extra(s)
                s["security_groups"][0]["IpPermissions"] = [rule]
            run_seeded(self, extra, None)

        def no_group(s):
            self.extra(s)
            s["instances"][0]["SecurityGroups"] = ["sg-0ccccccccccccccc1"]
        run_seeded(self, no_group, None)

        def uefi_on_bios(s):
            self.extra(s)
            s["instances"][0]["BootMode"] = "legacy-bios"
        run_seeded(self, uefi_on_bios, None)


class Libcurl(EmulatorTest):
    """The orchestrator signs with libcurl's CURLOPT_AWS_SIGV4; the curl
    tool uses the same code, so it shows what the emulator makes of it."""

    def curl(self, *args):
        if shutil.which("curl") is None:
            self.skipTest("no curl")
        r = subprocess.run(
            ["curl", "-sS", "--aws-sigv4", "aws:amz:us-east-1:ec2",
             "--user", f"{AKID_A}:{SECRET_A}", "-w", "\\n%{http_code}",
             *args], capture_output=True, text=True, timeout=10)
        body, _, code = r.stdout.rpartition("\n")
        return int(code), body

    def test_post_form(self):
        code, body = self.curl(
            "--data", "Action=DescribeInstances&Version=2016-11-15"
            "&Filter.1.Name=tag%3AName&Filter.1.Value.1=web", self.emu.url)
        self.assertEqual(code, 200, body)
        self.assertIn(f"<instanceId>{INSTANCE}</instanceId>", body)

    def test_get_sorted_query(self):
        code, body = self.curl(
            f"{self.emu.url}/?Action=DescribeVolumes&Version=2016-11-15")
        self.assertEqual(code, 200, body)


class Pagination(EmulatorTest):
    ARGS = ("--page-size", "2")

    def test_pages_of_two(self):
        ec2 = self.emu.client()
        seen, token, pages = [], None, 0
        while True:
            kw = {"NextToken": token} if token else {}
            r = ec2.describe_volumes(**kw)
            self.assertLessEqual(len(r["Volumes"]), 2)
            seen += [v["VolumeId"] for v in r["Volumes"]]
            pages += 1
            token = r.get("NextToken")
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(sorted(seen), [f"vol-0000000000000000{i}"
                                        for i in range(1, 6)])
        # botocore's paginator agrees, and MaxResults is honoured.
        pager = ec2.get_paginator("describe_volumes")
        got = [len(p["Volumes"]) for p in pager.paginate(
            PaginationConfig={"PageSize": 5})]
        self.assertEqual(got, [5])

    def test_token_bound_to_request(self):
        ec2 = self.emu.client()
        token = ec2.describe_volumes()["NextToken"]
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            ec2.describe_volumes(NextToken=token, Filters=[
                {"Name": "status", "Values": ["in-use"]}])
        self.assertEqual(error_code(cm.exception), "InvalidParameterValue")


class Latencies(EmulatorTest):
    ARGS = ("--snapshot-latency", "0.5", "--volume-latency", "0.2")

    def test_snapshot_pending_then_completed(self):
        ec2 = self.emu.client()
        snaps = ec2.create_snapshots(InstanceSpecification={
            "InstanceId": INSTANCE, "ExcludeBootVolume": True})["Snapshots"]
        self.assertEqual(len(snaps), 1)
        sid = snaps[0]["SnapshotId"]
        self.assertEqual(snaps[0]["State"], "pending")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            ec2.create_volume(SnapshotId=sid, AvailabilityZone="us-east-1a")
        self.assertEqual(error_code(cm.exception), "IncorrectState")
        time.sleep(0.6)
        s = ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
        self.assertEqual((s["State"], s["Progress"]), ("completed", "100%"))
        vol = ec2.create_volume(SnapshotId=sid, AvailabilityZone="us-east-1a")
        self.assertEqual(vol["State"], "creating")
        ec2.get_waiter("volume_available").wait(
            VolumeIds=[vol["VolumeId"]],
            WaiterConfig={"Delay": 0.1, "MaxAttempts": 20})

    def test_cross_account_create_volume(self):
        a = self.emu.client()
        b = self.emu.client(AKID_B, SECRET_B, TOKEN_B)
        sid = a.create_snapshots(InstanceSpecification={
            "InstanceId": INSTANCE, "ExcludeBootVolume": True})[
            "Snapshots"][0]["SnapshotId"]
        time.sleep(0.6)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            b.create_volume(SnapshotId=sid, AvailabilityZone="us-east-1a")
        self.assertEqual(error_code(cm.exception), "InvalidSnapshot.NotFound")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            b.modify_snapshot_attribute(
                SnapshotId=sid, Attribute="createVolumePermission",
                CreateVolumePermission={"Add": [{"UserId": ACCT_B}]})
        self.assertEqual(error_code(cm.exception), "InvalidSnapshot.NotFound")
        a.modify_snapshot_attribute(
            SnapshotId=sid, Attribute="createVolumePermission",
            CreateVolumePermission={"Add": [{"UserId": ACCT_B}]})
        vol = b.create_volume(SnapshotId=sid, AvailabilityZone="us-east-1a")
        self.assertEqual(vol["SnapshotId"], sid)
        self.assertEqual([s["SnapshotId"] for s in b.describe_snapshots(
            RestorableByUserIds=["self"], OwnerIds=[ACCT_A])["Snapshots"]],
            [sid])
        _, state = self.emu.control("GET", "/_fake/state")
        owners = {v["VolumeId"]: v["account"] for v in state["volumes"]}
        self.assertEqual(owners[vol["VolumeId"]], ACCT_B)


class SnapshotTiming(EmulatorTest):
    """Incremental snapshots: the first copies the used bytes, a later one
    what the guest wrote since the previous completed one, nothing written
    while stopped.  Emulated: 1024 MiB/s copies, 64 MiB/s writes, 20
    emulated seconds a real one."""
    WRITE, COPY, SCALE = 64, 1024, 20
    ARGS = ("--write-rate", str(WRITE), "--snapshot-rate", str(COPY),
            "--time-scale", str(SCALE))

    def snap(self, ec2):
        sid = ec2.create_snapshots(InstanceSpecification={
            "InstanceId": INSTANCE, "ExcludeBootVolume": True})[
            "Snapshots"][0]["SnapshotId"]
        _, state = self.emu.control("GET", "/_fake/state")
        return [s for s in state["snapshots"] if s["SnapshotId"] == sid][0]

    def wait(self, ec2, sid):
        ec2.get_waiter("snapshot_completed").wait(
            SnapshotIds=[sid], WaiterConfig={"Delay": 0.05,
                                             "MaxAttempts": 100})

    def test_first_slow_delta_fast(self):
        ec2 = self.emu.client()
        used = 10 * 1024 ** 3   # vol-00000000000000002: 10 GiB
        first = self.snap(ec2)
        self.assertEqual(first["delta"], used)
        self.assertAlmostEqual(first["duration"],
                               used / (self.COPY * 2 ** 20 * self.SCALE))
        time.sleep(first["duration"] / 2)
        s = ec2.describe_snapshots(SnapshotIds=[first["SnapshotId"]])[
            "Snapshots"][0]
        self.assertEqual(s["State"], "pending")
        self.assertRegex(s["Progress"], r"^[1-9][0-9]?%$")
        self.wait(ec2, first["SnapshotId"])
        time.sleep(0.3)
        # Running: the delta is what was written since the first started.
        second = self.snap(ec2)
        wrote = self.WRITE * 2 ** 20 * self.SCALE * (
            second["StartTime"] - first["StartTime"])
        self.assertAlmostEqual(second["delta"], wrote, delta=wrote * 0.05)
        self.assertLess(second["delta"], used)
        self.wait(ec2, second["SnapshotId"])
        ec2.stop_instances(InstanceIds=[INSTANCE])
        stopped = time.time()
        third = self.snap(ec2)
        wrote = self.WRITE * 2 ** 20 * self.SCALE * (
            stopped - second["StartTime"])
        self.assertLessEqual(third["delta"], wrote)
        self.assertLess(third["duration"], first["duration"] / 2)
        self.wait(ec2, third["SnapshotId"])
        time.sleep(0.2)
        # Stopped: nothing written since.
        self.assertEqual(self.snap(ec2)["delta"], 0)


class ThrottleStorm(EmulatorTest):
    ARGS = ("--throttle-rate", "0.5", "--seed-random", "7")

    def test_storm(self):
        codes = [self.emu.raw({"Action": "DescribeAvailabilityZones",
                               "Version": "2016-11-15"})[0]
                 for _ in range(40)]
        self.assertTrue(10 < codes.count(503) < 30, codes)
        self.assertEqual(set(codes), {200, 503})


if __name__ == "__main__":
    unittest.main()
