"""Read queries of the inbox. All are ORM statements run in product scope, so the
tenancy mechanism adds the product filter; none filters by product_id by hand."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import has_request_context, request
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import NEEDS_RECONNECT, OUTBOUND, TARGETING_TYPES, Contact, Conversation, Message, WhatsAppAccount
from .cursor import Cursor

FEED_PAGE = 50
THREAD_PAGE = 30
CONVERSATIONS_PAGE = 100
SERVICE_WINDOW = timedelta(hours=24)


@dataclass
class Window:
    """What a poller is sent: the new rows, and its next cursor."""

    new: list
    cursor: Cursor


def _feed_statement(number: str | None, conversation_id: uuid.UUID | None, standalone: bool = False):
    """Newest first; ties of one stored time go by id, which ingest gives in Meta's order.
    `standalone` leaves out reactions, edits and deletions (a thread shows them on their message)."""
    stmt = select(Message)
    if standalone:
        stmt = stmt.where(Message.type.not_in(TARGETING_TYPES))
    if number:
        stmt = stmt.where(Message.phone_number_id == number)
    if conversation_id is not None:
        stmt = stmt.where(Message.conversation_id == conversation_id)
    return stmt.order_by(Message.created_at.desc(), Message.id.desc())


def latest(number: str | None = None, conversation_id: uuid.UUID | None = None, page: int = FEED_PAGE) -> Window:
    """The newest `page` messages (newest first) and the cursor of a poller holding them."""
    rows = db.session.execute(_feed_statement(number, conversation_id, standalone=conversation_id is not None)
                              .limit(page)).scalars().all()
    return Window(new=list(rows), cursor=Cursor.after(rows, exhaustive=len(rows) < page))


def since(cursor: Cursor, number: str | None = None, conversation_id: uuid.UUID | None = None,
          page: int = FEED_PAGE) -> Window:
    """What is new for a poller at `cursor`: ONE range scan of the (product_id, created_at, id) index."""
    limit = len(cursor.seen) + page
    rows = db.session.execute(
        _feed_statement(number, conversation_id).where(Message.created_at >= cursor.floor).limit(limit)
    ).scalars().all()
    return Window(new=cursor.unseen(rows)[:page], cursor=Cursor.after(rows, exhaustive=len(rows) < limit, previous=cursor))


def older(conversation_id: uuid.UUID, before: Message | None, page: int = THREAD_PAGE) -> list[Message]:
    """Up to `page` messages of a conversation older than `before` (keyset), newest first."""
    stmt = _feed_statement(None, conversation_id, standalone=True)
    if before is not None:
        stmt = stmt.where(tuple_(Message.created_at, Message.id) < tuple_(before.created_at, before.id))
    return list(db.session.execute(stmt.limit(page)).scalars().all())


def contact_names(messages) -> dict[uuid.UUID, str]:
    """conversation_id -> contact's profile name, for a page of messages (one query)."""
    ids = {m.conversation_id for m in messages if m.conversation_id}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Conversation.id, Contact).join(Contact, Conversation.contact_id == Contact.id)
        .where(Conversation.id.in_(ids))
    ).all()
    return {conversation_id: contact.label for conversation_id, contact in rows}


def quoted_messages(messages) -> dict[str, Message]:
    """wamid -> message, for the messages these ones reply to (one query)."""
    wamids = {m.context_wamid for m in messages if m.context_wamid}
    if not wamids:
        return {}
    rows = db.session.execute(select(Message).where(Message.wamid.in_(wamids))).scalars().all()
    return {m.wamid: m for m in rows}


def conversations(page: int = CONVERSATIONS_PAGE, filters=None, user_id=None) -> list[Conversation]:
    """The product's conversations, most recent first, with their contacts, as `filters` ask."""
    stmt = (
        select(Conversation).options(joinedload(Conversation.contact))  # one query, not one per row
        .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc())
        .limit(page)
    )
    if filters is not None:
        stmt = _filtered(stmt, filters, user_id)
    return list(db.session.execute(stmt).unique().scalars().all())


def _filtered(stmt, filters, user_id):
    from . import search

    if filters.status != "all":
        stmt = stmt.where(Conversation.status == filters.status)
    if filters.view == "mine":
        stmt = stmt.where(Conversation.assignee_user_id == user_id)
    elif filters.view == "unassigned":
        stmt = stmt.where(Conversation.assignee_user_id.is_(None))
    if filters.number:
        stmt = stmt.where(Conversation.phone_number_id == filters.number)
    if filters.q:
        clause = search.conversation_filter(filters.q, db.session.get_bind().dialect.name)
        stmt = stmt.where(clause) if clause is not None else stmt.where(False)
    return stmt


def unread_conversations() -> int:
    """How many of the product's conversations have messages nobody opened yet."""
    return db.session.execute(
        select(func.count()).select_from(Conversation).where(Conversation.unread_count > 0)
    ).scalar_one()


def unread_by_product(product_ids) -> dict:
    """product id -> conversations with unread messages, for the products a user belongs to (one query)."""
    if not product_ids:
        return {}
    rows = db.session.execute(
        select(Conversation.product_id, func.count())
        .where(Conversation.product_id.in_(list(product_ids)), Conversation.unread_count > 0)
        .group_by(Conversation.product_id)
        .execution_options(all_products=True)  # the caller passes only the user's own products
    ).all()
    return dict(rows)


def failed_conversation_ids(conversation_ids) -> set:
    """Of these conversations, those whose latest reply was not delivered (one query)."""
    ids = list(conversation_ids)
    if not ids:
        return set()
    latest = (
        select(Message.conversation_id, func.max(Message.created_at).label("at"))
        .where(Message.conversation_id.in_(ids), Message.direction == OUTBOUND)
        .group_by(Message.conversation_id).subquery()
    )
    rows = db.session.execute(
        select(Message.conversation_id)
        .join(latest, (Message.conversation_id == latest.c.conversation_id) & (Message.created_at == latest.c.at))
        .where(Message.status == "failed")
    ).scalars().all()
    return set(rows)


def previewed_messages(rows) -> dict:
    """conversation id -> the message its list line shows (said in the reader's language), one query
    for the page; a conversation that names no message is left out (its stored line is shown)."""
    wanted = {c.last_message_id: c.id for c in rows if c.last_message_id}
    if not wanted:
        return {}
    found = db.session.execute(select(Message).where(Message.id.in_(list(wanted)))).scalars().all()
    return {wanted[message.id]: message for message in found}


def accounts() -> list[WhatsAppAccount]:
    """The product's numbers (a handful), loaded once per request: labels, reply box and banner all use them."""
    cache = request.environ.setdefault("maestra.inbox", {}) if has_request_context() else {}
    if "accounts" not in cache:
        cache["accounts"] = list(
            db.session.execute(select(WhatsAppAccount).order_by(WhatsAppAccount.created_at)).scalars().all()
        )
    return cache["accounts"]


def account_for(phone_number_id: str) -> WhatsAppAccount | None:
    """The product's account of a number (None if the number is not, or no longer, the product's)."""
    return next((a for a in accounts() if a.phone_number_id == phone_number_id), None)


def accounts_needing_reconnect() -> list[WhatsAppAccount]:
    return [account for account in accounts() if account.state == NEEDS_RECONNECT]


def number_labels(accounts_: list[WhatsAppAccount]) -> dict[str, str]:
    """phone_number_id -> what people call the number."""
    return {a.phone_number_id: a.phone_number or a.display_name or a.phone_number_id for a in accounts_}


def window_ends_at(conversation: Conversation) -> datetime | None:
    """When the 24-hour customer service window closes (None: the customer never wrote)."""
    return conversation.last_inbound_at + SERVICE_WINDOW if conversation.last_inbound_at else None


def window_closed(conversation: Conversation, now: datetime) -> bool:
    """The 24-hour customer service window is closed: only templates may be sent."""
    return conversation.last_inbound_at is None or now - conversation.last_inbound_at >= SERVICE_WINDOW
