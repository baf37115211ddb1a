"""Delivering an event to an endpoint: one signed POST per attempt, on the job engine.

A failed attempt (not 2xx, a timeout, a refused address) schedules the next one with
exponential backoff (30 s, 1 min, 2 min ... capped at an hour) for at least 24 hours after
the event; every attempt sends the same body with the same event id, so a receiver that
saw it already can tell. An endpoint that has failed for a day is paused (owners see it on
the dashboard and its page) and its deliveries wait until someone resumes it.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta

import certifi
import urllib3
from flask import current_app
from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..jobs import crontab, enqueue, job, periodic
from ..models import OutgoingDelivery, utcnow
from . import safety
from .signing import HEADER, signature

log = logging.getLogger(__name__)

FIRST_DELAY = 30  # seconds
MAX_DELAY = 3600
RETRY_FOR = timedelta(hours=24)
PAUSE_AFTER = timedelta(days=1)
SWEEP_GRACE = timedelta(minutes=5)
MAX_ANSWER_BYTES = 2048


def retry_delay(attempts: int) -> int:
    """Seconds before the next attempt, after `attempts` failed ones."""
    return min(FIRST_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)


def body_of(delivery: OutgoingDelivery) -> bytes:
    """The event as the receiver gets it: the same bytes at every attempt."""
    event = delivery.event
    return json.dumps({
        "id": str(event.id), "type": event.type, "created_at": event.created_at.isoformat() + "+00:00",
        "product_id": str(event.product_id), "data": event.data,
    }, separators=(",", ":"), sort_keys=True).encode()


@job(product_job=True)
def deliver(product_id, delivery_id) -> None:
    """One attempt at a delivery (runs with its product in scope)."""
    delivery = db.session.get(OutgoingDelivery, delivery_id)
    if delivery is None or delivery.status in ("delivered", "failed"):
        return
    endpoint = delivery.endpoint
    if endpoint.paused_at is not None:
        delivery.status, delivery.next_attempt_at = "paused", None
        db.session.commit()
        return
    code, error = post(endpoint.url, endpoint.secret, body_of(delivery), delivery)
    now = utcnow()
    delivery.attempts += 1
    delivery.response_code = code
    if code is not None and 200 <= code < 300:
        delivery.status, delivery.delivered_at, delivery.last_error, delivery.next_attempt_at = "delivered", now, None, None
        endpoint.failing_since = None
        db.session.commit()
        return
    delivery.last_error = (error or f"answered HTTP {code}")[:1000]
    endpoint.failing_since = endpoint.failing_since or now
    if now - endpoint.failing_since >= PAUSE_AFTER:
        _pause(endpoint, delivery, now)
        db.session.commit()
        return
    if now - delivery.created_at >= RETRY_FOR:
        delivery.status, delivery.next_attempt_at = "failed", None
        db.session.commit()
        return
    delay = retry_delay(delivery.attempts)
    delivery.status, delivery.next_attempt_at = "retrying", now + timedelta(seconds=delay)
    db.session.commit()
    enqueue(deliver, product_id, delivery_id, delay=delay)


def post(url: str, secret: str, body: bytes, delivery: OutgoingDelivery) -> tuple[int | None, str | None]:
    """POST `body` signed with `secret` to the checked address of `url`: (HTTP status, None) or (None, why)."""
    try:
        destination = safety.resolve(url)
    except safety.UnsafeDestination as refused:
        return None, str(refused)
    host = destination.host if ":" not in destination.host else f"[{destination.host}]"
    default_port = 443 if destination.scheme == "https" else 80
    headers = {
        "Host": host if destination.port == default_port else f"{host}:{destination.port}",
        "Content-Type": "application/json", "User-Agent": "Maestra-Webhooks/1",
        HEADER: signature(secret, body), "X-Maestra-Event-Id": str(delivery.event_id),
        "X-Maestra-Event-Type": delivery.event.type,
    }
    timeout = urllib3.Timeout(total=current_app.config["OUTGOING_WEBHOOK_TIMEOUT"])
    # The connection goes to the address that was checked; the name is kept for SNI and the certificate.
    if destination.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(destination.address, destination.port, timeout=timeout, retries=False,
                                           cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(),
                                           server_hostname=destination.host, assert_hostname=destination.host)
    else:
        pool = urllib3.HTTPConnectionPool(destination.address, destination.port, timeout=timeout, retries=False)
    try:
        response = pool.urlopen("POST", destination.path, body=body, headers=headers, redirect=False,
                                preload_content=False, assert_same_host=False)
        response.read(MAX_ANSWER_BYTES)
        response.release_conn()
        return response.status, None
    except urllib3.exceptions.TimeoutError:
        return None, "timed out"
    except urllib3.exceptions.HTTPError as error:
        return None, f"could not connect ({type(error).__name__})"
    finally:
        pool.close()


def _pause(endpoint, delivery, now) -> None:
    endpoint.paused_at = now
    endpoint.paused_reason = f"Paused after failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC: {delivery.last_error}"[:512]
    delivery.status, delivery.next_attempt_at = "paused", None
    audit.record("outgoing.endpoint_paused", product_id=endpoint.product_id, user_id=None, endpoint_id=str(endpoint.id),
                 url=endpoint.url)
    log.warning("outgoing endpoint %s paused after a day of failures", endpoint.id)


def resend(delivery: OutgoingDelivery) -> None:
    """Send a delivery again (from the log); the caller commits, the job runs after the commit."""
    from ..jobs import enqueue_after_commit

    delivery.status, delivery.next_attempt_at = "pending", utcnow()
    enqueue_after_commit(deliver, delivery.product_id, delivery.id)


@periodic(crontab(minute="*/5"))
def sweep() -> None:
    """Enqueue deliveries whose job was lost (a crash between commit and enqueue, a worker gone):
    the database is the truth; a delivery sent twice carries the same event id."""
    late = db.session.execute(
        select(OutgoingDelivery.product_id, OutgoingDelivery.id)
        .where(OutgoingDelivery.status.in_(("pending", "retrying")),
               OutgoingDelivery.next_attempt_at < utcnow() - SWEEP_GRACE)
        .execution_options(all_products=True).limit(1000)
    ).all()
    for product_id, delivery_id in late:
        enqueue(deliver, product_id, delivery_id)
