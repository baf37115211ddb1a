"""Delivering webhooks to the portal as Meta does: signed, retried, some of them later.

`deliver()` posts now; `schedule()` posts after a delay from one background
thread (status webhooks trail a send by a moment, as at Meta). A failed
delivery is retried a few times with a growing pause. `flush()` delivers
everything pending at once, so tests need no sleeping. The transport is
injectable: `transport(url, body, headers) -> HTTP status` (raise on network error).
"""
from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlencode

import requests

log = logging.getLogger(__name__)

RETRY_DELAYS = (1.0, 4.0, 15.0)  # Meta retries at once, then less and less often


def signature(body: bytes, app_secret: str) -> str:
    """X-Hub-Signature-256: HMAC-SHA256 of the raw body with the app secret."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signed_request(payload: dict, app_secret: str) -> str:
    """Meta's signed_request: base64url(HMAC-SHA256 of the encoded payload) "." base64url(payload)."""
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    digest = hmac.new(app_secret.encode(), encoded.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() + "." + encoded


def http_transport(url: str, body: bytes, headers: dict) -> int:
    return requests.post(url, data=body, headers=headers, timeout=10).status_code


@dataclass
class Delivery:
    """One attempt, for the log on the controls page."""

    at: float
    summary: str
    status: int | None  # None: the portal could not be reached
    attempt: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Dispatcher:
    def __init__(self, url: str, app_secret: str, transport=None, log_size: int = 100):
        self.url = url
        self.app_secret = app_secret
        self.transport = transport or http_transport
        self.log: deque[Delivery] = deque(maxlen=log_size)
        self.last_body: bytes | None = None
        self._queue: list[tuple[float, int, bytes, str, int, object]] = []
        self._order = itertools.count()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    # --- sending ------------------------------------------------------------

    def deliver(self, payload: dict | bytes, summary: str = "", attempt: int = 1, remember: bool = True) -> Delivery:
        """POST now, signed; retried later if the portal does not answer 2xx."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
        if remember:
            self.last_body = body
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature(body, self.app_secret),
                   "User-Agent": "facebookexternalua"}
        try:
            status = self.transport(self.url, body, headers)
        except Exception as error:  # the portal is down or unreachable: retry like Meta
            log.info("sandbox webhook to %s failed: %s", self.url, type(error).__name__)
            status = None
        delivery = Delivery(time.time(), summary or _summarize(body), status, attempt)
        self.log.appendleft(delivery)
        if not delivery.ok and attempt <= len(RETRY_DELAYS):
            self._push(RETRY_DELAYS[attempt - 1], body, delivery.summary, attempt + 1)
        return delivery

    def post_form(self, url: str, fields: dict) -> int | None:
        """A plain form POST (Meta's app callbacks: deauthorize, data deletion); None if unreachable."""
        body = urlencode(fields).encode()
        try:
            return self.transport(url, body, {"Content-Type": "application/x-www-form-urlencoded",
                                              "User-Agent": "facebookexternalua"})
        except Exception as error:
            log.info("sandbox callback to %s failed: %s", url, type(error).__name__)
            return None

    def resend_last(self) -> Delivery | None:
        """The same body again (a duplicate, as Meta's at-least-once delivery sends)."""
        if self.last_body is None:
            return None
        return self.deliver(self.last_body, "duplicate: " + _summarize(self.last_body))

    def schedule(self, delay: float, payload: dict, summary: str = "", on_due=None) -> None:
        """Deliver `payload` after `delay` seconds; `on_due()` runs first (the event happens then)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._push(delay, body, summary or _summarize(body), 1, on_due)

    def pending(self) -> int:
        with self._cv:
            return len(self._queue)

    def flush(self) -> list[Delivery]:
        """Deliver every pending webhook now, in due order (tests, CLI)."""
        done = []
        while True:
            with self._cv:
                if not self._queue:
                    return done
                item = heapq.heappop(self._queue)
            done.append(self._fire(item))

    # --- the background thread -------------------------------------------------

    def start(self) -> None:
        with self._cv:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify_all()

    def _push(self, delay: float, body: bytes, summary: str, attempt: int, on_due=None) -> None:
        with self._cv:
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._order), body, summary, attempt, on_due))
            self._cv.notify_all()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopped and (not self._queue or self._queue[0][0] > time.monotonic()):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cv.wait(timeout)
                if self._stopped:
                    return
                item = heapq.heappop(self._queue)
            self._fire(item)

    def _fire(self, item) -> Delivery:
        _, _, body, summary, attempt, on_due = item
        if on_due is not None:
            try:
                on_due()
            except Exception:  # bookkeeping must never stop the webhooks
                log.exception("sandbox: scheduled callback failed")
        # A scheduled status is a webhook like any other ("resend last" may duplicate it); a retry is not new.
        return self.deliver(body, summary, attempt, remember=attempt == 1)


def _summarize(body: bytes) -> str:
    try:
        payload = json.loads(body)
        parts = []
        for entry in payload.get("entry", []):
            for change in entry.get("changes", []):
                value = change.get("value", {})
                if value.get("messages"):
                    parts += [f"message {m.get('type')}" for m in value["messages"]]
                elif value.get("statuses"):
                    parts += [f"status {s.get('status')}" for s in value["statuses"]]
                else:
                    parts.append(str(change.get("field")))
        return ", ".join(parts[:3]) + (f" (+{len(parts) - 3} more)" if len(parts) > 3 else "")
    except (ValueError, AttributeError):
        return "webhook"
