"""Opening a conversation marks its customer's messages read (and, where configured, tells Meta)."""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..meta.graph import Graph, GraphError
from ..models import INBOUND, NEEDS_RECONNECT, Conversation, Message, utcnow
from . import queries

log = logging.getLogger(__name__)


def mark_read(conversation: Conversation) -> None:
    """Stamp read_at on the conversation's unread inbound messages and reset its unread count. Commits."""
    changed = db.session.execute(
        update(Message)
        .where(Message.conversation_id == conversation.id, Message.direction == INBOUND, Message.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if conversation.unread_count:
        conversation.unread_count = 0
    db.session.commit()  # also when nothing changed: end the write transaction the UPDATE opened
    if changed and current_app.config.get("META_SEND_READ_RECEIPTS"):
        send_read_receipt(conversation)


def send_read_receipt(conversation: Conversation) -> None:
    """Tell Meta the customer's latest message was read (blue ticks on their phone); best effort."""
    latest_inbound = db.session.execute(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.direction == INBOUND, Message.wamid.is_not(None))
        .order_by(Message.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    account = queries.account_for(conversation.phone_number_id)
    if latest_inbound is None or account is None or account.state == NEEDS_RECONNECT:
        return
    try:
        Graph(account.access_token).post(
            f"{account.phone_number_id}/messages",
            json={"messaging_product": "whatsapp", "status": "read", "message_id": latest_inbound.wamid},
        )
    except GraphError as error:
        log.info("read receipt for conversation %s not sent: code=%s kind=%s", conversation.id, error.code, error.kind)
