"""One customer, one contact: joining the contacts that a phone number and a business-scoped
user id (BSUID) turn out to name together.

A customer with a WhatsApp username may first write with only a BSUID, and later with both ids
(or Meta announces a new BSUID or phone number in a system message). Their contacts then become
one: the oldest stays, the others' conversations and messages move to it, and it takes the ids.
This is the rare path of ingest (a handful per batch at most), so it reads and writes row by row,
cross-product like the rest of ingest: every statement names product_id itself.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, or_, select, update

from ..models import Contact, Conversation, Message

contacts = Contact.__table__
conversations = Conversation.__table__
messages = Message.__table__
_NEVER = datetime.min


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def apply(conn, changes: list[tuple[uuid.UUID, dict]]) -> None:
    """Each (product, ids) names one customer: previous and new BSUID, phone number and new phone number."""
    for product_id, ids in changes:
        join(conn, product_id, wa_id=ids.get("new_wa_id") or ids.get("wa_id"), user_id=ids.get("user_id"),
             also_wa_id=ids.get("wa_id") if ids.get("new_wa_id") else None,
             also_user_id=ids.get("previous_user_id"))


def join(conn, product_id, wa_id: str | None = None, user_id: str | None = None, username: str | None = None,
         also_wa_id: str | None = None, also_user_id: str | None = None) -> uuid.UUID | None:
    """The one contact of the customer known by any of these ids, merging the contacts found into the
    oldest; it ends with `wa_id` and `user_id` (where given). None when no contact has any of them."""
    product_id = _uuid(product_id)
    matches = [contacts.c.wa_id == value for value in (wa_id, also_wa_id) if value]
    matches += [contacts.c.user_id == value for value in (user_id, also_user_id) if value]
    if not matches:
        return None
    found = conn.execute(
        select(contacts.c.id, contacts.c.wa_id, contacts.c.user_id, contacts.c.username, contacts.c.profile_name)
        .where(contacts.c.product_id == product_id, or_(*matches))
        .order_by(contacts.c.created_at, contacts.c.id)
    ).all()
    if not found:
        return None
    keep, others = found[0], found[1:]
    for other in others:
        _merge(conn, product_id, keep.id, other.id)
    values = {
        "wa_id": wa_id or keep.wa_id or next((o.wa_id for o in others if o.wa_id), None),
        "user_id": user_id or keep.user_id or next((o.user_id for o in others if o.user_id), None),
        "username": username or keep.username or next((o.username for o in others if o.username), None),
        "profile_name": keep.profile_name or next((o.profile_name for o in others if o.profile_name), None),
    }
    conn.execute(update(contacts).where(contacts.c.product_id == product_id, contacts.c.id == keep.id).values(**values))
    return keep.id


def _merge(conn, product_id: uuid.UUID, keep_id, drop_id) -> None:
    """Move the conversations of contact `drop_id` to `keep_id` (joining two on the same number into
    one, messages and unread counts included), then delete it."""
    kept = {row.phone_number_id: row for row in conn.execute(
        select(conversations).where(conversations.c.product_id == product_id, conversations.c.contact_id == keep_id))}
    for moving in conn.execute(
            select(conversations).where(conversations.c.product_id == product_id, conversations.c.contact_id == drop_id)).all():
        target = kept.get(moving.phone_number_id)
        if target is None:
            conn.execute(update(conversations).where(conversations.c.product_id == product_id,
                                                     conversations.c.id == moving.id).values(contact_id=keep_id))
            continue
        conn.execute(update(messages).where(messages.c.product_id == product_id, messages.c.conversation_id == moving.id)
                     .values(conversation_id=target.id))
        latest = max((target, moving), key=lambda c: c.last_message_at or _NEVER)
        conn.execute(update(conversations).where(conversations.c.product_id == product_id, conversations.c.id == target.id)
                     .values(unread_count=target.unread_count + moving.unread_count,
                             last_message_at=latest.last_message_at, last_message_preview=latest.last_message_preview,
                             last_message_id=latest.last_message_id,
                             last_inbound_at=max((c.last_inbound_at for c in (target, moving) if c.last_inbound_at),
                                                 default=None)))
        conn.execute(delete(conversations).where(conversations.c.product_id == product_id, conversations.c.id == moving.id))
    conn.execute(delete(contacts).where(contacts.c.product_id == product_id, contacts.c.id == drop_id))

