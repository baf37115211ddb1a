"""The event outbox: an event is a row written in the same transaction as what caused it,
with one delivery row per endpoint that subscribed to its type; a job sends each delivery
once that transaction commits (and the periodic sweep if the enqueue was lost).

Event ids are stable: derived from what happened (the message's wamid, a status and its
message) where the same fact can be seen twice (Meta redelivers), so recording it again
inserts nothing and receivers get one id per fact.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..jobs import enqueue_after_commit
from ..models import OutgoingDelivery, OutgoingEndpoint, OutgoingEvent, utcnow
from ..models.base import uuid7

EVENT_TYPES = ("message.received", "message.status", "message.sent", "conversation.updated", "account.alert",
               "template.status")
_NAMESPACE = uuid.UUID("6f0c1c1e-9a51-4c1b-9e38-3f2b5d0a7e11")

endpoints = OutgoingEndpoint.__table__
events = OutgoingEvent.__table__
deliveries = OutgoingDelivery.__table__


def stable_id(product_id, *parts) -> uuid.UUID:
    """The same id for the same fact of the same product, however often it is recorded."""
    return uuid.uuid5(_NAMESPACE, "|".join([str(product_id), *map(str, parts)]))


def new_event(product_id, type_: str, data: dict, event_id: uuid.UUID | None = None,
              at: datetime | None = None) -> dict:
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    return {"id": event_id or uuid7(), "product_id": as_uuid(product_id), "type": type_, "data": data,
            "created_at": at or utcnow()}


def record(product_id, type_: str, data: dict, event_id: uuid.UUID | None = None) -> None:
    """Record one event in the session's transaction (the caller commits)."""
    record_many(db.session.connection(), [new_event(product_id, type_, data, event_id)])


def record_message_sent(message) -> None:
    """message.sent, in the transaction that stores the wamid Meta answered."""
    from ..api.schemas import MessageOut

    record(message.product_id, "message.sent", {"message": MessageOut().dump(message)},
           stable_id(message.product_id, "message.sent", message.id))


def record_many(conn, rows: list[dict], subscribers: dict | None = None) -> int:
    """Record events (from `new_event`) on `conn`, only for products with an endpoint subscribed
    to their type: one lookup, then one bulk insert per table. Returns how many deliveries."""
    from ..webhook.upsert import insert_ignoring_conflicts  # (the webhook package imports this module)

    if not rows:
        return 0
    if subscribers is None:
        subscribers = subscribers_of(conn, {row["product_id"] for row in rows})
    wanted = [row for row in rows if subscribers.get((row["product_id"], row["type"]))]
    if not wanted:
        return 0
    wanted.sort(key=lambda row: row["id"])
    inserted = {as_uuid(event_id) for (event_id,) in
                insert_ignoring_conflicts(conn, events, wanted, ["id"], returning=events.c.id)}
    now = utcnow()
    new_deliveries = [
        {"id": uuid7(), "product_id": row["product_id"], "event_id": row["id"], "endpoint_id": endpoint_id,
         "status": "paused" if paused else "pending", "attempts": 0, "next_attempt_at": None if paused else now,
         "created_at": now}
        for row in wanted if row["id"] in inserted
        for endpoint_id, paused in subscribers[(row["product_id"], row["type"])]
    ]
    insert_ignoring_conflicts(conn, deliveries, new_deliveries, ["event_id", "endpoint_id"])
    from .delivery import deliver

    for row in new_deliveries:
        if row["status"] == "pending":
            enqueue_after_commit(deliver, row["product_id"], row["id"])
    return len(new_deliveries)


def subscribers_of(conn, product_ids: set) -> dict[tuple, list[tuple]]:
    """(product_id, event type) -> [(endpoint id, paused)] for the given products (one query)."""
    found: dict[tuple, list[tuple]] = {}
    for endpoint_id, product_id, types, paused_at in conn.execute(
            select(endpoints.c.id, endpoints.c.product_id, endpoints.c.events, endpoints.c.paused_at)
            .where(endpoints.c.product_id.in_(sorted(product_ids)))):
        for type_ in types or ():
            found.setdefault((as_uuid(product_id), type_), []).append((as_uuid(endpoint_id), paused_at is not None))
    return found


def as_uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
