"""Contacts, conversations and messages, per product."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy import text as sql  # (Message has a column named text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TenantScoped, utcnow, uuid_pk

INBOUND = "in"
# Where a conversation stands for the team (a new customer message makes it open again).
CONVERSATION_STATUSES = ("open", "pending", "resolved")
OUTBOUND = "out"
# Delivery status only moves forward along this order; "failed" is terminal.
STATUS_RANK = {"pending": 0, "sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 5}


class Contact(TenantScoped, db.Model):
    """A customer as one product knows them (the same wa_id in two products is two contacts)."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("product_id", "wa_id", name="uq_contact_product_wa_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    wa_id: Mapped[str] = mapped_column(String(32), nullable=False)
    profile_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)


class Conversation(TenantScoped, db.Model):
    """One contact talking to one of the product's numbers."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("product_id", "phone_number_id", "contact_id", name="uq_conversation_number_contact"),
        Index("ix_conversations_product_last", "product_id", "last_message_at"),
        Index("ix_conversations_product_status_last", "product_id", "status", "last_message_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    phone_number_id: Mapped[str] = mapped_column(String(64), nullable=False)
    contact_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime)  # opens the 24-hour window
    last_message_preview: Mapped[str | None] = mapped_column(String(200))
    unread_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open", nullable=False)
    # No foreign key on purpose: adding one to an existing table means rebuilding it on SQLite, which
    # (with foreign keys enforced) would cascade to every message. Users are never deleted; a departed
    # member's id shows as "former member".
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)

    contact: Mapped[Contact] = relationship()


class Message(TenantScoped, db.Model):
    """An inbound or outbound WhatsApp message. (product_id, wamid) is unique: stored once."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("product_id", "wamid", name="uq_message_product_wamid"),
        Index("ix_messages_product_created", "product_id", "created_at", "id"),
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        # A new message's reactions that arrived before it (ingest); only reaction rows are in it.
        Index("ix_messages_reaction_target", "product_id", "context_wamid",
              postgresql_where=sql("type = 'reaction'"), sqlite_where=sql("type = 'reaction'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("conversations.id", ondelete="CASCADE"))
    phone_number_id: Mapped[str] = mapped_column(String(64), nullable=False)
    contact_wa_id: Mapped[str | None] = mapped_column(String(32))
    wamid: Mapped[str | None] = mapped_column(String(255))  # None while an outbound send is pending
    direction: Mapped[str] = mapped_column(String(3), nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)  # Meta's timestamp
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)  # stored at
    text: Mapped[str | None] = mapped_column(Text)  # body or caption
    media_id: Mapped[str | None] = mapped_column(String(255))
    media_mime_type: Mapped[str | None] = mapped_column(String(128))
    media_filename: Mapped[str | None] = mapped_column(String(255))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    location_name: Mapped[str | None] = mapped_column(String(255))
    location_address: Mapped[str | None] = mapped_column(String(512))
    reply_id: Mapped[str | None] = mapped_column(String(255))  # interactive/button reply id or payload
    reply_title: Mapped[str | None] = mapped_column(String(255))
    context_wamid: Mapped[str | None] = mapped_column(String(255))
    forwarded: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    reaction_emoji: Mapped[str | None] = mapped_column(String(32))  # the customer's reaction to this message
    reaction_at: Mapped[datetime | None] = mapped_column(DateTime)  # when it was made: an older one never replaces it
    status: Mapped[str | None] = mapped_column(String(16))  # outbound: pending/sent/delivered/read/failed
    status_at: Mapped[datetime | None] = mapped_column(DateTime)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_title: Mapped[str | None] = mapped_column(String(512))
    read_at: Mapped[datetime | None] = mapped_column(DateTime)  # inbound: opened by an agent
    sent_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    raw: Mapped[dict | None] = mapped_column(JSON)


class PendingStatus(TenantScoped, db.Model):
    """A delivery status whose message is not known yet; applied when it appears."""

    __tablename__ = "pending_statuses"
    __table_args__ = (UniqueConstraint("product_id", "wamid", "status", name="uq_pending_status"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    wamid: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    status_at: Mapped[datetime | None] = mapped_column(DateTime)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_title: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
