"""The Meta sandbox as the soak runs it (a process of its own; not part of the portal).

    python bench/soaklib/sandbox_server.py --port P --webhook-url http://127.0.0.1:Q/webhook --products 10

The unchanged sandbox app (portal/sandbox) with, on top, only what a soak needs:
  - a bigger world: N extra businesses, one WABA each with two CLOUD_API numbers, the
    app subscribed, one business (system user) token each, and every customer's 24-hour
    window open (the soak's customers write through signed webhooks, not through the sandbox);
  - Meta's persistence: a status webhook the portal did not answer 200 is retried until it is
    (the sandbox's own Dispatcher gives up after 3 retries; here it keeps going);
  - fault injection on Graph calls (a WSGI wrapper): a share answers HTTP 500 with Meta's
    transient error envelope, or hangs longer than the portal's META_HTTP_TIMEOUT (and is
    then dropped, never executed);
  - /soak/* JSON controls: the world and its tokens, the faults, and the state (webhooks still
    queued, every delivery's HTTP status, every outbound message's latest status);
  - with --media-files N: N files per number (a photo, a PDF and a voice note in turn) held by the
    sandbox's own media store, so `GET /{media-id}` and the download URL answer for them with the
    owning business's token, exactly as for the demo's customer media (portal/sandbox/graph_media.py).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import requests
from flask import Blueprint, jsonify, request

GRAPH_PATH = re.compile(r"^/v\d+\.\d+/")
# Meta's own answer to a transient failure (HTTP 500).
TRANSIENT_ERROR = {"message": "An unexpected error has occurred. Please retry your request later.",
                   "type": "OAuthException", "is_transient": True, "code": 2}


class Faults:
    """A share of Graph calls answers 500 (half of the faults) or hangs (the other half)."""

    def __init__(self):
        self.rate = 0.0
        self.hang_seconds = 3.0
        self.counts: Counter = Counter()
        self.lock = threading.Lock()

    def wrap(self, wsgi_app):
        def app(environ, start_response):
            path = environ.get("PATH_INFO", "")
            if self.rate and GRAPH_PATH.match(path) and random.random() < self.rate:
                if random.random() < 0.5:
                    with self.lock:
                        self.counts["graph_500"] += 1
                    body = json.dumps({"error": {**TRANSIENT_ERROR, "fbtrace_id": "ASoakFault"}}).encode()
                    start_response("500 Internal Server Error", [("Content-Type", "application/json"),
                                                                 ("Content-Length", str(len(body)))])
                    return [body]
                with self.lock:
                    self.counts["graph_hang"] += 1
                time.sleep(self.hang_seconds)  # the portal gave up long ago; the call is never executed
                start_response("504 Gateway Timeout", [("Content-Length", "0")])
                return [b""]
            with self.lock:
                self.counts["graph_ok" if GRAPH_PATH.match(path) else "other"] += 1
            return wsgi_app(environ, start_response)

        return app


# What a customer sends (kind, MIME type, size in bytes, leading bytes): sizes of a phone photo
# after WhatsApp's compression, a one-page PDF and a few seconds of Opus.
MEDIA_SHAPES = (("image", "image/png", 60_000, b"\x89PNG\r\n\x1a\n"),
                ("document", "application/pdf", 90_000, b"%PDF-1.4\n"),
                ("audio", "audio/ogg", 25_000, b"OggS\x00\x02"))


def media_files(world, phone_id: str, count: int) -> list[dict]:
    """`count` files of one number in the sandbox's media store (random bytes behind a real header)."""
    out = []
    for n in range(count):
        kind, mime_type, size, head = MEDIA_SHAPES[n % len(MEDIA_SHAPES)]
        media = world.add_media(phone_id, mime_type, head + os.urandom(size - len(head)))
        out.append({"id": media.id, "kind": kind, "mime_type": mime_type, "sha256": media.sha256,
                    "filename": f"soak-{n}.pdf" if kind == "document" else "", "voice": kind == "audio"})
    return out


def build(webhook_url: str, products: int, customers: list[str], delays: str, media_per_number: int = 0):
    os.environ["PORTAL_ENV"] = "test"
    from portal.sandbox import create_app, delivery
    from portal.sandbox.world import CONFIG_SCOPES, Business, PhoneNumber, Waba

    # Meta retries an unanswered webhook for days; within a soak run, every few seconds.
    delivery.RETRY_DELAYS = (0.5, 1.0, 2.0) + (3.0,) * 200
    deliveries: list[tuple[float, int | None]] = []  # (epoch, HTTP status or None) of every sandbox webhook POST

    def transport(url, body, headers):
        try:
            status = requests.post(url, data=body, headers=headers, timeout=10).status_code
        except requests.RequestException:
            deliveries.append((time.time(), None))
            raise
        deliveries.append((time.time(), status))
        return status

    app = create_app({"PORTAL_WEBHOOK_URL": webhook_url, "SANDBOX_TRANSPORT": transport,
                      "SANDBOX_STATUS_DELAYS": tuple(float(d) for d in delays.split(","))})
    box = app.extensions["sandbox"]
    world = box.world
    world_out = []
    with world.lock:
        for i in range(1, products + 1):
            business = Business(f"290000000000{i:04d}", f"Soak Business {i:02d}", f"590000000000{i:04d}",
                                f"Soak Owner {i:02d}", [f"390000000000{i:04d}"])
            waba = Waba(business.waba_ids[0], f"Soak WABA {i:02d}", business.id, [], {box.app_id})
            world.businesses[business.id] = business
            world.wabas[waba.id] = waba
            phones = []
            for k in (1, 2):
                phone = PhoneNumber(f"49000000{i:04d}{k:04d}", waba.id, f"+1 555-{i:03d}-{k:04d}",
                                    f"Soak {i:02d}/{k}", "CLOUD_API")
                world.phones[phone.id] = phone
                waba.phone_ids.append(phone.id)
                for wa_id in customers:
                    world.last_inbound[f"{phone.id}|{wa_id}"] = world.now()
                phones.append({"id": phone.id, "digits": phone.digits, "display": phone.display,
                               "media": media_files(world, phone.id, media_per_number)})
            token = world._new_token(business, "SYSTEM_USER", list(CONFIG_SCOPES), expires_in=0)
            world_out.append({"business_id": business.id, "waba_id": waba.id, "phones": phones, "token": token.value})

    faults = Faults()
    controls = Blueprint("soak", __name__, url_prefix="/soak")

    @controls.get("/world")
    def soak_world():
        return jsonify(app_id=box.app_id, businesses=world_out)

    @controls.post("/faults")
    def soak_faults():
        body = request.get_json(force=True) or {}
        faults.rate = float(body.get("rate", faults.rate))
        faults.hang_seconds = float(body.get("hang_seconds", faults.hang_seconds))
        return jsonify(rate=faults.rate, hang_seconds=faults.hang_seconds)

    @controls.get("/state")
    def soak_state():
        with world.lock:
            outbound = {}
            for wamid, key in world.outbound.items():
                phone_id, _, wa_id = key.partition("|")
                status = next((m["status"] for m in world.conversations.get(key, []) if m["id"] == wamid), None)
                outbound[wamid] = {"phone_id": phone_id, "wa_id": wa_id, "status": status}
        return jsonify(pending=box.dispatcher.pending(), faults=dict(faults.counts), outbound=outbound,
                       deliveries=list(deliveries) if request.args.get("deliveries") else None)

    app.extensions["csrf"].exempt(controls)
    app.register_blueprint(controls)
    app.wsgi_app = faults.wrap(app.wsgi_app)
    return app


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--webhook-url", required=True)
    parser.add_argument("--products", type=int, default=10)
    parser.add_argument("--customers", required=True, help="comma-separated wa_ids whose windows are open")
    parser.add_argument("--status-delays", default="0,0.4,1.2")
    parser.add_argument("--media-files", type=int, default=0, help="files per number for customers' media messages")
    args = parser.parse_args()
    from werkzeug.serving import make_server

    app = build(args.webhook_url, args.products, args.customers.split(","), args.status_delays, args.media_files)
    server = make_server("127.0.0.1", args.port, app, threaded=True)

    def stop(*_):
        app.extensions["sandbox"].dispatcher.stop()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"soak sandbox on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
