#!/usr/bin/python3
"""Tests for the fake Kubernetes API server (tests/fakes/kube-apiserver.py).

The fake is what proves the agent's and the orchestrator's Kubernetes
clients right, so it is tested on its own first: if it accepted what a real
API server refuses, every test built on it would pass for the wrong reason.

Standard library only.  SHARED_DATA must point at the shared test data
directory (ctest sets it from V2V_SHARED_DATA).
"""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

# How long a fake may take to start (load its schemas or botocore's model)
# and write its port file: a bound for a wait, not a speed target; CI
# runs it beside qemu boots on two cores.
READY_WAIT = 60

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "kube-apiserver.py")
MAKE_CERTS = os.path.join(HERE, "make-certs.sh")
TOKEN = "test-token-1"
NS = "v2v"


def pod(name, labels=None, **spec):
    meta = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "main", "image": "img:1"}],
                     **spec}}


def event(name, **over):
    ev = {"apiVersion": "v1", "kind": "Event",
          "metadata": {"name": name, "namespace": NS},
          "involvedObject": {"kind": "Pod", "name": "agent", "namespace": NS,
                             "apiVersion": "v1"},
          "type": "Normal", "reason": "Converted", "message": "done"}
    ev.update(over)
    return ev


class Fake:
    """One running fake, started with ARGS on a free port."""

    def __init__(self, tmp, certs, *args, cert="server"):
        self.tmp = tmp
        self.port_file = os.path.join(tmp, f"port-{id(self)}")
        self.record = os.path.join(tmp, f"record-{id(self)}.jsonl")
        shared = os.environ.get("SHARED_DATA")
        self.proc = subprocess.Popen(
            [sys.executable, FAKE,
             "--cert", os.path.join(certs, f"{cert}.crt"),
             "--key", os.path.join(certs, f"{cert}.key"),
             "--port", "0", "--port-file", self.port_file,
             "--schemas", os.path.join(shared, "schemas"),
             "--record", self.record, "--quiet", *args])
        deadline = time.monotonic() + READY_WAIT
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None:
                raise RuntimeError(f"the fake exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(f"the fake wrote no port file in {READY_WAIT} s")
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class KubeFakeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.environ.get("SHARED_DATA"):
            raise unittest.SkipTest("SHARED_DATA is not set")
        cls.tmp = tempfile.mkdtemp(prefix="kube-fake-")
        cls.certs = os.path.join(cls.tmp, "certs")
        subprocess.run([MAKE_CERTS, cls.certs], check=True)
        cls.token_file = os.path.join(cls.tmp, "token")
        with open(cls.token_file, "w") as f:
            f.write("file-token-a\n")
        cls.seed = os.path.join(cls.tmp, "seed.json")
        with open(cls.seed, "w") as f:
            json.dump([
                {"apiVersion": "v1", "kind": "Node",
                 "metadata": {"name": "node-a", "labels": {
                     "topology.kubernetes.io/zone": "eu-west-1a"}}},
                {"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": "agent", "namespace": NS,
                              "uid": "0b8d6c4e-0000-4000-8000-000000000001"},
                 "spec": {"containers": [{"name": "agent",
                                          "image": "agent:1"}]}},
            ], f)
        cls.fake = Fake(cls.tmp, cls.certs, "--token", TOKEN,
                        "--token-file", cls.token_file, "--seed", cls.seed)
        cls.ctx = ssl.create_default_context(
            cafile=os.path.join(cls.certs, "ca.crt"))

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.control("POST", "/_fake/reset")

    # -- helpers --

    def conn(self, port=None, ctx=None):
        return http.client.HTTPSConnection(
            "127.0.0.1", port or self.fake.port, context=ctx or self.ctx,
            timeout=10)

    def call(self, method, path, body=None, token=TOKEN,
             ctype="application/json", conn=None):
        c = conn or self.conn()
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
            headers["Content-Type"] = ctype
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        raw = r.read()
        if conn is None:
            c.close()
        return r.status, json.loads(raw) if raw else None, r

    def control(self, method, path, body=None):
        status, reply, _ = self.call(method, path, body, token=None)
        self.assertEqual(status, 200, reply)
        return reply

    def pods(self, name=""):
        return f"/api/v1/namespaces/{NS}/pods" + (f"/{name}" if name else "")

    def assertStatus(self, reply, code, reason):
        self.assertEqual(reply["kind"], "Status")
        self.assertEqual(reply["apiVersion"], "v1")
        self.assertEqual(reply["status"], "Failure")
        self.assertEqual(reply["code"], code)
        self.assertEqual(reply["reason"], reason)

    # -- authentication --

    def test_no_token_is_401(self):
        status, reply, _ = self.call("GET", self.pods(), token=None)
        self.assertEqual(status, 401)
        self.assertStatus(reply, 401, "Unauthorized")

    def test_wrong_token_is_401_and_never_recorded(self):
        status, reply, _ = self.call("GET", self.pods(), token="wrong")
        self.assertEqual(status, 401)
        self.assertStatus(reply, 401, "Unauthorized")
        reqs = self.control("GET", "/_fake/requests")
        self.assertEqual(reqs[-1]["auth"], "invalid")
        with open(self.fake.record) as f:
            self.assertNotIn("wrong", f.read())

    def test_token_file_is_reread(self):
        status, _, _ = self.call("GET", self.pods(), token="file-token-a")
        self.assertEqual(status, 200)
        with open(self.token_file + ".tmp", "w") as f:
            f.write("file-token-b\n")
        os.rename(self.token_file + ".tmp", self.token_file)
        try:
            status, _, _ = self.call("GET", self.pods(), token="file-token-a")
            self.assertEqual(status, 401)
            status, _, _ = self.call("GET", self.pods(), token="file-token-b")
            self.assertEqual(status, 200)
        finally:
            with open(self.token_file, "w") as f:
                f.write("file-token-a\n")

    # -- the store --

    def test_seed_is_loaded(self):
        status, node, _ = self.call("GET", "/api/v1/nodes/node-a")
        self.assertEqual(status, 200)
        self.assertEqual(node["metadata"]["labels"]
                         ["topology.kubernetes.io/zone"], "eu-west-1a")
        status, agent, _ = self.call("GET", self.pods("agent"))
        self.assertEqual(agent["metadata"]["uid"],
                         "0b8d6c4e-0000-4000-8000-000000000001")

    def test_create_get_list_selector(self):
        status, made, _ = self.call("POST", self.pods(),
                                    pod("p1", {"app": "v2v", "tier": "a"}))
        self.assertEqual(status, 201, made)
        for f in ("uid", "resourceVersion", "creationTimestamp"):
            self.assertIn(f, made["metadata"])
        self.assertEqual(made["metadata"]["namespace"], NS)
        self.call("POST", self.pods(), pod("p2", {"app": "v2v", "tier": "b"}))
        status, got, _ = self.call("GET", self.pods("p1"))
        self.assertEqual(got, made)
        status, lst, _ = self.call("GET", self.pods() + "?labelSelector="
                                   "app%3Dv2v%2Ctier%3Db")
        self.assertEqual(status, 200)
        self.assertEqual(lst["kind"], "PodList")
        self.assertEqual([p["metadata"]["name"] for p in lst["items"]], ["p2"])
        status, lst, _ = self.call("GET", self.pods() + "?labelSelector=app")
        self.assertEqual(len(lst["items"]), 2)
        status, reply, _ = self.call("GET", self.pods("nope"))
        self.assertEqual(status, 404)
        self.assertStatus(reply, 404, "NotFound")

    def test_field_selector(self):
        self.call("POST", self.pods(), pod("f1"))
        self.call("POST", self.pods(), pod("f2"))
        status, lst, _ = self.call(
            "GET", "/api/v1/pods?fieldSelector=metadata.name%3Df2")
        self.assertEqual(status, 200, lst)
        self.assertEqual([p["metadata"]["name"] for p in lst["items"]], ["f2"])
        # A real API server refuses fields it does not index.
        status, reply, _ = self.call(
            "GET", self.pods() + "?fieldSelector=spec.hostname%3Dx")
        self.assertEqual(status, 400)

    def test_watch_is_refused(self):
        self.assertEqual(self.call("GET", self.pods() + "?watch=true")[0], 400)

    def test_generate_name(self):
        body = pod("")
        body["metadata"] = {"generateName": "conv-"}
        status, made, _ = self.call("POST", self.pods(), body)
        self.assertEqual(status, 201, made)
        self.assertTrue(made["metadata"]["name"].startswith("conv-"))

    def test_duplicate_is_409(self):
        self.assertEqual(self.call("POST", self.pods(), pod("dup"))[0], 201)
        status, reply, _ = self.call("POST", self.pods(), pod("dup"))
        self.assertEqual(status, 409)
        self.assertStatus(reply, 409, "AlreadyExists")

    def test_namespace_mismatch_is_400(self):
        body = pod("p")
        body["metadata"]["namespace"] = "other"
        self.assertEqual(self.call("POST", self.pods(), body)[0], 400)

    def test_kind_mismatch_is_400(self):
        body = pod("p")
        body["kind"] = "ConfigMap"
        self.assertEqual(self.call("POST", self.pods(), body)[0], 400)

    def test_not_json_is_400(self):
        status, reply, _ = self.call("POST", self.pods(), b"{not json")
        self.assertEqual(status, 400)
        self.assertStatus(reply, 400, "BadRequest")

    def test_unknown_path_is_404(self):
        for path in ("/api/v1/namespaces/x/widgets", "/apis/foo/v1/bars",
                     "/nothing"):
            status, reply, _ = self.call("GET", path)
            self.assertEqual(status, 404, path)
            self.assertStatus(reply, 404, "NotFound")

    # -- validation --

    def test_valid_event_is_stored(self):
        status, reply, _ = self.call("POST", f"/api/v1/namespaces/{NS}/events",
                                     event("ev1"))
        self.assertEqual(status, 201, reply)

    def assertInvalidEvent(self, ev):
        status, reply, _ = self.call("POST", f"/api/v1/namespaces/{NS}/events",
                                     ev)
        self.assertEqual(status, 422, reply)
        self.assertStatus(reply, 422, "Invalid")
        status, _, _ = self.call(
            "GET", f"/api/v1/namespaces/{NS}/events/{ev['metadata']['name']}")
        self.assertEqual(status, 404)
        self.assertTrue(self.control("GET", "/_fake/requests")[-2]
                        ["schema_errors"])
        return reply

    def test_event_unknown_field_is_422(self):
        reply = self.assertInvalidEvent(event("ev2", severity="high"))
        self.assertIn("severity", reply["message"])

    def test_event_bad_type_is_422(self):
        reply = self.assertInvalidEvent(event("ev3", type="Info"))
        self.assertIn("type", reply["message"])

    def test_event_without_involved_namespace_is_422(self):
        self.assertInvalidEvent(event("ev4", involvedObject={
            "kind": "Pod", "name": "agent"}))

    def test_bad_timestamp_is_422(self):
        self.assertInvalidEvent(event("ev5", firstTimestamp="yesterday"))

    def test_bad_label_is_422(self):
        status, _, _ = self.call("POST", self.pods(),
                                 pod("p", {"app": "has space"}))
        self.assertEqual(status, 422)

    def test_virtualmachine_nested_unknown_field_is_422(self):
        vms = f"/apis/kubevirt.io/v1/namespaces/{NS}/virtualmachines"
        vm = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
              "metadata": {"name": "vm1"},
              "spec": {"runStrategy": "Halted",
                       "template": {"spec": {"domain": {"devices": {}}}}}}
        status, reply, _ = self.call("POST", vms, vm)
        self.assertEqual(status, 201, reply)
        vm["metadata"]["name"] = "vm2"
        vm["spec"]["template"]["spec"]["domain"]["cpuz"] = 2
        status, reply, _ = self.call("POST", vms, vm)
        self.assertEqual(status, 422, reply)

    # -- NetworkPolicy: the schema, then ValidateNetworkPolicy's rules --

    def netpol(self, name, **spec):
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": name},
                "spec": {"podSelector": {"matchLabels": {"app": "vm"}},
                         **spec}}

    def post_netpol(self, obj):
        path = f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies"
        return self.call("POST", path, obj)

    def test_networkpolicy_valid_is_stored(self):
        status, reply, _ = self.post_netpol(self.netpol(
            "np1", policyTypes=["Ingress", "Egress"],
            ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/16",
                                            "except": ["10.0.1.0/24"]}},
                               {"ipBlock": {"cidr": "::/0"}},
                               {"podSelector": {"matchLabels": {
                                   "security-groups.v2v.kubevirt.io/sg-1":
                                   "true"}}}],
                      "ports": [{"protocol": "TCP", "port": 8000,
                                 "endPort": 8080},
                                {"protocol": "SCTP"}, {"port": "https"}]}],
            egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]))
        self.assertEqual(status, 201, reply)
        status, got, _ = self.call(
            "GET", f"/apis/networking.k8s.io/v1/namespaces/{NS}/"
            "networkpolicies/np1")
        self.assertEqual(status, 200, got)
        self.assertEqual(got["spec"]["ingress"][0]["ports"][0]["endPort"],
                         8080)

    def assertInvalidNetpol(self, want, **spec):
        status, reply, _ = self.post_netpol(self.netpol("bad", **spec))
        self.assertEqual(status, 422, reply)
        self.assertStatus(reply, 422, "Invalid")
        self.assertIn(want, reply["message"])

    def test_networkpolicy_unknown_field_is_422(self):
        self.assertInvalidNetpol("froms", ingress=[{"froms": []}])

    def test_networkpolicy_bad_ports_are_422(self):
        def ing(*ports):
            return [{"ports": list(ports)}]
        self.assertInvalidNetpol("port: Invalid value: 0",
                                 ingress=ing({"protocol": "TCP", "port": 0}))
        self.assertInvalidNetpol("port: Invalid value: 70000",
                                 ingress=ing({"port": 70000}))
        self.assertInvalidNetpol("endPort: Invalid value: 80: may not be",
                                 ingress=ing({"endPort": 80}))
        self.assertInvalidNetpol("endPort: Invalid value: 80: must be",
                                 ingress=ing({"port": 443, "endPort": 80}))
        self.assertInvalidNetpol("endPort: Invalid value: 80: may not be",
                                 ingress=ing({"port": "http", "endPort": 80}))
        self.assertInvalidNetpol("protocol: Unsupported value: 'ICMP'",
                                 ingress=ing({"protocol": "ICMP"}))

    def test_networkpolicy_bad_peers_are_422(self):
        self.assertInvalidNetpol("must be a valid CIDR", ingress=[
            {"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}])
        self.assertInvalidNetpol("strict subset", ingress=[
            {"from": [{"ipBlock": {"cidr": "10.0.0.0/16",
                                   "except": ["10.1.0.0/24"]}}]}])
        self.assertInvalidNetpol("more than 1 peer type", egress=[
            {"to": [{"ipBlock": {"cidr": "10.0.0.0/16"},
                     "podSelector": {}}]}])
        self.assertInvalidNetpol("must specify a peer", ingress=[
            {"from": [{}]}])
        self.assertInvalidNetpol("matchLabels: Invalid value: 'a b'",
                                 ingress=[{"from": [{"podSelector": {
                                     "matchLabels": {"app": "a b"}}}]}])

    def test_networkpolicy_bad_policy_type_is_422(self):
        self.assertInvalidNetpol("Unsupported value: 'Both'",
                                 policyTypes=["Both"])

    # -- updates --

    def test_merge_patch_annotations(self):
        self.call("POST", self.pods(), pod("pp"))
        status, out, _ = self.call(
            "PATCH", self.pods("pp"),
            {"metadata": {"annotations": {"v2v.example/phase": "copy"}}},
            ctype="application/merge-patch+json")
        self.assertEqual(status, 200, out)
        self.assertEqual(out["metadata"]["annotations"],
                         {"v2v.example/phase": "copy"})
        status, out, _ = self.call(
            "PATCH", self.pods("pp"),
            {"metadata": {"annotations": {"v2v.example/phase": None,
                                          "b": "2"}}},
            ctype="application/strategic-merge-patch+json")
        self.assertEqual(out["metadata"]["annotations"], {"b": "2"})

    def test_patch_adding_unknown_field_is_422_and_not_stored(self):
        self.call("POST", self.pods(), pod("pu"))
        status, reply, _ = self.call(
            "PATCH", self.pods("pu"), {"metadata": {"colour": "blue"}},
            ctype="application/merge-patch+json")
        self.assertEqual(status, 422, reply)
        _, got, _ = self.call("GET", self.pods("pu"))
        self.assertNotIn("colour", got["metadata"])

    def test_patch_wrong_content_type_is_415(self):
        self.call("POST", self.pods(), pod("pc"))
        status, reply, _ = self.call("PATCH", self.pods("pc"), {},
                                     ctype="application/json")
        self.assertEqual(status, 415)
        self.assertStatus(reply, 415, "UnsupportedMediaType")

    def test_json_patch(self):
        self.call("POST", self.pods(), pod("pj", {"a": "1"}))
        ops = [{"op": "test", "path": "/metadata/labels/a", "value": "1"},
               {"op": "add", "path": "/metadata/labels/b", "value": "2"},
               {"op": "replace", "path": "/metadata/labels/a", "value": "3"},
               {"op": "add", "path": "/metadata/annotations",
                "value": {"x~y/z": "1"}},
               {"op": "remove", "path": "/metadata/annotations/x~0y~1z"}]
        status, out, _ = self.call("PATCH", self.pods("pj"), ops,
                                   ctype="application/json-patch+json")
        self.assertEqual(status, 200, out)
        self.assertEqual(out["metadata"]["labels"], {"a": "3", "b": "2"})
        self.assertEqual(out["metadata"]["annotations"], {})
        status, _, _ = self.call(
            "PATCH", self.pods("pj"),
            [{"op": "test", "path": "/metadata/labels/a", "value": "1"}],
            ctype="application/json-patch+json")
        self.assertEqual(status, 422)

    def test_status_subresource(self):
        self.call("POST", self.pods(), pod("ps"))
        status, out, _ = self.call(
            "PATCH", self.pods("ps") + "/status",
            {"status": {"phase": "Running"},
             "metadata": {"labels": {"ignored": "yes"}}},
            ctype="application/merge-patch+json")
        self.assertEqual(status, 200, out)
        self.assertEqual(out["status"]["phase"], "Running")
        self.assertNotIn("labels", out["metadata"])

    def test_put_stale_resource_version_is_409(self):
        _, made, _ = self.call("POST", self.pods(), pod("pv"))
        made["metadata"]["labels"] = {"a": "b"}
        status, newer, _ = self.call("PUT", self.pods("pv"), made)
        self.assertEqual(status, 200, newer)
        status, reply, _ = self.call("PUT", self.pods("pv"), made)
        self.assertEqual(status, 409)
        self.assertStatus(reply, 409, "Conflict")

    def test_delete(self):
        self.call("POST", self.pods(), pod("pd"))
        status, _, _ = self.call("DELETE", self.pods("pd") +
                                 "?propagationPolicy=Background")
        self.assertEqual(status, 200)
        self.assertEqual(self.call("GET", self.pods("pd"))[0], 404)
        self.assertEqual(self.call("DELETE", self.pods("pd"))[0], 404)

    def test_delete_collects_owned_objects(self):
        # Any kind but a Job: Background by default, so what the deleted
        # object owned goes too; Orphan keeps it, without the reference.
        for owner_name, query, kept in (("own-a", "", False),
                                        ("own-b", "?propagationPolicy=Orphan",
                                         True)):
            status, owner, _ = self.call("POST", self.pods(), pod(owner_name))
            self.assertEqual(status, 201, owner)
            dep = pod(owner_name + "-dep")
            dep["metadata"]["ownerReferences"] = [{
                "apiVersion": "v1", "kind": "Pod", "name": owner_name,
                "uid": owner["metadata"]["uid"]}]
            self.assertEqual(self.call("POST", self.pods(), dep)[0], 201)
            status, _, _ = self.call("DELETE", self.pods(owner_name) + query)
            self.assertEqual(status, 200)
            status, got, _ = self.call("GET", self.pods(owner_name + "-dep"))
            self.assertEqual(status, 200 if kept else 404)
            if kept:
                self.assertNotIn("ownerReferences", got["metadata"])

    def test_keep_alive(self):
        # libcurl reuses connections: several requests, one connection.
        c = self.conn()
        for _ in range(3):
            status, _, r = self.call("GET", self.pods(), conn=c)
            self.assertEqual(status, 200)
            self.assertFalse(r.will_close)
        status, _, _ = self.call("POST", self.pods(), b"{bad", conn=c)
        self.assertEqual(status, 400)
        self.assertEqual(self.call("GET", self.pods(), conn=c)[0], 200)
        c.close()

    # -- faults --

    def test_fault_500_twice_then_success(self):
        self.control("POST", "/_fake/faults", [
            {"method": "GET", "path_regex": "/pods$", "times": 2,
             "status": 500}])
        self.assertEqual(self.call("GET", self.pods())[0], 500)
        self.assertEqual(self.call("GET", self.pods())[0], 500)
        self.assertEqual(self.call("GET", self.pods())[0], 200)

    def test_fault_429_retry_after(self):
        self.control("POST", "/_fake/faults", [
            {"method": None, "path_regex": None, "times": 1, "status": 429,
             "retry_after": 3}])
        status, reply, r = self.call("GET", self.pods())
        self.assertEqual(status, 429)
        self.assertEqual(r.getheader("Retry-After"), "3")
        self.assertStatus(reply, 429, "TooManyRequests")
        self.assertEqual(self.call("GET", self.pods())[0], 200)

    def test_fault_drop(self):
        self.control("POST", "/_fake/faults", [{"times": 1, "drop": True}])
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionError, ssl.SSLError)):
            self.call("GET", self.pods())
        self.assertEqual(self.call("GET", self.pods())[0], 200)
        self.assertTrue(self.control("GET", "/_fake/requests")[-2]["dropped"])

    def test_fault_delay(self):
        self.control("POST", "/_fake/faults", [{"times": 1, "delay": 0.3}])
        t0 = time.monotonic()
        self.assertEqual(self.call("GET", self.pods())[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)

    def test_outage(self):
        self.control("POST", "/_fake/outage", {"status": 503})
        status, reply, _ = self.call("GET", self.pods())
        self.assertEqual(status, 503)
        self.assertStatus(reply, 503, "ServiceUnavailable")
        self.control("POST", "/_fake/outage", {"status": None})
        self.assertEqual(self.call("GET", self.pods())[0], 200)

    # -- records --

    def test_record_line(self):
        self.call("POST", self.pods() + "?dryRun=All", pod("rec"))
        with open(self.fake.record) as f:
            last = json.loads(f.readlines()[-1])
        self.assertEqual(last["method"], "POST")
        self.assertEqual(last["path"], self.pods())
        self.assertEqual(last["query"], {"dryRun": "All"})
        self.assertEqual(last["content_type"], "application/json")
        self.assertEqual(last["status"], 201)
        self.assertEqual(last["auth"], "valid")
        self.assertEqual(last["body"]["metadata"]["name"], "rec")
        self.assertNotIn(TOKEN, json.dumps(last))
        # dryRun validated but stored nothing.
        self.assertEqual(self.call("GET", self.pods("rec"))[0], 404)

    # -- TLS --

    def test_rogue_ca_refuses_real_server(self):
        ctx = ssl.create_default_context(
            cafile=os.path.join(self.certs, "rogue-ca.crt"))
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.call("GET", self.pods(), conn=self.conn(ctx=ctx))

    def test_real_ca_refuses_rogue_server(self):
        rogue = Fake(self.tmp, self.certs, "--token", TOKEN,
                     cert="rogue-server")
        try:
            with self.assertRaises(ssl.SSLCertVerificationError):
                self.call("GET", self.pods(), conn=self.conn(port=rogue.port))
        finally:
            rogue.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
