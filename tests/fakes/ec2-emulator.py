#!/usr/bin/python3
"""A strict loopback emulator of the EC2 Query API (2016-11-15), for tests.

There is no EC2 on the machines that run these tests, so the orchestrator's
EC2 client is tested against this emulator.  It is strict on purpose:

  - every request must carry a valid AWS Signature Version 4, recomputed
    here with botocore's own signer from what was received;
  - every parameter is checked against botocore's EC2 service model (the
    operation must exist, names must be members of its input shape after
    EC2 query flattening, required members present, enums, integers and
    booleans valid);
  - replies are built from the operation's output shape, so element names
    are the ones a real EC2 sends and an SDK parses.

It keeps state (instances, volumes, snapshots, tags, snapshot permissions,
accounts) and plays the slow parts of EC2 (stop/start, snapshot progress,
volume creation) with configurable latencies.  See docs/testing-fakes.md for
what it does not check.

It needs Debian's python3-botocore, hence /usr/bin/python3 in the shebang:
another python3 earlier on PATH (pyenv) may carry a different botocore, or
none, and a different model would make different tests pass.
"""

import argparse
import base64
import datetime
import fnmatch
import hashlib
import hmac
import ipaddress
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.parse
import uuid
from xml.sax.saxutils import escape as xml_escape

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.loaders
import botocore.model

import fakeserver
from fakeserver import BodyError, DropConnection, FaultRuleError

API_VERSION = "2016-11-15"
XMLNS = f"http://ec2.amazonaws.com/doc/{API_VERSION}/"
MAX_BODY = 1024 * 1024
MIB = 1024 * 1024
GIB = 1024 * MIB
# AWS refuses a SigV4 request whose date is more than 15 minutes away from
# its own clock.
MAX_SKEW = 15 * 60
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"

SERVICE_MODEL = botocore.model.ServiceModel(
    botocore.loaders.Loader().load_service_model("ec2", "service-2",
                                                 API_VERSION), "ec2")


class Ec2Error(Exception):
    """A request that ends in an EC2 <Response><Errors> reply."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_value(message):
    return Ec2Error(400, "InvalidParameterValue", message)


def error_xml(code, message, request_id):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{xml_escape(code)}</Code>"
            f"<Message>{xml_escape(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>").encode()


def now():
    return time.time()


def iso(ts):
    # Milliseconds, as EC2 gives them: two calls in one second differ.
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


# --- request parameters: EC2 query flattening, against the model ------------

def serialized_name(shape, default):
    # As botocore's EC2Serializer: queryName, else the locationName with
    # its first letter capitalised, else the member name.
    if "queryName" in shape.serialization:
        return shape.serialization["queryName"]
    if "name" in shape.serialization:
        n = shape.serialization["name"]
        return n[0].upper() + n[1:]
    return default


_WIRE_NAMES = {}


def member_by_wire_name(shape):
    # Shape names are unique in a service model.
    names = _WIRE_NAMES.get(shape.name)
    if names is None:
        names = {serialized_name(m, n): (n, m)
                 for n, m in shape.members.items()}
        _WIRE_NAMES[shape.name] = names
    return names


def parse_scalar(shape, value, wire):
    t = shape.type_name
    if t in ("integer", "long"):
        if not re.fullmatch(r"-?\d+", value):
            raise bad_value(f"Invalid value '{value}' for {wire}. "
                            f"It should be an integer.")
        v = int(value)
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise bad_value(f"Value ({v}) for parameter {wire} is invalid.")
        return v
    if t == "boolean":
        if value.lower() not in ("true", "false"):
            raise bad_value(f"Invalid value '{value}' for {wire}. "
                            f"It should be true or false.")
        return value.lower() == "true"
    if t in ("float", "double"):
        try:
            return float(value)
        except ValueError:
            raise bad_value(f"Invalid value '{value}' for {wire}.")
    if t == "timestamp":
        try:
            return datetime.datetime.fromisoformat(
                value.replace("Z", "+00:00"))
        except ValueError:
            raise bad_value(f"Invalid value '{value}' for {wire}. "
                            f"It should be an ISO 8601 timestamp.")
    if t == "string":
        if shape.enum and value not in shape.enum:
            raise bad_value(f"Value ({value}) for parameter {wire} is "
                            f"invalid. Expected one of: "
                            f"{', '.join(shape.enum)}.")
        return value
    if t == "blob":
        return value
    raise bad_value(f"The parameter {wire} cannot be given in a query.")


def parse_params(shape, flat):
    """Turn EC2 query parameters (Name.N.Member=...) into the nested dict
    botocore would have serialised them from, keyed by member names."""
    tree = {}
    for key, value in flat.items():
        parts = key.split(".")
        node_shape, node, i = shape, tree, 0
        while True:
            if node_shape.type_name == "structure":
                names = member_by_wire_name(node_shape)
                if i >= len(parts) or parts[i] not in names:
                    raise Ec2Error(400, "UnknownParameter",
                                   f"The parameter {key} is not recognized")
                mname, mshape = names[parts[i]]
                i += 1
                if i == len(parts):
                    if mshape.type_name in ("structure", "list", "map"):
                        raise Ec2Error(400, "UnknownParameter",
                                       f"The parameter {key} is not "
                                       f"recognized")
                    node[mname] = parse_scalar(mshape, value, key)
                    break
                node = node.setdefault(mname, {})
                node_shape = mshape
            elif node_shape.type_name == "list":
                if not re.fullmatch(r"[1-9]\d*", parts[i]):
                    raise Ec2Error(400, "UnknownParameter",
                                   f"The parameter {key} is not recognized")
                idx = int(parts[i])
                i += 1
                eshape = node_shape.member
                if i == len(parts):
                    if eshape.type_name in ("structure", "list", "map"):
                        raise Ec2Error(400, "UnknownParameter",
                                       f"The parameter {key} is not "
                                       f"recognized")
                    node[idx] = parse_scalar(eshape, value, key)
                    break
                node = node.setdefault(idx, {})
                node_shape = eshape
            else:
                raise Ec2Error(400, "UnknownParameter",
                               f"The parameter {key} is not recognized")
    return finish(shape, tree, "")


def finish(shape, node, prefix):
    """Lists (dicts by index) to Python lists, in index order; check
    required members of every structure that is present."""
    if shape.type_name == "list":
        return [finish(shape.member, node[k], f"{prefix}.{k}")
                if isinstance(node[k], dict) else node[k]
                for k in sorted(node)]
    if shape.type_name == "structure":
        names = {n: serialized_name(m, n) for n, m in shape.members.items()}
        for req in shape.required_members:
            if req not in node:
                wire = f"{prefix}.{names[req]}" if prefix else names[req]
                raise Ec2Error(400, "MissingParameter",
                               f"The request must contain the parameter "
                               f"{wire}")
        out = {}
        for k, v in node.items():
            m = shape.members[k]
            wire = f"{prefix}.{names[k]}" if prefix else names[k]
            out[k] = finish(m, v, wire) if isinstance(v, dict) else v
        return out
    return node


# --- replies: the output shape as EC2 XML ----------------------------------

def xml_value(shape, value, path):
    t = shape.type_name
    if t == "structure":
        out = []
        for k, v in value.items():
            if v is None:
                continue
            if k not in shape.members:
                # The emulator's own bug: a reply field the model lacks.
                raise AssertionError(f"{path}.{k} is not in {shape.name}")
            m = shape.members[k]
            name = m.serialization.get("name", k)
            out.append(f"<{name}>{xml_value(m, v, path + '.' + k)}</{name}>")
        return "".join(out)
    if t == "list":
        name = shape.member.serialization.get("name", "member")
        return "".join(f"<{name}>{xml_value(shape.member, v, path)}</{name}>"
                       for v in value)
    if t == "boolean":
        return "true" if value else "false"
    if t == "timestamp":
        return iso(value)
    if t in ("integer", "long", "float", "double"):
        return str(value)
    if t == "string":
        if shape.enum and value not in shape.enum:
            raise AssertionError(f"{path}: {value!r} not in the enum")
        return xml_escape(str(value))
    if t == "blob":
        return base64.b64encode(value).decode()
    raise AssertionError(f"{path}: cannot serialise {t}")


def reply_xml(op, result, request_id):
    body = f"<requestId>{request_id}</requestId>"
    if op.output_shape is not None and op.output_shape.members:
        body += xml_value(op.output_shape, result, op.name)
    else:
        body += "<return>true</return>"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<{op.name}Response xmlns="{XMLNS}">{body}'
            f"</{op.name}Response>").encode()


# --- instance types ----------------------------------------------------------

# A small table; the orchestrator sizes the KubeVirt VM from it:
# name -> (vCPUs, MiB, instance store as (count, GB each) or None,
# threads per core, hypervisor).  The default cores are vCPUs / threads
# per core, as EC2 lists them (m5.large: 1 core of 2 threads; t2.medium
# and t2.large: 2 cores of 1 thread).
INSTANCE_TYPES = {
    "t3.micro": (2, 1024, None, 2, "nitro"),
    "c5.large": (2, 4096, None, 2, "nitro"),
    "m5.large": (2, 8192, None, 2, "nitro"),
    "r5.large": (2, 16384, None, 2, "nitro"),
    "m5.xlarge": (4, 16384, None, 2, "nitro"),
    # With local NVMe instance store, whose data a migration cannot carry.
    "m5d.large": (2, 8192, (1, 75), 2, "nitro"),
    "m5d.4xlarge": (16, 65536, (2, 300), 2, "nitro"),
    # One thread per core: Xen's t2 (this botocore's model has no m7a).
    "t2.medium": (2, 4096, None, 1, "xen"),
    "t2.large": (2, 8192, None, 1, "xen"),
}


def cpu_info(name):
    """EC2's VCpuInfo of an instance type: the defaults, and what
    CpuOptions may choose at launch (ValidCores, ValidThreadsPerCore)."""
    vcpus, _, _, threads, _ = INSTANCE_TYPES[name]
    cores = vcpus // threads
    return {"DefaultVCpus": vcpus, "DefaultCores": cores,
            "DefaultThreadsPerCore": threads,
            "ValidCores": list(range(1, cores + 1)),
            "ValidThreadsPerCore": [1, 2] if threads == 2 else [1]}


def cpu_options(itype, seed):
    """An instance's CpuOptions: the type's defaults, or what the seed
    launched it with, which must be one EC2 would have accepted."""
    info = cpu_info(itype)
    if seed is None:
        return {"CoreCount": info["DefaultCores"],
                "ThreadsPerCore": info["DefaultThreadsPerCore"]}
    if set(seed) - {"CoreCount", "ThreadsPerCore"}:
        raise ValueError(f"CpuOptions {seed!r}: only CoreCount and "
                         f"ThreadsPerCore")
    out = {"CoreCount": int(seed.get("CoreCount", info["DefaultCores"])),
           "ThreadsPerCore": int(seed.get("ThreadsPerCore",
                                          info["DefaultThreadsPerCore"]))}
    if out["CoreCount"] not in info["ValidCores"] or \
            out["ThreadsPerCore"] not in info["ValidThreadsPerCore"]:
        raise ValueError(f"CpuOptions {seed!r} are not valid for {itype} "
                         f"(cores {info['ValidCores']}, threads per core "
                         f"{info['ValidThreadsPerCore']})")
    return out


def instance_type_info(name):
    vcpus, mib, store, _, hypervisor = INSTANCE_TYPES[name]
    info = {
        "InstanceType": name,
        "CurrentGeneration": True,
        "SupportedRootDeviceTypes": ["ebs"],
        "SupportedVirtualizationTypes": ["hvm"],
        "Hypervisor": hypervisor,
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
        "VCpuInfo": cpu_info(name),
        "MemoryInfo": {"SizeInMiB": mib},
        "InstanceStorageSupported": store is not None,
        "EbsInfo": {"EbsOptimizedSupport": "default",
                    "EncryptionSupport": "supported",
                    "NvmeSupport": "required"},
        "NetworkInfo": {"EnaSupport": "required"},
        "SupportedBootModes": ["legacy-bios", "uefi"],
    }
    if store is not None:
        count, size = store
        info["InstanceStorageInfo"] = {
            "TotalSizeInGB": count * size,
            "Disks": [{"SizeInGB": size, "Count": count, "Type": "ssd"}],
            "NvmeSupport": "required",
            "EncryptionSupport": "required"}
    return info


STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32,
               "terminated": 48, "stopping": 64, "stopped": 80}

ID_PATTERNS = {
    "i": re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$"),
    "vol": re.compile(r"^vol-([0-9a-f]{8}|[0-9a-f]{17})$"),
    "snap": re.compile(r"^snap-([0-9a-f]{8}|[0-9a-f]{17})$"),
}
MALFORMED = {"i": "InvalidInstanceID.Malformed",
             "vol": "InvalidVolumeID.Malformed",
             "snap": "InvalidSnapshotID.Malformed"}


def check_id(kind, rid):
    if not ID_PATTERNS[kind].match(rid):
        raise Ec2Error(400, MALFORMED[kind], f'Invalid id: "{rid}"')


def new_id(kind):
    return f"{kind}-{uuid.uuid4().hex[:17]}"


# --- security groups and subnets (seeded; read only) ------------------------

# EC2 answers the protocol numbers it has names for with the names.
PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
GROUP_ID = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")
SUBNET_ID = re.compile(r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")


def seed_permission(where, perm):
    """One IpPermission of a seed, checked as AuthorizeSecurityGroup*
    would: a protocol, ports as it requires, at least one peer."""
    known = {"IpProtocol", "FromPort", "ToPort", "IpRanges", "Ipv6Ranges",
             "UserIdGroupPairs", "PrefixListIds"}
    if set(perm) - known:
        raise ValueError(f"{where}: unknown fields {set(perm) - known}")
    proto = str(perm["IpProtocol"]).lower()
    proto = PROTOCOL_NAMES.get(proto, proto)
    if proto not in ("tcp", "udp", "icmp", "icmpv6", "-1") and not (
            proto.isdigit() and 0 <= int(proto) <= 255):
        raise ValueError(f"{where}: IpProtocol {proto!r}")
    out = {"IpProtocol": proto}
    if proto in ("tcp", "udp"):
        lo, hi = int(perm["FromPort"]), int(perm["ToPort"])
        if not 0 <= lo <= hi <= 65535:
            raise ValueError(f"{where}: ports {lo}-{hi}")
        out["FromPort"], out["ToPort"] = lo, hi
    elif proto in ("icmp", "icmpv6"):
        # The ICMP type and code; -1 is any.
        lo, hi = int(perm.get("FromPort", -1)), int(perm.get("ToPort", -1))
        if not (-1 <= lo <= 255 and -1 <= hi <= 255):
            raise ValueError(f"{where}: ICMP type {lo} code {hi}")
        out["FromPort"], out["ToPort"] = lo, hi
    elif "FromPort" in perm or "ToPort" in perm:
        raise ValueError(f"{where}: protocol {proto} takes no ports")
    peers = 0
    for r in perm.get("IpRanges", []):
        ipaddress.IPv4Network(r["CidrIp"])
        peers += 1
    for r in perm.get("Ipv6Ranges", []):
        ipaddress.IPv6Network(r["CidrIpv6"])
        peers += 1
    for r in perm.get("UserIdGroupPairs", []):
        if not GROUP_ID.match(r.get("GroupId", "")):
            raise ValueError(f"{where}: group pair {r!r}")
        peers += 1
    for r in perm.get("PrefixListIds", []):
        if not re.fullmatch(r"pl-[0-9a-f]{8,17}", r.get("PrefixListId", "")):
            raise ValueError(f"{where}: prefix list {r!r}")
        peers += 1
    if peers == 0:
        raise ValueError(f"{where}: a rule needs a source or destination")
    for k in ("IpRanges", "Ipv6Ranges", "UserIdGroupPairs", "PrefixListIds"):
        out[k] = [dict(r) for r in perm.get(k, [])]
    return out


def seed_security_group(g):
    gid = g["GroupId"]
    if not GROUP_ID.match(gid):
        raise ValueError(f"security group id {gid!r}")
    grp = {"GroupId": gid, "GroupName": g["GroupName"],
           "Description": g.get("Description", g["GroupName"]),
           "VpcId": g.get("VpcId", "vpc-0abc"), "OwnerId": g["Account"],
           "_account": g["Account"], "_tags": dict(g.get("Tags", {}))}
    grp["IpPermissions"] = [seed_permission(f"{gid} inbound {i}", p)
                            for i, p in enumerate(g.get("IpPermissions", []))]
    # A new group allows all outbound traffic, as EC2 makes one.
    egress = g.get("IpPermissionsEgress",
                   [{"IpProtocol": "-1",
                     "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    grp["IpPermissionsEgress"] = [seed_permission(f"{gid} outbound {i}", p)
                                  for i, p in enumerate(egress)]
    return grp


def seed_uefi_data(s):
    """The seed's UefiData: base64, of a UEFI instance only (EC2 keeps a
    variable store for those alone)."""
    data = s.get("UefiData")
    if data is None:
        return None
    if s.get("BootMode") != "uefi":
        raise ValueError(f"instance {s['InstanceId']}: UefiData without "
                         f"BootMode uefi")
    base64.b64decode(data, validate=True)
    return data


def seed_subnet(sn):
    sid = sn["SubnetId"]
    if not SUBNET_ID.match(sid):
        raise ValueError(f"subnet id {sid!r}")
    net = ipaddress.IPv4Network(sn["CidrBlock"])
    return {"SubnetId": sid, "VpcId": sn.get("VpcId", "vpc-0abc"),
            "CidrBlock": str(net),
            "AvailabilityZone": sn["AvailabilityZone"],
            "AvailableIpAddressCount": net.num_addresses - 5,
            "DefaultForAz": False, "MapPublicIpOnLaunch": False,
            "State": "available", "OwnerId": sn["Account"],
            "_account": sn["Account"], "_tags": dict(sn.get("Tags", {}))}


# --- state -------------------------------------------------------------------

class Account:
    def __init__(self, spec):
        parts = spec.split(":")
        if len(parts) not in (3, 4) or not re.fullmatch(r"\d{12}", parts[0]):
            raise SystemExit(f"ec2-emulator.py: --credentials {spec!r}: "
                             "want ACCOUNT:AKID:SECRET[:SESSION_TOKEN] with "
                             "a 12-digit account")
        self.account, self.akid, self.secret = parts[:3]
        self.token = parts[3] if len(parts) == 4 else None


class State(fakeserver.FakeState):
    """Everything the emulator knows, behind one lock."""

    FAULT_KEYS = frozenset({"action", "account", "times", "code", "status",
                            "delay", "drop", "message", "after"})

    def __init__(self, args):
        super().__init__(args)
        self.by_akid = {}
        for spec in args.credentials:
            a = Account(spec)
            self.by_akid[a.akid] = a
        self.seed = {"instances": [], "volumes": []}
        if args.seed:
            with open(args.seed, encoding="utf-8") as f:
                self.seed = json.load(f)
        self.initial_faults = self.load_fault_file()
        self.reset()

    def check_fault_rule(self, i, r):
        if r.get("action") and r["action"] not in \
                SERVICE_MODEL.operation_names:
            raise FaultRuleError(f"fault rule {i}: no EC2 action "
                                 f"{r['action']!r}")
        if r.get("after") and r.get("status") is None and \
                r.get("code") is None and not r.get("drop"):
            raise FaultRuleError(f"fault rule {i}: after needs status, code "
                                 f"or drop (the answer that is lost)")

    def reset(self):
        self.requests = []
        self.faults = [dict(r) for r in self.initial_faults]
        self.counts_action = {}
        self.counts_account = {}
        self.rng = random.Random(self.args.seed_random)
        for d in ("volumes", "snapshots"):
            for r in getattr(self, d, {}).values():
                self.remove_file(r)
        self.instances, self.volumes, self.snapshots = {}, {}, {}
        self.groups, self.subnets = {}, {}
        self.tokens = {}
        try:
            self.load_seed()
        except (KeyError, TypeError, ValueError) as e:
            raise SystemExit(f"ec2-emulator.py: --seed: bad entry: {e!r}")

    def load_seed(self):
        t = now()
        for sn in self.seed.get("subnets", []):
            sub = seed_subnet(sn)
            self.subnets[sub["SubnetId"]] = sub
        for g in self.seed.get("security_groups", []):
            grp = seed_security_group(g)
            self.groups[grp["GroupId"]] = grp
        for v in self.seed.get("volumes", []):
            check_id("vol", v["VolumeId"])
            vt = v.get("VolumeType", "gp3")
            vol = {
                "VolumeId": v["VolumeId"], "Size": int(v["Size"]),
                "VolumeType": vt, "AvailabilityZone": v["AvailabilityZone"],
                "Encrypted": bool(v.get("Encrypted", False)),
                "KmsKeyId": v.get("KmsKeyId"), "State": "available",
                "CreateTime": t, "Attachments": [],
                "Iops": v.get("Iops", 3000 if vt == "gp3" else None),
                "Throughput": v.get("Throughput",
                                    125 if vt == "gp3" else None),
                "SnapshotId": v.get("SnapshotId"),
                "MultiAttachEnabled": False,
                "_account": v["Account"], "_tags": dict(v.get("Tags", {})),
                "_file": v.get("File"), "_own_file": False,
                # The snapshot model: the bytes a first snapshot copies
                # (EBS copies only written blocks), and the bytes the
                # guest wrote in all (emulated, see vol_written).
                "_used": int(float(v.get("UsedGiB", v["Size"])) * GIB),
                "_written": 0.0,
            }
            self.volumes[vol["VolumeId"]] = vol
        for s in self.seed.get("instances", []):
            check_id("i", s["InstanceId"])
            if s["InstanceType"] not in INSTANCE_TYPES:
                raise ValueError(f"instance type {s['InstanceType']} is not "
                                 f"in the emulator's table")
            bdm = []
            for b in s.get("BlockDeviceMappings", []):
                vol = self.volumes[b["VolumeId"]]
                att = {"AttachTime": t, "Device": b["DeviceName"],
                       "InstanceId": s["InstanceId"], "State": "attached",
                       "VolumeId": b["VolumeId"],
                       "DeleteOnTermination":
                           b.get("DeleteOnTermination", True)}
                vol["Attachments"] = [att]
                vol["State"] = "in-use"
                bdm.append({"DeviceName": b["DeviceName"],
                            "Ebs": {"VolumeId": b["VolumeId"],
                                    "Status": "attached", "AttachTime": t,
                                    "DeleteOnTermination":
                                        att["DeleteOnTermination"]}})
            enis = []
            for i, n in enumerate(s.get("NetworkInterfaces", [])):
                enis.append({
                    "NetworkInterfaceId": n.get("NetworkInterfaceId",
                                                new_id("eni")),
                    "MacAddress": n["MacAddress"],
                    "SubnetId": n.get("SubnetId"), "VpcId": n.get("VpcId"),
                    "PrivateIpAddress": n.get("PrivateIpAddress"),
                    "OwnerId": s["Account"], "Status": "in-use",
                    "InterfaceType": "interface",
                    "Attachment": {"DeviceIndex": n.get("DeviceIndex", i),
                                   "Status": "attached",
                                   "AttachTime": t,
                                   "DeleteOnTermination": True,
                                   "AttachmentId": new_id("eni-attach")}})
            groups = []
            for gid in s.get("SecurityGroups", []):
                grp = self.groups.get(gid)
                if grp is None or grp["_account"] != s["Account"]:
                    raise ValueError(f"instance {s['InstanceId']}: no "
                                     f"security group {gid} in its account")
                groups.append({"GroupId": gid,
                               "GroupName": grp["GroupName"]})
            for e in enis:
                e["Groups"] = groups
            first = enis[0] if enis else {}
            inst = {
                "InstanceId": s["InstanceId"],
                "ImageId": s.get("ImageId", "ami-0123456789abcdef0"),
                "InstanceType": s["InstanceType"],
                "LaunchTime": t,
                "Placement": {"AvailabilityZone": s["AvailabilityZone"],
                              "Tenancy": "default"},
                "Platform": s.get("Platform"),
                "PlatformDetails": s.get("PlatformDetails",
                                         "Windows" if s.get("Platform")
                                         else "Linux/UNIX"),
                "PrivateIpAddress": first.get("PrivateIpAddress"),
                "SubnetId": first.get("SubnetId"),
                "VpcId": first.get("VpcId"),
                "Architecture": s.get("Architecture", "x86_64"),
                "BlockDeviceMappings": bdm,
                "EbsOptimized": True, "EnaSupport": True,
                "Hypervisor": "xen", "NetworkInterfaces": enis,
                "RootDeviceName": s.get("RootDeviceName", "/dev/xvda"),
                "RootDeviceType": "ebs",
                "VirtualizationType": "hvm",
                "BootMode": s.get("BootMode", "legacy-bios"),
                "CpuOptions": cpu_options(s["InstanceType"],
                                          s.get("CpuOptions")),
                "SecurityGroups": groups,
                "State": {"Name": s.get("State", "running")},
                "_account": s["Account"], "_tags": dict(s.get("Tags", {})),
                "_userdata": s.get("UserData"),
                "_uefi_data": seed_uefi_data(s),
                "_instance_store": s.get("InstanceStore", []),
                "_reservation": "r-" + uuid.uuid4().hex[:17],
                # Since when the guest writes to its volumes (running).
                "_run_since": t if s.get("State", "running") == "running"
                else None,
            }
            # Terminated instances stay listed for about an hour, with
            # no volumes or network interfaces left.
            if inst["State"]["Name"] not in ("running", "stopped",
                                             "terminated", "shutting-down"):
                raise ValueError("seed instances are running, stopped, "
                                 "shutting-down or terminated")
            if inst["State"]["Name"] == "terminated" and (bdm or enis):
                raise ValueError("a terminated instance has no volumes or "
                                 "network interfaces")
            self.instances[inst["InstanceId"]] = inst

    # Time passes only when someone looks: every request first moves the
    # resources whose transition is due.
    def tick(self):
        t = now()
        for inst in self.instances.values():
            due = inst.get("_due")
            if due is not None and t >= due[0]:
                inst["State"] = {"Name": due[1]}
                if due[1] == "running":
                    inst["_run_since"] = due[0]
                del inst["_due"]
        for snap in self.snapshots.values():
            if snap["State"] == "pending":
                lat = snap["_duration"]
                done = 1.0 if lat <= 0 else (t - snap["StartTime"]) / lat
                if done >= 1.0:
                    snap["State"] = "completed"
                    snap["Progress"] = "100%"
                else:
                    snap["Progress"] = f"{int(done * 100)}%"
        for vol in self.volumes.values():
            due = vol.get("_due")
            if due is not None and t >= due:
                vol["State"] = "available"
                del vol["_due"]

    # The snapshot timing model.  EBS snapshots are incremental: a
    # volume's first snapshot copies every written block, a later one only
    # the blocks changed since the volume's previous snapshot.  Here the
    # guest writes --write-rate MiB/s to each volume while its instance
    # runs (none while it is stopped), and a snapshot copies
    # --snapshot-rate MiB/s, both in emulated seconds (--time-scale of them
    # pass each real second): a snapshot taken while the instance runs is
    # slow, the delta after it stopped is fast.

    def vol_written(self, vol, t):
        """Emulated bytes written to VOL from its seeding until T."""
        w = vol["_written"]
        for a in vol["Attachments"]:
            inst = self.instances.get(a["InstanceId"])
            if inst and inst.get("_run_since") is not None:
                w += self.args.write_rate * MIB * self.args.time_scale * \
                    max(0.0, t - inst["_run_since"])
        return w

    def instance_stops(self, inst, t):
        """INST leaves running at T: its guest writes no more."""
        if inst.get("_run_since") is None:
            return
        for b in inst["BlockDeviceMappings"]:
            vol = self.volumes.get(b["Ebs"]["VolumeId"])
            if vol:
                vol["_written"] = self.vol_written(vol, t)
        inst["_run_since"] = None

    def snapshot_timing(self, vol, t):
        """(bytes to copy, real seconds) of a snapshot of VOL taken at T:
        the bytes written since the volume's latest completed snapshot,
        or the used bytes for its first."""
        mark = self.vol_written(vol, t)
        prev = [s for s in self.snapshots.values()
                if s["VolumeId"] == vol["VolumeId"] and
                s["State"] == "completed" and "_mark" in s]
        if prev:
            last = max(prev, key=lambda s: s["StartTime"])
            delta = min(vol["_used"], mark - last["_mark"])
        else:
            delta = vol["_used"]
        secs = self.args.snapshot_latency
        if self.args.snapshot_rate > 0:
            secs += delta / (self.args.snapshot_rate * MIB *
                             self.args.time_scale)
        return mark, int(delta), secs

    def remove_file(self, res):
        if res.get("_own_file") and res.get("_file"):
            try:
                os.unlink(res["_file"])
            except OSError:
                pass

    def copy_file(self, src, rid):
        if not self.args.backing_dir or not src:
            return None
        dst = os.path.join(self.args.backing_dir, f"{rid}.img")
        tmp = dst + ".tmp"
        # argv, never a shell: the paths come from the seed.
        r = subprocess.run(["cp", "--sparse=always", "--", src, tmp],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise Ec2Error(500, "InternalError",
                           f"backing file copy failed: "
                           f"{r.stderr.decode(errors='replace').strip()}")
        os.rename(tmp, dst)
        return dst

    def counted(self, entry):
        a = entry.get("action") or "-"
        self.counts_action[a] = self.counts_action.get(a, 0) + 1
        acct = entry.get("account") or "-"
        self.counts_account[acct] = self.counts_account.get(acct, 0) + 1

    def take_fault(self, action, account):
        """The fault rule for ACTION by ACCOUNT, else a --throttle-rate
        draw, else None."""
        def matches(rule):
            return (not rule.get("action") or rule["action"] == action) and \
                (not rule.get("account") or rule["account"] == account)

        def throttle():
            if self.args.throttle_rate > 0 and \
                    self.rng.random() < self.args.throttle_rate:
                return {"code": "RequestLimitExceeded", "status": 503,
                        "throttle_rate": self.args.throttle_rate}
            return None
        return super().take_fault(matches, throttle)

    def public(self):
        def strip(d):
            return {k.lstrip("_"): v for k, v in d.items()}
        return {"instances": [strip(i) for i in self.instances.values()],
                "volumes": [strip(v) for v in self.volumes.values()],
                "security_groups": [strip(g) for g in self.groups.values()],
                "subnets": [strip(n) for n in self.subnets.values()],
                "snapshots": [strip(s) for s in self.snapshots.values()]}


# --- SigV4 -------------------------------------------------------------------

AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),"
    r"\s*Signature=([0-9a-f]{64})$")


def verify_sigv4(state, method, path, query_pairs, headers, body):
    """Return the Account that signed the request, or raise Ec2Error."""
    auth = headers.get("Authorization")
    if auth is None:
        raise Ec2Error(401, "AuthFailure",
                       "AWS was not able to validate the provided access "
                       "credentials")
    m = AUTH_RE.match(auth.strip())
    if not m:
        raise Ec2Error(403, "IncompleteSignature",
                       f"Authorization header requires 'Credential', "
                       f"'Signature' and 'SignedHeaders' parameters with "
                       f"algorithm AWS4-HMAC-SHA256. Authorization={auth}")
    credential, signed, signature = m.groups()
    cparts = credential.split("/")
    if len(cparts) != 5 or cparts[4] != "aws4_request":
        raise Ec2Error(403, "IncompleteSignature",
                       f"Credential must have exactly 5 slash-delimited "
                       f"elements, e.g. keyid/date/region/service/term, "
                       f"got '{credential}'")
    akid, cdate, region, service, _ = cparts
    acct = state.by_akid.get(akid)
    if acct is None:
        raise Ec2Error(401, "AuthFailure",
                       "AWS was not able to validate the provided access "
                       "credentials")
    if service != "ec2":
        raise Ec2Error(403, "SignatureDoesNotMatch",
                       "Credential should be scoped to correct service: "
                       "'ec2'.")
    if region not in state.args.region:
        raise Ec2Error(403, "SignatureDoesNotMatch",
                       f"Credential should be scoped to a valid region, "
                       f"not '{region}'. ")
    signed_names = signed.split(";")
    if signed_names != sorted(signed_names) or \
            "host" not in signed_names or "x-amz-date" not in signed_names:
        raise Ec2Error(403, "IncompleteSignature",
                       "'Host' and 'X-Amz-Date' must be SignedHeaders, "
                       "sorted and lower case")
    amz_date = headers.get("X-Amz-Date", "")
    try:
        ts = datetime.datetime.strptime(amz_date, SIGV4_TIMESTAMP).replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        raise Ec2Error(403, "IncompleteSignature",
                       f"X-Amz-Date '{amz_date}' is not in the form "
                       f"YYYYMMDD'T'HHMMSS'Z'")
    if abs(now() - ts) > MAX_SKEW:
        raise Ec2Error(400, "RequestExpired",
                       f"Request has expired. Timestamp date is {amz_date}")
    if cdate != amz_date[:8]:
        raise Ec2Error(403, "SignatureDoesNotMatch",
                       f"Date in Credential scope does not match YYYYMMDD "
                       f"from X-Amz-Date: {cdate}")
    sent_token = headers.get("X-Amz-Security-Token")
    if acct.token is not None or sent_token is not None:
        if sent_token is None or acct.token is None or \
                not hmac.compare_digest(sent_token, acct.token):
            raise Ec2Error(403, "InvalidClientTokenId",
                           "The security token included in the request is "
                           "invalid")
        if "x-amz-security-token" not in signed_names:
            raise Ec2Error(403, "IncompleteSignature",
                           "X-Amz-Security-Token must be a SignedHeader")

    # Rebuild the request from what was received, with only the headers
    # the client says it signed, and let botocore compute the signature.
    hdrs = botocore.awsrequest.HTTPHeaders()
    for name in signed_names:
        values = headers.get_all(name)
        if not values:
            raise Ec2Error(403, "SignatureDoesNotMatch",
                           f"The request signature we calculated does not "
                           f"match the signature you provided: the signed "
                           f"header {name} is missing")
        for v in values:
            hdrs[name] = v
    host = headers.get("Host", "localhost")
    req = botocore.awsrequest.AWSRequest(
        method=method, url=f"http://{host}{path}", headers=hdrs, data=body)
    # The canonical query string is built from the decoded parameters, as
    # AWS does, not from the bytes received.
    req.params = query_pairs
    req.context["timestamp"] = amz_date
    creds = botocore.credentials.Credentials(acct.akid, acct.secret,
                                             acct.token)
    signer = botocore.auth.SigV4Auth(creds, "ec2", region)
    canonical = signer.canonical_request(req)
    expected = signer.signature(signer.string_to_sign(req, canonical), req)
    if not hmac.compare_digest(expected, signature):
        raise Ec2Error(403, "SignatureDoesNotMatch",
                       "The request signature we calculated does not match "
                       "the signature you provided. Check your AWS Secret "
                       "Access Key and signing method. Consult the service "
                       "documentation for details.")
    return acct, region


# --- actions -----------------------------------------------------------------

def tags_out(tags):
    return [{"Key": k, "Value": v} for k, v in tags.items()] or None


def public_fields(res):
    return {k: v for k, v in res.items() if not k.startswith("_")}


def region_of(az):
    return az[:-1]


FILTERS = {
    "DescribeInstances": {"instance-id", "instance-state-name",
                          "availability-zone", "tag-key", "instance-type",
                          "vpc-id", "subnet-id", "instance.group-id",
                          "instance.group-name", "boot-mode"},
    "DescribeVolumes": {"volume-id", "status", "availability-zone",
                        "tag-key", "snapshot-id", "attachment.instance-id",
                        "volume-type", "encrypted"},
    "DescribeSnapshots": {"snapshot-id", "status", "volume-id", "owner-id",
                          "tag-key"},
    "DescribeInstanceTypes": {"instance-type", "vcpu-info.default-vcpus",
                              "vcpu-info.default-threads-per-core",
                              "memory-info.size-in-mib", "hypervisor"},
    "DescribeSubnets": {"subnet-id", "vpc-id", "availability-zone", "state",
                        "cidr-block", "default-for-az", "owner-id",
                        "tag-key"},
    "DescribeSecurityGroups": {"group-id", "group-name", "vpc-id",
                               "owner-id", "description", "tag-key",
                               "ip-permission.protocol",
                               "ip-permission.from-port",
                               "ip-permission.to-port",
                               "ip-permission.cidr",
                               "ip-permission.group-id",
                               "egress.ip-permission.cidr"},
    "DescribeImages": {"image-id", "owner-id", "state"},
    "DescribeAvailabilityZones": {"zone-name", "region-name", "state"},
}


def filter_values(action, filters, fields):
    """Does a resource whose filterable fields are FIELDS (name -> value or
    list of values; tags under "tags") pass the Filter.N list?"""
    for f in filters:
        name = f.get("Name")
        values = f.get("Values", [])
        if name is None:
            raise Ec2Error(400, "MissingParameter",
                           "The request must contain the parameter "
                           "Filter.Name")
        if name.startswith("tag:"):
            v = fields["tags"].get(name[4:])
            have = [] if v is None else [v]
        elif name in FILTERS[action]:
            have = fields.get(name)
            if name == "tag-key":
                have = list(fields["tags"])
            have = have if isinstance(have, list) else [have]
        else:
            raise bad_value(f"The filter '{name}' is invalid")
        if not any(fnmatch.fnmatchcase(str(h), str(w))
                   for h in have if h is not None for w in values):
            return False
    return True


def check_filters(action, filters):
    for f in filters or []:
        name = f.get("Name", "")
        if not name.startswith("tag:") and name not in FILTERS[action]:
            raise bad_value(f"The filter '{name}' is invalid")


def paginate(state, action, p, items, account, max_floor=5, max_ceil=1000,
             cut=False):
    """Cut ITEMS into a page from NextToken/MaxResults (or --page-size).
    MaxResults outside MAX_FLOOR..MAX_CEIL is refused, or, if CUT (as EC2
    documents for DescribeVolumes and DescribeSnapshots), a larger one
    gives MAX_CEIL."""
    mr = p.get("MaxResults")
    if mr is not None and cut and mr > max_ceil:
        mr = max_ceil
    if mr is not None and not max_floor <= mr <= max_ceil:
        raise bad_value(f"Value ( {mr} ) for parameter maxResults is "
                        f"invalid. Expecting a value between {max_floor} "
                        f"and {max_ceil}.")
    size = mr if mr is not None else (state.args.page_size or None)
    # The token binds the page to the same request, less its paging
    # parameters: a client that changes filters between pages is caught.
    key = {k: v for k, v in p.items() if k not in ("MaxResults",
                                                   "NextToken", "DryRun")}
    digest = hashlib.sha256(json.dumps([action, account, key],
                                       sort_keys=True, default=str)
                            .encode()).hexdigest()[:16]
    start = 0
    tok = p.get("NextToken")
    if tok is not None:
        try:
            d, s = base64.urlsafe_b64decode(tok.encode()).decode().split(":")
            start = int(s)
        except (ValueError, UnicodeDecodeError):
            raise bad_value("Invalid value for NextToken")
        if d != digest:
            raise bad_value("The NextToken does not belong to this request "
                            "(its parameters changed)")
    if size is None:
        return items[start:], None
    page = items[start:start + size]
    nxt = None
    if start + size < len(items):
        nxt = base64.urlsafe_b64encode(
            f"{digest}:{start + size}".encode()).decode()
    return page, nxt


def apply_tag_specs(p, resource_type):
    tags = {}
    for spec in p.get("TagSpecifications", []):
        rt = spec.get("ResourceType")
        if rt is None:
            raise Ec2Error(400, "MissingParameter",
                           "The request must contain the parameter "
                           "TagSpecification.N.ResourceType")
        if rt != resource_type:
            raise bad_value(f"'{rt}' is not a valid taggable resource type "
                            f"for this operation.")
        for t in spec.get("Tags", []):
            tags[check_tag_key(t.get("Key"))] = t.get("Value", "")
    if len(tags) > 50:
        raise Ec2Error(400, "TagLimitExceeded",
                       "The maximum number of Tags for a resource has been "
                       "reached.")
    return tags


def check_tag_key(key):
    if key is None:
        raise Ec2Error(400, "MissingParameter",
                       "The request must contain the parameter Tag.N.Key")
    if key.startswith("aws:"):
        raise bad_value("Tag keys starting with 'aws:' are reserved for "
                        "internal use")
    if not 1 <= len(key) <= 128:
        raise bad_value("Tag key must be 1 to 128 characters")
    return key


class Ctx:
    def __init__(self, state, account, region):
        self.state = state
        self.account = account
        self.region = region

    def instance(self, iid):
        check_id("i", iid)
        inst = self.state.instances.get(iid)
        if inst is None or inst["_account"] != self.account or \
                region_of(inst["Placement"]["AvailabilityZone"]) != \
                self.region:
            raise Ec2Error(400, "InvalidInstanceID.NotFound",
                           f"The instance ID '{iid}' does not exist")
        return inst

    def volume(self, vid):
        check_id("vol", vid)
        vol = self.state.volumes.get(vid)
        if vol is None or vol["_account"] != self.account or \
                region_of(vol["AvailabilityZone"]) != self.region:
            raise Ec2Error(400, "InvalidVolume.NotFound",
                           f"The volume '{vid}' does not exist.")
        return vol

    def can_use(self, snap):
        return snap["_account"] == self.account or \
            self.account in snap["_permissions"] or \
            "all" in snap["_groups"]

    def snapshot(self, sid, owned=False):
        check_id("snap", sid)
        snap = self.state.snapshots.get(sid)
        if snap is None or snap["_region"] != self.region or \
                not self.can_use(snap):
            raise Ec2Error(400, "InvalidSnapshot.NotFound",
                           f"The snapshot '{sid}' does not exist.")
        if owned and snap["_account"] != self.account:
            raise Ec2Error(403, "UnauthorizedOperation",
                           "You are not authorized to perform this "
                           "operation.")
        return snap


def zones(region):
    return [f"{region}{c}" for c in "abc"]


def instance_out(inst):
    out = public_fields(inst)
    out["State"] = {"Name": inst["State"]["Name"],
                    "Code": STATE_CODES[inst["State"]["Name"]]}
    out["Tags"] = tags_out(inst["_tags"])
    if inst.get("PrivateIpAddress"):
        out["PrivateDnsName"] = "ip-{}.ec2.internal".format(
            inst["PrivateIpAddress"].replace(".", "-"))
    return out


def do_describe_instances(ctx, p):
    check_filters("DescribeInstances", p.get("Filters"))
    ids = p.get("InstanceIds", [])
    if ids and "MaxResults" in p:
        raise Ec2Error(400, "InvalidParameterCombination",
                       "The parameter instancesSet cannot be used with the "
                       "parameter maxResults")
    for iid in ids:
        ctx.instance(iid)
    out = []
    for inst in ctx.state.instances.values():
        if inst["_account"] != ctx.account or region_of(
                inst["Placement"]["AvailabilityZone"]) != ctx.region:
            continue
        if ids and inst["InstanceId"] not in ids:
            continue
        fields = {"instance-id": inst["InstanceId"],
                  "instance-state-name": inst["State"]["Name"],
                  "availability-zone": inst["Placement"]["AvailabilityZone"],
                  "instance-type": inst["InstanceType"],
                  "vpc-id": inst["VpcId"],
                  "subnet-id": [n["SubnetId"]
                                for n in inst["NetworkInterfaces"]],
                  "instance.group-id": [g["GroupId"]
                                        for g in inst["SecurityGroups"]],
                  "instance.group-name": [g["GroupName"]
                                          for g in inst["SecurityGroups"]],
                  "boot-mode": inst["BootMode"],
                  "tags": inst["_tags"]}
        if filter_values("DescribeInstances", p.get("Filters", []), fields):
            out.append(inst)
    page, nxt = paginate(ctx.state, "DescribeInstances", p, out, ctx.account)
    res = [{"ReservationId": i["_reservation"], "OwnerId": i["_account"],
            "Groups": [], "Instances": [instance_out(i)]} for i in page]
    return {"Reservations": res, "NextToken": nxt}


def change_state(ctx, p, start):
    result = []
    for iid in p["InstanceIds"]:
        ctx.instance(iid)
    for iid in p["InstanceIds"]:
        inst = ctx.instance(iid)
        prev = inst["State"]["Name"]
        lat = ctx.state.args.state_latency
        if start:
            if prev in ("stopping",):
                raise Ec2Error(400, "IncorrectInstanceState",
                               f"The instance '{iid}' is not in a state "
                               f"from which it can be started.")
            if prev == "stopped":
                inst["State"] = {"Name": "pending"}
                inst["_due"] = (now() + lat, "running")
        else:
            if prev in ("pending",):
                raise Ec2Error(400, "IncorrectInstanceState",
                               f"The instance '{iid}' is not in a state "
                               f"from which it can be stopped.")
            if prev == "running":
                ctx.state.instance_stops(inst, now())
                inst["State"] = {"Name": "stopping"}
                inst["_due"] = (now() + lat, "stopped")
        cur = inst["State"]["Name"]
        result.append({"InstanceId": iid,
                       "PreviousState": {"Name": prev,
                                         "Code": STATE_CODES[prev]},
                       "CurrentState": {"Name": cur,
                                        "Code": STATE_CODES[cur]}})
    key = "StartingInstances" if start else "StoppingInstances"
    return {key: result}


def do_stop_instances(ctx, p):
    if p.get("Hibernate"):
        raise Ec2Error(400, "UnsupportedHibernationConfiguration",
                       "The emulated instances are not configured for "
                       "hibernation")
    return change_state(ctx, p, start=False)


def do_start_instances(ctx, p):
    return change_state(ctx, p, start=True)


def do_describe_instance_types(ctx, p):
    check_filters("DescribeInstanceTypes", p.get("Filters"))
    names = p.get("InstanceTypes", [])
    missing = [n for n in names if n not in INSTANCE_TYPES]
    if missing:
        raise Ec2Error(400, "InvalidInstanceType",
                       f"The following supplied instance types do not "
                       f"exist: [{', '.join(missing)}]")
    def fields(n):
        vcpus, mib, _, threads, hypervisor = INSTANCE_TYPES[n]
        return {"instance-type": n, "vcpu-info.default-vcpus": vcpus,
                "vcpu-info.default-threads-per-core": threads,
                "memory-info.size-in-mib": mib, "hypervisor": hypervisor,
                "tags": {}}
    out = [instance_type_info(n) for n in sorted(INSTANCE_TYPES)
           if (not names or n in names) and filter_values(
               "DescribeInstanceTypes", p.get("Filters", []), fields(n))]
    page, nxt = paginate(ctx.state, "DescribeInstanceTypes", p, out,
                         ctx.account, 5, 100)
    return {"InstanceTypes": page, "NextToken": nxt}


def image_of(inst):
    """The AMI INST was launched from, as DescribeImages shows it: its
    root volume's mapping and the instance-store mappings the seed gave
    the instance (InstanceStore: VirtualName ephemeralN, DeviceName)."""
    bdm = [{"DeviceName": inst["RootDeviceName"],
            "Ebs": {"DeleteOnTermination": True, "VolumeSize": 8,
                    "VolumeType": "gp3", "Encrypted": False}}]
    bdm += [{"DeviceName": e["DeviceName"], "VirtualName": e["VirtualName"]}
            for e in inst["_instance_store"]]
    return {"ImageId": inst["ImageId"], "OwnerId": inst["_account"],
            "State": "available", "Public": False,
            "Architecture": inst["Architecture"], "ImageType": "machine",
            "RootDeviceName": inst["RootDeviceName"],
            "RootDeviceType": "ebs", "VirtualizationType": "hvm",
            "Hypervisor": "xen", "EnaSupport": True,
            "Name": "image-" + inst["ImageId"],
            "BlockDeviceMappings": bdm}


def do_describe_images(ctx, p):
    check_filters("DescribeImages", p.get("Filters"))
    ids = p.get("ImageIds", [])
    for i in ids:
        if not re.match(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$", i):
            raise Ec2Error(400, "InvalidAMIID.Malformed",
                           f'Invalid id: "{i}"')
    images = {}
    for inst in ctx.state.instances.values():
        if inst["_account"] == ctx.account and region_of(
                inst["Placement"]["AvailabilityZone"]) == ctx.region:
            images.setdefault(inst["ImageId"], image_of(inst))
    missing = [i for i in ids if i not in images]
    if missing:
        raise Ec2Error(400, "InvalidAMIID.NotFound",
                       f"The image id '[{', '.join(missing)}]' does not exist")
    out = [im for iid, im in sorted(images.items())
           if (not ids or iid in ids) and filter_values(
               "DescribeImages", p.get("Filters", []),
               {"image-id": iid, "owner-id": im["OwnerId"],
                "state": im["State"], "tags": {}})]
    return {"Images": out}


def do_describe_instance_attribute(ctx, p):
    inst = ctx.instance(p["InstanceId"])
    attr = p["Attribute"]
    out = {"InstanceId": inst["InstanceId"]}
    if attr == "userData":
        ud = inst["_userdata"]
        if ud is not None:
            out["UserData"] = {"Value": base64.b64encode(
                ud.encode()).decode()}
    elif attr == "instanceType":
        out["InstanceType"] = {"Value": inst["InstanceType"]}
    elif attr == "rootDeviceName":
        out["RootDeviceName"] = {"Value": inst["RootDeviceName"]}
    elif attr == "blockDeviceMapping":
        out["BlockDeviceMappings"] = inst["BlockDeviceMappings"]
    elif attr == "enaSupport":
        out["EnaSupport"] = {"Value": True}
    elif attr == "disableApiStop":
        out["DisableApiStop"] = {"Value": False}
    else:
        raise Ec2Error(400, "UnsupportedOperation",
                       f"The emulator does not serve the attribute {attr}")
    return out


def snapshot_out(snap):
    out = public_fields(snap)
    out["OwnerId"] = snap["_account"]
    out["Tags"] = tags_out(snap["_tags"])
    return out


def do_create_snapshots(ctx, p):
    spec = p["InstanceSpecification"]
    # Required by EC2, though the model does not say so.
    if "InstanceId" not in spec:
        raise Ec2Error(400, "MissingParameter",
                       "The request must contain the parameter "
                       "InstanceSpecification.InstanceId")
    inst = ctx.instance(spec["InstanceId"])
    exclude_boot = spec.get("ExcludeBootVolume", False)
    tags = apply_tag_specs(p, "snapshot")
    copy_tags = p.get("CopyTagsFromSource")
    out = []
    t = now()
    for b in inst["BlockDeviceMappings"]:
        if exclude_boot and b["DeviceName"] == inst["RootDeviceName"]:
            continue
        vol = ctx.state.volumes[b["Ebs"]["VolumeId"]]
        sid = new_id("snap")
        stags = dict(vol["_tags"]) if copy_tags == "volume" else {}
        stags.update(tags)
        mark, delta, secs = ctx.state.snapshot_timing(vol, t)
        snap = {"SnapshotId": sid, "VolumeId": vol["VolumeId"],
                "_mark": mark, "_delta": delta, "_duration": secs,
                "State": "pending", "StartTime": t, "Progress": "0%",
                "VolumeSize": vol["Size"], "Encrypted": vol["Encrypted"],
                "KmsKeyId": vol["KmsKeyId"],
                "Description": p.get("Description", ""),
                "StorageTier": "standard",
                "_account": ctx.account, "_region": ctx.region,
                "_tags": stags, "_permissions": [], "_groups": [],
                "_file": ctx.state.copy_file(vol["_file"], sid),
                "_own_file": True, "_device": b["DeviceName"]}
        ctx.state.snapshots[sid] = snap
        o = snapshot_out(snap)
        out.append({"SnapshotId": sid, "VolumeId": vol["VolumeId"],
                    "State": "pending", "StartTime": t, "Progress": "0%",
                    "OwnerId": ctx.account, "VolumeSize": vol["Size"],
                    "Encrypted": vol["Encrypted"], "Tags": o["Tags"],
                    "Description": snap["Description"]})
    ctx.state.tick()
    return {"Snapshots": out}


def do_describe_snapshots(ctx, p):
    check_filters("DescribeSnapshots", p.get("Filters"))
    ids = p.get("SnapshotIds", [])
    for sid in ids:
        ctx.snapshot(sid)
    owners = p.get("OwnerIds", [])
    restorable = p.get("RestorableByUserIds", [])
    out = []
    for snap in ctx.state.snapshots.values():
        if snap["_region"] != ctx.region or not ctx.can_use(snap):
            continue
        if ids and snap["SnapshotId"] not in ids:
            continue
        if owners and not any(
                o == snap["_account"] or
                (o == "self" and snap["_account"] == ctx.account)
                for o in owners):
            continue
        if restorable and not any(
                (r == "self" and ctx.can_use(snap)) or
                r == snap["_account"] or r in snap["_permissions"]
                for r in restorable):
            continue
        fields = {"snapshot-id": snap["SnapshotId"],
                  "status": snap["State"], "volume-id": snap["VolumeId"],
                  "owner-id": snap["_account"], "tags": snap["_tags"]}
        if filter_values("DescribeSnapshots", p.get("Filters", []), fields):
            out.append(snapshot_out(snap))
    page, nxt = paginate(ctx.state, "DescribeSnapshots", p, out, ctx.account,
                         5, 1000, cut=True)
    return {"Snapshots": page, "NextToken": nxt}


def do_modify_snapshot_attribute(ctx, p):
    snap = ctx.snapshot(p["SnapshotId"], owned=True)
    attr = p.get("Attribute")
    if attr is not None and attr != "createVolumePermission":
        raise bad_value(f"Value ({attr}) for parameter attribute is "
                        f"invalid. Only createVolumePermission can be "
                        f"modified.")
    cvp = p.get("CreateVolumePermission", {})
    adds = [(x.get("UserId"), x.get("Group")) for x in cvp.get("Add", [])]
    removes = [(x.get("UserId"), x.get("Group"))
               for x in cvp.get("Remove", [])]
    op = p.get("OperationType")
    if p.get("UserIds") or p.get("GroupNames"):
        if op is None:
            raise Ec2Error(400, "MissingParameter",
                           "The request must contain the parameter "
                           "OperationType")
        pairs = [(u, None) for u in p.get("UserIds", [])] + \
            [(None, g) for g in p.get("GroupNames", [])]
        (adds if op == "add" else removes).extend(pairs)
    if not adds and not removes:
        raise Ec2Error(400, "MissingParameter",
                       "The request must contain the parameter "
                       "createVolumePermission")
    for user, group in adds + removes:
        if user is not None and not re.fullmatch(r"\d{12}", user):
            raise bad_value(f"Value ({user}) for parameter userId is "
                            f"invalid. It must be a 12-digit account ID.")
        if group is not None and group != "all":
            raise bad_value(f"Value ({group}) for parameter group is "
                            f"invalid.")
    for user, group in adds:
        if user and user not in snap["_permissions"]:
            snap["_permissions"].append(user)
        if group and group not in snap["_groups"]:
            snap["_groups"].append(group)
    for user, group in removes:
        if user in snap["_permissions"]:
            snap["_permissions"].remove(user)
        if group in snap["_groups"]:
            snap["_groups"].remove(group)
    return {}


def do_delete_snapshot(ctx, p):
    snap = ctx.snapshot(p["SnapshotId"], owned=True)
    ctx.state.remove_file(snap)
    del ctx.state.snapshots[snap["SnapshotId"]]
    return {}


VOLUME_TYPES_IOPS = {"io1": (100, 64000), "io2": (100, 256000),
                     "gp3": (3000, 16000)}


def idempotent(ctx, action, p):
    """EC2's ClientToken: a repeat of the same request (same token, same
    parameters) answers what the first one made; the same token with other
    parameters is refused."""
    tok = p.get("ClientToken")
    if tok is None:
        return None, None, None
    if len(tok) > 64:
        raise bad_value("The client token must be at most 64 characters")
    key = (ctx.account, action, tok)
    digest = json.dumps({k: v for k, v in p.items() if k != "ClientToken"},
                        sort_keys=True, default=str)
    seen = ctx.state.tokens.get(key)
    if seen is not None and seen[0] != digest:
        raise Ec2Error(400, "IdempotentParameterMismatch",
                       "The client token you have provided is associated "
                       "with a resource that is already deleted or has "
                       "other parameters. Please use a different client "
                       "token.")
    return key, (seen[1] if seen else None), digest


def do_create_volume(ctx, p):
    key, first, digest = idempotent(ctx, "CreateVolume", p)
    if first is not None:
        # Real EC2 answers the first volume even once it is deleted.
        vol = ctx.state.volumes.get(first)
        if vol is not None:
            out = public_fields(vol)
            out["Tags"] = tags_out(vol["_tags"])
            del out["Attachments"]
            return out
    az = p["AvailabilityZone"]
    if az not in zones(ctx.region):
        raise Ec2Error(400, "InvalidZone.NotFound",
                       f"The zone '{az}' does not exist.")
    vt = p.get("VolumeType", "gp2")
    snap = None
    if "SnapshotId" in p:
        snap = ctx.snapshot(p["SnapshotId"])
        if snap["State"] != "completed":
            raise Ec2Error(400, "IncorrectState",
                           f"Snapshot is in invalid state - "
                           f"{snap['State']}")
    size = p.get("Size")
    if snap is None and size is None:
        raise Ec2Error(400, "MissingParameter",
                       "The request must contain the parameter size or "
                       "snapshotId")
    if snap is not None:
        if size is None:
            size = snap["VolumeSize"]
        elif size < snap["VolumeSize"]:
            raise bad_value(f"Volume of {size}GiB is too small; minimum is "
                            f"{snap['VolumeSize']}GiB.")
    if not 1 <= size <= 65536:
        raise bad_value(f"Volume size {size} is out of range")
    iops = p.get("Iops")
    if iops is not None and vt not in VOLUME_TYPES_IOPS:
        raise Ec2Error(400, "InvalidParameterCombination",
                       f"The parameter iops is not supported for {vt} "
                       f"volumes.")
    if vt in ("io1", "io2") and iops is None:
        raise Ec2Error(400, "MissingParameter",
                       f"The request must contain the parameter iops for "
                       f"{vt} volumes")
    if iops is not None:
        lo, hi = VOLUME_TYPES_IOPS[vt]
        if not lo <= iops <= hi:
            raise bad_value(f"Value ({iops}) for parameter iops is invalid. "
                            f"Expecting a value between {lo} and {hi}.")
    thr = p.get("Throughput")
    if thr is not None:
        if vt != "gp3":
            raise Ec2Error(400, "InvalidParameterCombination",
                           f"The parameter throughput is not supported for "
                           f"{vt} volumes.")
        if not 125 <= thr <= 1000:
            raise bad_value(f"Value ({thr}) for parameter throughput is "
                            f"invalid. Expecting a value between 125 and "
                            f"1000.")
    if vt == "gp3":
        iops = iops or 3000
        thr = thr or 125
    elif vt == "gp2":
        iops = min(max(100, 3 * size), 16000)
    encrypted = p.get("Encrypted", False)
    kms = p.get("KmsKeyId")
    if snap is not None and snap["Encrypted"]:
        encrypted = True
        kms = kms or snap["KmsKeyId"]
    if kms is not None and not encrypted:
        raise Ec2Error(400, "InvalidParameterDependency",
                       "The parameter KmsKeyId requires the parameter "
                       "Encrypted to be set.")
    if encrypted and kms is None:
        kms = (f"arn:aws:kms:{ctx.region}:{ctx.account}:key/"
               f"aws-ebs-default")
    vid = new_id("vol")
    lat = ctx.state.args.volume_latency
    vol = {"VolumeId": vid, "Size": size, "VolumeType": vt,
           "AvailabilityZone": az, "Encrypted": encrypted, "KmsKeyId": kms,
           "State": "creating", "CreateTime": now(), "Attachments": [],
           "Iops": iops, "Throughput": thr,
           "SnapshotId": snap["SnapshotId"] if snap else None,
           "MultiAttachEnabled": False,
           "_account": ctx.account, "_tags": apply_tag_specs(p, "volume"),
           "_file": ctx.state.copy_file(snap["_file"], vid) if snap else None,
           "_own_file": True, "_due": now() + lat}
    ctx.state.volumes[vid] = vol
    if key is not None:
        ctx.state.tokens[key] = (digest, vid)
    out = public_fields(vol)
    out["Tags"] = tags_out(vol["_tags"])
    del out["Attachments"]
    ctx.state.tick()
    return out


def volume_out(vol):
    out = public_fields(vol)
    out["Tags"] = tags_out(vol["_tags"])
    return out


def do_describe_volumes(ctx, p):
    check_filters("DescribeVolumes", p.get("Filters"))
    ids = p.get("VolumeIds", [])
    if ids and "MaxResults" in p:
        raise Ec2Error(400, "InvalidParameterCombination",
                       "The parameter volumeSet cannot be used with the "
                       "parameter maxResults")
    for vid in ids:
        ctx.volume(vid)
    out = []
    for vol in ctx.state.volumes.values():
        if vol["_account"] != ctx.account or \
                region_of(vol["AvailabilityZone"]) != ctx.region:
            continue
        if ids and vol["VolumeId"] not in ids:
            continue
        fields = {"volume-id": vol["VolumeId"], "status": vol["State"],
                  "availability-zone": vol["AvailabilityZone"],
                  "snapshot-id": vol["SnapshotId"],
                  "attachment.instance-id":
                      [a["InstanceId"] for a in vol["Attachments"]],
                  "volume-type": vol["VolumeType"],
                  "encrypted": str(vol["Encrypted"]).lower(),
                  "tags": vol["_tags"]}
        if filter_values("DescribeVolumes", p.get("Filters", []), fields):
            out.append(volume_out(vol))
    page, nxt = paginate(ctx.state, "DescribeVolumes", p, out, ctx.account,
                         5, 500, cut=True)
    return {"Volumes": page, "NextToken": nxt}


def do_delete_volume(ctx, p):
    vol = ctx.volume(p["VolumeId"])
    if vol["Attachments"]:
        raise Ec2Error(400, "VolumeInUse",
                       f"Volume {vol['VolumeId']} is currently attached to "
                       f"{vol['Attachments'][0]['InstanceId']}")
    if vol["State"] != "available":
        raise Ec2Error(400, "IncorrectState",
                       f"The volume '{vol['VolumeId']}' is '{vol['State']}'"
                       f" and cannot be deleted")
    ctx.state.remove_file(vol)
    del ctx.state.volumes[vol["VolumeId"]]
    return {}


def tagged_resource(ctx, rid):
    kind = rid.split("-")[0]
    if kind == "i":
        return ctx.instance(rid)
    if kind == "vol":
        return ctx.volume(rid)
    if kind == "snap":
        return ctx.snapshot(rid, owned=True)
    raise Ec2Error(400, "InvalidID",
                   f"The ID '{rid}' is not valid")


def do_create_tags(ctx, p):
    res = [tagged_resource(ctx, r) for r in p["Resources"]]
    tags = {check_tag_key(t.get("Key")): t.get("Value", "")
            for t in p["Tags"]}
    for r in res:
        merged = dict(r["_tags"], **tags)
        if len(merged) > 50:
            raise Ec2Error(400, "TagLimitExceeded",
                           "The maximum number of Tags for a resource has "
                           "been reached.")
    for r in res:
        r["_tags"].update(tags)
    return {}


def do_delete_tags(ctx, p):
    res = [tagged_resource(ctx, r) for r in p["Resources"]]
    for r in res:
        for t in p.get("Tags") or [{"Key": k} for k in list(r["_tags"])]:
            k = t.get("Key")
            if k in r["_tags"] and ("Value" not in t or
                                    r["_tags"][k] == t["Value"]):
                del r["_tags"][k]
    return {}


def do_describe_availability_zones(ctx, p):
    check_filters("DescribeAvailabilityZones", p.get("Filters"))
    names = p.get("ZoneNames", [])
    for n in names:
        if n not in zones(ctx.region):
            raise bad_value(f"The zone '{n}' does not exist.")
    out = []
    for i, z in enumerate(zones(ctx.region)):
        if names and z not in names:
            continue
        fields = {"zone-name": z, "region-name": ctx.region,
                  "state": "available", "tags": {}}
        if filter_values("DescribeAvailabilityZones",
                         p.get("Filters", []), fields):
            out.append({"ZoneName": z, "State": "available",
                        "RegionName": ctx.region,
                        "ZoneId": f"use1-az{i + 1}",
                        "ZoneType": "availability-zone",
                        "OptInStatus": "opt-in-not-required",
                        "GroupName": ctx.region,
                        "NetworkBorderGroup": ctx.region,
                        "Messages": []})
    return {"AvailabilityZones": out}


def in_region(ctx, res, az_key=None):
    if res["_account"] != ctx.account:
        return False
    return az_key is None or region_of(res[az_key]) == ctx.region


def do_describe_subnets(ctx, p):
    check_filters("DescribeSubnets", p.get("Filters"))
    ids = p.get("SubnetIds", [])
    for sid in ids:
        sub = ctx.state.subnets.get(sid)
        if sub is None or not in_region(ctx, sub, "AvailabilityZone"):
            raise Ec2Error(400, "InvalidSubnetID.NotFound",
                           f"The subnet ID '{sid}' does not exist")
    out = []
    for sub in ctx.state.subnets.values():
        if not in_region(ctx, sub, "AvailabilityZone") or \
                (ids and sub["SubnetId"] not in ids):
            continue
        fields = {"subnet-id": sub["SubnetId"], "vpc-id": sub["VpcId"],
                  "availability-zone": sub["AvailabilityZone"],
                  "state": sub["State"], "cidr-block": sub["CidrBlock"],
                  "default-for-az": str(sub["DefaultForAz"]).lower(),
                  "owner-id": sub["OwnerId"], "tags": sub["_tags"]}
        if filter_values("DescribeSubnets", p.get("Filters", []), fields):
            o = public_fields(sub)
            o["Tags"] = tags_out(sub["_tags"])
            out.append(o)
    page, nxt = paginate(ctx.state, "DescribeSubnets", p, out, ctx.account)
    return {"Subnets": page, "NextToken": nxt}


def group_fields(g):
    def perm_values(perms, key):
        vals = []
        for perm in perms:
            if key == "protocol":
                vals.append(perm["IpProtocol"])
            elif key in ("from-port", "to-port") and "FromPort" in perm:
                vals.append(perm["FromPort" if key == "from-port"
                                 else "ToPort"])
            elif key == "cidr":
                vals += [r["CidrIp"] for r in perm["IpRanges"]]
            elif key == "group-id":
                vals += [r["GroupId"] for r in perm["UserIdGroupPairs"]]
        return vals
    f = {"group-id": g["GroupId"], "group-name": g["GroupName"],
         "vpc-id": g["VpcId"], "owner-id": g["OwnerId"],
         "description": g["Description"], "tags": g["_tags"],
         "egress.ip-permission.cidr": perm_values(g["IpPermissionsEgress"],
                                                  "cidr")}
    for k in ("protocol", "from-port", "to-port", "cidr", "group-id"):
        f["ip-permission." + k] = perm_values(g["IpPermissions"], k)
    return f


def do_describe_security_groups(ctx, p):
    check_filters("DescribeSecurityGroups", p.get("Filters"))
    ids = p.get("GroupIds", [])
    names = p.get("GroupNames", [])
    for gid in ids:
        if not GROUP_ID.match(gid):
            raise Ec2Error(400, "InvalidGroupId.Malformed",
                           f'Invalid id: "{gid}" (expecting "sg-...")')
        g = ctx.state.groups.get(gid)
        if g is None or not in_region(ctx, g):
            raise Ec2Error(400, "InvalidGroup.NotFound",
                           f"The security group '{gid}' does not exist")
    for n in names:
        if not any(g["GroupName"] == n and in_region(ctx, g)
                   for g in ctx.state.groups.values()):
            raise Ec2Error(400, "InvalidGroup.NotFound",
                           f"The security group '{n}' does not exist in "
                           f"default VPC")
    out = []
    for g in ctx.state.groups.values():
        if not in_region(ctx, g) or (ids and g["GroupId"] not in ids) or \
                (names and g["GroupName"] not in names):
            continue
        if filter_values("DescribeSecurityGroups", p.get("Filters", []),
                         group_fields(g)):
            o = public_fields(g)
            o["Tags"] = tags_out(g["_tags"])
            out.append(o)
    page, nxt = paginate(ctx.state, "DescribeSecurityGroups", p, out,
                         ctx.account)
    return {"SecurityGroups": page, "NextToken": nxt}


def do_get_instance_uefi_data(ctx, p):
    inst = ctx.instance(p["InstanceId"])
    out = {"InstanceId": inst["InstanceId"]}
    # Only an instance that boots UEFI has a variable store.
    if inst["BootMode"] == "uefi" and inst.get("_uefi_data"):
        out["UefiData"] = inst["_uefi_data"]
    return out


ACTIONS = {
    "DescribeInstances": do_describe_instances,
    "StopInstances": do_stop_instances,
    "StartInstances": do_start_instances,
    "DescribeInstanceTypes": do_describe_instance_types,
    "DescribeImages": do_describe_images,
    "DescribeInstanceAttribute": do_describe_instance_attribute,
    "CreateSnapshots": do_create_snapshots,
    "DescribeSnapshots": do_describe_snapshots,
    "ModifySnapshotAttribute": do_modify_snapshot_attribute,
    "DeleteSnapshot": do_delete_snapshot,
    "CreateVolume": do_create_volume,
    "DescribeVolumes": do_describe_volumes,
    "DeleteVolume": do_delete_volume,
    "CreateTags": do_create_tags,
    "DeleteTags": do_delete_tags,
    "DescribeAvailabilityZones": do_describe_availability_zones,
    "DescribeSubnets": do_describe_subnets,
    "DescribeSecurityGroups": do_describe_security_groups,
    "GetInstanceUefiData": do_get_instance_uefi_data,
}


# --- HTTP --------------------------------------------------------------------

# Never recorded: they sign or authenticate, and presigned URLs carry them
# in the query.
SECRET_PARAMS = {"X-Amz-Signature", "X-Amz-Security-Token",
                 "X-Amz-Credential", "Signature", "SecurityToken"}

# The EC2 error codes of a body that cannot be read (fakeserver.BodyError).
BODY_ERROR_CODES = {400: "InvalidRequest", 413: "RequestEntityTooLarge"}


class Handler(fakeserver.FakeHandler):
    LOG_NAME = "ec2-emulator.py"
    # Any other method is 501, before the signature is looked at.
    METHODS = ("GET", "POST", "DELETE")
    MAX_BODY = MAX_BODY
    server_version = "AmazonEC2"
    sys_version = ""

    def send(self, code, data, ctype="text/xml;charset=UTF-8"):
        self.send_body(code, data, ctype)

    def dispatch(self):
        state = self.server.state
        url = urllib.parse.urlsplit(self.path)
        request_id = str(uuid.uuid4())
        try:
            body = self.read_body()
        except BodyError as e:
            self.send(e.status, error_xml(BODY_ERROR_CODES[e.status],
                                          e.message, request_id))
            return
        if self.is_control(url.path):
            self.control(url.path, body)
            return
        entry = {
            "time": fakeserver.record_time(),
            "request_id": request_id, "action": None, "params": {},
            "account": None, "access_key_id": None, "region": None,
            "status": None, "error": None, "polling": False,
        }
        try:
            code, data = self.api(state, entry, url, body, request_id)
        except DropConnection:
            entry["dropped"] = True
            state.record(entry)
            raise
        except Ec2Error as e:
            code = e.status
            data = error_xml(e.code, e.message, request_id)
            entry["error"] = e.code
            entry["message"] = e.message
        except Exception as e:  # noqa: BLE001 - the emulator's own bug
            code = 500
            data = error_xml("InternalError", f"emulator bug: {e!r}",
                             request_id)
            entry["error"] = "InternalError"
            entry["message"] = repr(e)
            if not state.args.quiet:
                import traceback
                traceback.print_exc()
        entry["status"] = code
        state.record(entry)
        self.send(code, data)

    def api(self, state, entry, url, body, request_id):
        if self.command not in ("GET", "POST"):
            raise Ec2Error(405, "UnsupportedHttpVerb",
                           f"The HTTP verb {self.command} is not supported")
        if url.path != "/":
            raise Ec2Error(400, "InvalidAction",
                           f"The path {url.path} is not an EC2 endpoint")
        query_pairs = urllib.parse.parse_qsl(url.query,
                                             keep_blank_values=True)
        pairs = list(query_pairs)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0]
        if self.command == "POST" and body:
            if ctype.strip().lower() != "application/x-www-form-urlencoded":
                raise Ec2Error(400, "InvalidParameterValue",
                               f"The Content-Type {ctype or '(none)'} is "
                               f"not application/x-www-form-urlencoded")
            try:
                pairs += urllib.parse.parse_qsl(body.decode("utf-8"),
                                                keep_blank_values=True,
                                                strict_parsing=True)
            except (UnicodeDecodeError, ValueError):
                raise Ec2Error(400, "InvalidParameterValue",
                               "The request body is not valid form data")
        flat = {}
        for k, v in pairs:
            if k in SECRET_PARAMS:
                continue
            if k in flat:
                raise bad_value(f"The parameter {k} is given more than once")
            flat[k] = v
        action = flat.pop("Action", None)
        version = flat.pop("Version", None)
        entry["action"] = action
        entry["params"] = flat
        # Reads that change nothing: Describe*, and GetInstanceUefiData.
        entry["polling"] = bool(action and (action.startswith("Describe") or
                                            action == "GetInstanceUefiData"))

        acct, region = verify_sigv4(state, self.command, url.path,
                                    query_pairs, self.headers, body)
        entry["account"] = acct.account
        entry["access_key_id"] = acct.akid
        entry["region"] = region

        rule = state.take_fault(action, acct.account)
        if rule is not None:
            entry["fault"] = rule
            # "after": EC2 acts first and the answer is lost on the way
            # back (a 500 after the change, a connection reset), the case
            # a client's retry must not turn into a second change.
            if rule.get("after"):
                if rule.get("delay"):
                    time.sleep(float(rule["delay"]))
            else:
                self.fault_answer(rule)

        if action is None:
            raise Ec2Error(400, "MissingAction",
                           "The request must contain the parameter Action")
        if version is None:
            raise Ec2Error(400, "MissingParameter",
                           "The request must contain the parameter Version")
        if version != API_VERSION:
            raise Ec2Error(400, "NoSuchVersion",
                           f"The requested version ({version}) is not "
                           f"valid for this emulator, which serves only "
                           f"{API_VERSION}.")
        if action not in SERVICE_MODEL.operation_names:
            raise Ec2Error(400, "InvalidAction",
                           f"The action {action} is not valid for this web "
                           f"service.")
        op = SERVICE_MODEL.operation_model(action)
        params = parse_params(op.input_shape, flat) if op.input_shape \
            else {}
        if action not in ACTIONS:
            raise Ec2Error(400, "UnsupportedOperation",
                           f"The emulator does not implement {action}")
        with state.lock:
            state.tick()
            ctx = Ctx(state, acct.account, region)
            # A dry run has passed authentication and parameter
            # validation; unlike EC2, it does not check that the resources
            # exist or belong to the caller.
            result = None if params.get("DryRun") else \
                ACTIONS[action](ctx, params)
        if params.get("DryRun"):
            raise Ec2Error(412, "DryRunOperation",
                           "Request would have succeeded, but DryRun flag "
                           "is set.")
        if rule is not None and rule.get("after"):
            entry["acted"] = True
            self.fault_answer(rule)
        return 200, reply_xml(op, result, request_id)

    def fault_answer(self, rule):
        """A fault rule's delay and drop (fakeserver), then its error."""
        if rule.get("after"):
            if rule.get("drop"):
                self.drop()
        else:
            self.apply_fault(rule)
        if rule.get("status") is not None or rule.get("code"):
            code = rule.get("code") or "RequestLimitExceeded"
            status = rule.get("status") or 503
            raise Ec2Error(status, code, rule.get("message") or (
                "Request limit exceeded." if code ==
                "RequestLimitExceeded" else f"injected fault: {code}"))

    # -- the control API (fakeserver serves requests, faults and reset) --

    def control_own(self, path, m, data):
        state = self.server.state
        if path == "/_fake/state" and m == "GET":
            with state.lock:
                state.tick()
                self.send_json(200, state.public())
        elif path == "/_fake/counts" and m == "GET":
            with state.lock:
                self.send_json(200, {"by_action": state.counts_action,
                                     "by_account": state.counts_account})
        else:
            return False
        return True

    def send_json(self, code, obj):
        self.send(code, json.dumps(obj, default=str).encode() + b"\n",
                  "application/json")

    def control_error(self, code, message):
        self.send_json(code, {"error": message})


def main():
    ap = argparse.ArgumentParser(
        description="Strict loopback emulator of the EC2 Query API.")
    fakeserver.add_server_options(ap, tls_required=False)
    ap.add_argument("--credentials", action="append", required=True,
                    metavar="ACCOUNT:AKID:SECRET[:SESSION_TOKEN]",
                    help="an account and its key (repeatable)")
    ap.add_argument("--region", action="append",
                    help="a region served (repeatable; default us-east-1)")
    ap.add_argument("--seed", help="JSON file of instances and volumes")
    ap.add_argument("--backing-dir",
                    help="copy volume files here for snapshots and volumes")
    ap.add_argument("--state-latency", type=float, default=0.0,
                    help="seconds in stopping/pending (default 0)")
    ap.add_argument("--snapshot-latency", type=float, default=0.0,
                    help="seconds a snapshot stays pending (default 0)")
    ap.add_argument("--write-rate", type=float, default=0.0,
                    help="MiB/s the guest writes to each volume while its "
                    "instance runs, in emulated seconds (default 0)")
    ap.add_argument("--snapshot-rate", type=float, default=0.0,
                    help="MiB/s a snapshot copies, in emulated seconds; a "
                    "snapshot copies the bytes written since the volume's "
                    "previous completed snapshot, all used bytes for its "
                    "first (default 0: no copy time, only "
                    "--snapshot-latency)")
    ap.add_argument("--time-scale", type=float, default=1.0,
                    help="emulated seconds that pass each real second, for "
                    "--write-rate and --snapshot-rate (default 1)")
    ap.add_argument("--volume-latency", type=float, default=0.0,
                    help="seconds a volume stays creating (default 0)")
    ap.add_argument("--page-size", type=int, default=0,
                    help="Describe* pages hold at most N items when the "
                    "client gives no MaxResults (default 0: no limit)")
    ap.add_argument("--throttle-rate", type=float, default=0.0,
                    help="throttle each request with this probability")
    ap.add_argument("--seed-random", type=int, default=0,
                    help="seed of the --throttle-rate draws (default 0)")
    args = ap.parse_args()
    args.region = args.region or ["us-east-1"]
    fakeserver.check_server_options(ap, args)
    if not 0.0 <= args.throttle_rate <= 1.0:
        ap.error("--throttle-rate is a probability, 0 to 1")
    if args.write_rate < 0 or args.snapshot_rate < 0 or \
            args.time_scale <= 0:
        ap.error("--write-rate and --snapshot-rate must be 0 or more, "
                 "--time-scale more than 0")
    if args.page_size < 0:
        ap.error("--page-size must be 0 or more")
    if args.backing_dir:
        os.makedirs(args.backing_dir, exist_ok=True)
    try:
        state = State(args)
    except (OSError, ValueError) as e:
        raise SystemExit(f"ec2-emulator.py: {e}")
    return fakeserver.serve("ec2-emulator.py", Handler, state, args)


if __name__ == "__main__":
    sys.exit(main())
