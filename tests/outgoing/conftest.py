"""A real receiver for outgoing webhooks: an HTTP server thread on 127.0.0.1 that records what it gets
and answers from a plan (a status code, or "hang" to never answer in time), and a signature check
written here from the documented scheme, independent of portal/outgoing/signing.py."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a product's receiver does (docs/api.md): recompute HMAC-SHA256 of "<t>.<body>"."""
    match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", header or "")
    if not match:
        return False
    expected = hmac.new(secret.encode(), match.group(1).encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match.group(2))


class Receiver:
    def __init__(self):
        self.received: list[dict] = []
        self.plan: list = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append({"headers": dict(self.headers), "body": body, "path": self.path})
                action = receiver.plan.pop(0) if receiver.plan else 200
                if action == "hang":
                    receiver.release.wait(10)
                    return
                self.send_response(action)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/maestra-events"

    def events(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.received]

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()
