"""The events a stored webhook batch causes, recorded in ingest's own transaction with ONE call
per batch: message.received, message.status, conversation.updated, account.alert and
template.status, only for products with an endpoint subscribed to them (one lookup when none is)."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from ..models import Message
from .events import as_uuid, new_event, record_many, stable_id, subscribers_of

messages = Message.__table__
TEMPLATE_FIELDS = {"message_template_status_update", "message_template_quality_update",
                   "message_template_components_update", "template_category_update"}


def record_batch(conn, new_messages: list[dict], statuses: list[dict], new_events: list[dict],
                 contact_names: dict) -> int:
    """Record the batch's events; `new_messages` are the inbound rows this batch inserted, `new_events`
    the account events it inserted (a redelivered webhook adds nothing)."""
    products = {as_uuid(r["product_id"]) for r in (*new_messages, *statuses, *new_events)}
    if not products:
        return 0
    subscribers = subscribers_of(conn, products)
    if not subscribers:
        return 0
    wants = {key for key, endpoints in subscribers.items() if endpoints}

    def subscribed(product_id, type_):
        return (product_id, type_) in wants

    names = {as_uuid(product_id): by_wa_id for product_id, by_wa_id in contact_names.items()}
    rows = []
    rows += _received(new_messages, names, subscribed)
    rows += _conversations(new_messages, subscribed)
    rows += _statuses(conn, statuses, subscribed)
    rows += _account(new_events, subscribed)
    return record_many(conn, rows, subscribers)


def _message_data(row: dict) -> dict:
    from ..api.schemas import MessageOut

    values = dict(row)
    for key in ("id", "product_id", "conversation_id"):
        if values.get(key) is not None:
            values[key] = as_uuid(values[key])
    return MessageOut().dump(values)


def _received(rows, contact_names, subscribed) -> list[dict]:
    events = []
    for row in rows:
        product_id = as_uuid(row["product_id"])
        if not subscribed(product_id, "message.received"):
            continue
        wa_id = row.get("contact_wa_id")
        name = contact_names.get(product_id, {}).get(wa_id) if wa_id else None
        data = {"message": _message_data(row), "contact": {"wa_id": wa_id, "profile_name": name}}
        events.append(new_event(product_id, "message.received", data, stable_id(product_id, "message.received", row["wamid"])))
    return events


def _conversations(rows, subscribed) -> list[dict]:
    latest: dict = {}
    for row in rows:
        product_id = as_uuid(row["product_id"])
        if row.get("conversation_id") is None or row["type"] == "reaction" or not subscribed(product_id, "conversation.updated"):
            continue
        at = row.get("sent_at") or row["created_at"]
        key = (product_id, as_uuid(row["conversation_id"]))
        if key not in latest or at >= latest[key][0]:
            latest[key] = (at, row)
    events = []
    for (product_id, conversation_id), (at, row) in sorted(latest.items(), key=lambda item: str(item[0])):
        data = {"conversation": {"id": str(conversation_id), "phone_number_id": row["phone_number_id"],
                                 "contact_wa_id": row.get("contact_wa_id"), "last_message_at": _iso(at),
                                 "last_inbound_at": _iso(at), "window_open": True},
                "reason": "message.received"}
        events.append(new_event(product_id, "conversation.updated", data,
                                stable_id(product_id, "conversation.updated", conversation_id, row["wamid"])))
    return events


def _statuses(conn, rows, subscribed) -> list[dict]:
    wanted = [r for r in rows if subscribed(as_uuid(r["product_id"]), "message.status")]
    if not wanted:
        return []
    ids = {}
    by_product = defaultdict(set)
    for r in wanted:
        by_product[as_uuid(r["product_id"])].add(r["wamid"])
    for product_id, wamids in by_product.items():
        for message_id, wamid in conn.execute(select(messages.c.id, messages.c.wamid).where(
                messages.c.product_id == product_id, messages.c.wamid.in_(sorted(wamids)))):
            ids[(product_id, wamid)] = str(as_uuid(message_id))
    events = []
    for r in wanted:
        product_id = as_uuid(r["product_id"])
        data = {"message_id": ids.get((product_id, r["wamid"])), "wamid": r["wamid"], "status": r["status"],
                "status_at": _iso(r.get("status_at")), "error_code": r.get("error_code"),
                "error_title": r.get("error_title")}
        events.append(new_event(product_id, "message.status", data,
                                stable_id(product_id, "message.status", r["wamid"], r["status"])))
    return events


def _account(rows, subscribed) -> list[dict]:
    events = []
    for r in rows:
        product_id = as_uuid(r["product_id"])
        type_ = "template.status" if r["field"] in TEMPLATE_FIELDS else "account.alert"
        if not subscribed(product_id, type_):
            continue
        change = r["payload"].get("change", {}) if isinstance(r["payload"], dict) else {}
        data = {"field": r["field"], "phone_number_id": r.get("phone_number_id"),
                "business_account_id": r.get("business_account_id"), "value": change.get("value")}
        events.append(new_event(product_id, type_, data, stable_id(product_id, type_, r["event_key"])))
    return events


def _iso(value):
    return value.isoformat() + "+00:00" if value is not None else None
