"""Idempotency-Key: the first answer to a POST is kept and a retried POST gets it again.

The claim is an INSERT on the unique (product_id, idempotency_key), committed before
anything is sent: of two concurrent identical POSTs exactly one inserts, the other
finds the row and answers from it (or 409 "in progress" while the first still runs).
It is never "look, then insert": that would let both pass between the look and the insert.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..jobs import crontab, periodic
from ..models import IdempotentRequest, Message, utcnow
from .errors import ApiError

MAX_KEY = 255
KEPT_FOR = timedelta(hours=24)  # a retry comes within minutes; a day is what Stripe keeps too


@dataclass
class Replay:
    status: int
    body: dict


def fingerprint(method: str, path: str, body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def claim(key: str, print_: str) -> IdempotentRequest | Replay:
    """The new claim of `key` (committed), or the Replay of the request that claimed it first."""
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ApiError(400, "invalid_idempotency_key", f"Idempotency-Key must be 1 to {MAX_KEY} printable characters.")
    record = IdempotentRequest(idempotency_key=key, fingerprint=print_)
    db.session.add(record)
    try:
        db.session.commit()
        return record
    except IntegrityError:
        db.session.rollback()
    first = db.session.execute(select(IdempotentRequest).where(IdempotentRequest.idempotency_key == key)).scalar_one()
    if first.fingerprint != print_:
        raise ApiError(422, "idempotency_key_reused",
                       "This Idempotency-Key was used for a different request; use a new key for a new request.")
    if first.response_status is not None:
        return Replay(first.response_status, first.response_body)
    message = db.session.get(Message, first.message_id) if first.message_id else None
    if message is not None and message.status != "pending":  # the first request died after sending
        return Replay(202, {"id": str(message.id), "status": message.status})
    raise ApiError(409, "idempotency_in_progress",
                   "A request with this Idempotency-Key is still being processed; retry shortly.", {"Retry-After": "1"})


def complete(record: IdempotentRequest, status: int, body: dict) -> None:
    record.response_status = status
    record.response_body = body
    db.session.commit()


def abandon(record: IdempotentRequest) -> None:
    """The first request failed before it stored a message: free the key so a retry runs again."""
    db.session.rollback()
    if record.message_id is None:
        db.session.delete(db.session.merge(record))
        db.session.commit()


@periodic(crontab(minute="17"))
def forget_old_keys() -> None:
    """Idempotency keys older than KEPT_FOR are forgotten (every product, hourly)."""
    db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < utcnow() - KEPT_FOR)
                       .execution_options(all_products=True, synchronize_session=False))
    db.session.commit()
