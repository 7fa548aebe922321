#!/usr/bin/env python3
"""A --status-url receiver for tests: answers 204 to every POST and
appends {"ct": Content-Type, "body": parsed JSON} to OUT, one line each.

    status-receiver.py OUT PORTFILE     (the port is written to PORTFILE)
"""
import http.server
import json
import os
import sys

out, portfile = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(out, "a") as f:
            f.write(json.dumps({"ct": self.headers["Content-Type"],
                                "body": json.loads(body)}) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
