"""What the strict fakes of tests/fakes/ share: the HTTP plumbing.

kube-apiserver.py and ec2-emulator.py speak different protocols, check
different things and keep different state, but under that they are the
same server: HTTP/1.1 with keep-alive on loopback, TLS when asked for, a
bounded request body, one JSON record line per API request, fault rules
that delay, drop or fail requests, a control API under /_fake/, and the
same command-line options to start them.  That part lives here, once;
each fake keeps its own protocol, validation and error format.

A fake is built from three classes and one call:

  - a FakeState subclass: its lock, request record and fault rules, with
    the fake's own FAULT_KEYS, check_fault_rule() and reset();
  - a FakeHandler subclass: its name for the log, the methods it serves,
    MAX_BODY, dispatch() for every request, send_json() for the control
    API and control_error() for the fake's error format;
  - add_server_options() on its ArgumentParser, and serve() in its main().

See docs/testing-fakes.md.
"""

import datetime
import http.server
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time


class DropConnection(Exception):
    """Raised by FakeHandler.drop(): the connection is gone, reply nothing."""


class BodyError(Exception):
    """A request body that cannot be read: STATUS is 400 or 413.

    The fake answers it in its own error format; the connection is already
    marked to close, since the rest of the body was not read."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class FaultRuleError(ValueError):
    """A fault rule list that cannot be used; the message names the rule."""


class ControlError(Exception):
    """A control API request refused with STATUS and MESSAGE."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def record_time():
    """The "time" of a record line: UTC, microseconds, a trailing Z."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="microseconds").replace("+00:00", "Z")


# --- fault rules -------------------------------------------------------------

# The keys that make a rule do something; a rule needs one of those its
# fake knows.  drop counts only when true.
FAULT_EFFECTS = ("status", "code", "drop", "delay")


def _has_effect(rule):
    return any(bool(rule.get(k)) if k == "drop" else rule.get(k) is not None
               for k in FAULT_EFFECTS)


def check_fault_rules(rules, keys, check_rule=None):
    """Validate a JSON list of fault rules and return copies of them.

    Each rule is an object with only KEYS and at least one of the effects
    (FAULT_EFFECTS) among KEYS.  CHECK_RULE(i, rule), if given, checks the
    fake's own keys and raises FaultRuleError.  Raises FaultRuleError."""
    if not isinstance(rules, list):
        raise FaultRuleError("fault rules must be a JSON list")
    effects = [k for k in FAULT_EFFECTS if k in keys]
    needs = ", ".join(effects[:-1]) + " or " + effects[-1]
    out = []
    for i, r in enumerate(rules):
        if not isinstance(r, dict):
            raise FaultRuleError(f"fault rule {i} must be an object")
        unknown = set(r) - set(keys)
        if unknown:
            raise FaultRuleError(f"fault rule {i}: unknown keys "
                                 f"{sorted(unknown)}")
        if check_rule is not None:
            check_rule(i, r)
        if not _has_effect(r):
            raise FaultRuleError(f"fault rule {i} needs {needs}")
        out.append(dict(r))
    return out


# --- state -------------------------------------------------------------------

class FakeState:
    """A fake's state, behind one lock: the request record and fault rules.

    Subclasses set FAULT_KEYS, define check_fault_rule(i, rule) for their
    own keys and reset() for the control API's /_fake/reset (called with
    the lock held), and keep everything else they know on self."""

    FAULT_KEYS = frozenset()

    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.requests = []
        self.faults = []
        self.record_file = None
        if args.record:
            self.record_file = open(args.record, "a", encoding="utf-8")

    def load_fault_file(self):
        """The rules of --faults, checked; [] without it."""
        if not self.args.faults:
            return []
        with open(self.args.faults, encoding="utf-8") as f:
            return self.check_faults(json.load(f))

    def check_faults(self, rules):
        return check_fault_rules(rules, self.FAULT_KEYS,
                                 self.check_fault_rule)

    def check_fault_rule(self, i, rule):
        """Check the fake's own keys of rule I; raise FaultRuleError."""

    def reset(self):
        raise NotImplementedError

    def counted(self, entry):
        """Called with the lock held for every record line; for counters."""

    def record(self, entry):
        """Keep one record line, and append it to --record."""
        with self.lock:
            self.requests.append(entry)
            self.counted(entry)
            if self.record_file:
                self.record_file.write(json.dumps(entry, sort_keys=True)
                                       + "\n")
                self.record_file.flush()

    def take_fault(self, matches, otherwise=None):
        """The first rule for which MATCHES(rule) is true and that has
        "times" left, using one of them up; else OTHERWISE() if given
        (with the lock held), else None.  Returns a copy."""
        with self.lock:
            for rule in self.faults:
                if not matches(rule):
                    continue
                if rule.get("times") is not None:
                    if rule["times"] <= 0:
                        continue
                    rule["times"] -= 1
                return dict(rule)
            if otherwise is not None:
                return otherwise()
        return None


# --- HTTP --------------------------------------------------------------------

class FakeHandler(http.server.BaseHTTPRequestHandler):
    """One connection to a fake.

    Subclasses set LOG_NAME, METHODS (each gets a do_METHOD that calls
    dispatch(); any other method is 501, as http.server answers),
    MAX_BODY and ACCEPT_CHUNKED, and define dispatch(), send_json(code,
    obj) and control_error(code, message); control_own(path, method,
    data) serves their own /_fake/ endpoints."""

    # libcurl keeps connections alive and reuses them; HTTP/1.0 would close
    # after every reply and hide bugs in how the client reuses them.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the second one
    # waits for the client's delayed ACK and every reply costs 40 ms.
    disable_nagle_algorithm = True

    LOG_NAME = "fake"
    METHODS = ()
    MAX_BODY = 1024 * 1024
    ACCEPT_CHUNKED = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # One entry point for every method served, so that the body is
        # always read (even for requests that are refused) and the
        # connection stays in step for the next request on it.
        for m in cls.METHODS:
            setattr(cls, "do_" + m, cls.dispatch)

    def dispatch(self):
        raise NotImplementedError

    def log_message(self, fmt, *args):
        if not self.server.state.args.quiet:
            sys.stderr.write("%s: %s\n" % (self.LOG_NAME, fmt % args))

    def read_body(self):
        """The request body, at most MAX_BODY bytes; raises BodyError.

        A chunked body raises ValueError or OSError if it is malformed."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            if not self.ACCEPT_CHUNKED:
                self.close_connection = True
                raise BodyError(400, "chunked request bodies are not "
                                "accepted")
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            self.close_connection = True
            raise BodyError(400, "bad Content-Length")
        if n > self.MAX_BODY:
            # The body is not read, so the connection cannot be reused.
            self.close_connection = True
            raise BodyError(413, "request entity too large")
        return self.rfile.read(n)

    def _read_chunked(self):
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                break
            total += size
            if total > self.MAX_BODY:
                self.close_connection = True
                raise BodyError(413, "request entity too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)
        return b"".join(chunks)

    def send_body(self, code, data, ctype, headers=()):
        """Answer CODE with DATA (bytes) and a Content-Length; no body for
        HEAD."""
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def drop(self):
        """Close the TCP (and TLS) connection without a byte of reply, as
        a crashed server or a cut network would; raises DropConnection."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise DropConnection()

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except DropConnection:
            self.close_connection = True

    def apply_fault(self, rule):
        """The delay and drop of a fault rule; the caller answers its
        status, in its own format."""
        if rule.get("delay"):
            time.sleep(float(rule["delay"]))
        if rule.get("drop"):
            self.drop()

    # -- the control API --

    @staticmethod
    def is_control(path):
        return path == "/_fake" or path.startswith("/_fake/")

    def send_json(self, code, obj):
        raise NotImplementedError

    def control_error(self, code, message):
        raise NotImplementedError

    def control_own(self, path, method, data):
        """Serve one of the fake's own /_fake/ endpoints; False if PATH
        is none of them.  May raise ControlError."""
        return False

    def control(self, path, body):
        """Serve /_fake/...: the request record, the fault rules and
        reset here, the rest in control_own()."""
        state = self.server.state
        m = self.command
        try:
            data = json.loads(body) if body.strip() else None
        except ValueError:
            self.control_error(400, "control body is not valid JSON")
            return
        try:
            if path == "/_fake/requests" and m == "GET":
                with state.lock:
                    self.send_json(200, list(state.requests))
            elif path == "/_fake/requests" and m == "DELETE":
                with state.lock:
                    state.requests.clear()
                self.send_json(200, [])
            elif path == "/_fake/faults" and m == "GET":
                with state.lock:
                    self.send_json(200, state.faults)
            elif path == "/_fake/faults" and m == "POST":
                rules = state.check_faults(data if data is not None else [])
                with state.lock:
                    state.faults = rules
                self.send_json(200, rules)
            elif path == "/_fake/reset" and m == "POST":
                with state.lock:
                    state.reset()
                self.send_json(200, {"reset": True})
            elif not self.control_own(path, m, data):
                self.control_error(404, f"no control endpoint {m} {path}")
        except (ControlError, FaultRuleError) as e:
            status = e.status if isinstance(e, ControlError) else 400
            self.control_error(status, str(e))


class FakeServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # Tests start and stop the fakes quickly on fresh ports; reuse avoids
    # TIME_WAIT trouble when a port is chosen explicitly.
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that refuses our certificate, or hangs up mid-request,
        # is what several tests do on purpose; a traceback would only hide
        # real problems in the ctest output.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, DropConnection,
                            socket.timeout)):
            return
        super().handle_error(request, client_address)


# --- starting and stopping ---------------------------------------------------

def add_server_options(ap, tls_required):
    """The options every fake has: where to listen, TLS, --record,
    --faults, --quiet.  With TLS_REQUIRED, --cert and --key must be
    given; otherwise they are optional and go together."""
    if tls_required:
        ap.add_argument("--cert", required=True,
                        help="server certificate (PEM)")
        ap.add_argument("--key", required=True,
                        help="server private key (PEM)")
    else:
        ap.add_argument("--cert", help="serve HTTPS with this certificate")
        ap.add_argument("--key", help="... and this key")
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0,
                    help="0 (the default) picks a free port")
    ap.add_argument("--port-file",
                    help="write the port here once listening (atomically)")
    ap.add_argument("--record", help="append one JSON line per API request")
    ap.add_argument("--faults", help="JSON list of fault rules")
    ap.add_argument("--quiet", action="store_true",
                    help="do not log requests to stderr")


def check_server_options(ap, args):
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")


def serve(name, handler, state, args, started=None, stopping=None):
    """Listen, write --port-file, serve until SIGTERM or SIGINT; return 0.

    NAME prefixes the log.  STARTED(port), if given, runs once the port is
    known and before --port-file is written (so a test that waits for the
    file finds the fake ready); STOPPING() runs when serving ends."""
    httpd = FakeServer((args.listen, args.port), handler)
    httpd.state = state
    scheme = "http"
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(args.cert, args.key)
        # The handshake happens in the handler thread on first read, so a
        # client that stalls in it cannot block accept() for everyone
        # else.
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True,
                                       do_handshake_on_connect=False)
        scheme = "https"
    port = httpd.server_address[1]
    if started is not None:
        started(port)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{port}\n")
        os.rename(tmp, args.port_file)
    if not args.quiet:
        sys.stderr.write(f"{name}: listening on "
                         f"{scheme}://{args.listen}:{port}\n")

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        httpd.serve_forever(poll_interval=0.1)
    finally:
        if stopping is not None:
            stopping()
    httpd.server_close()
    return 0
