"""Contacts, conversations and messages, per product."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy import text as sql  # (Message has a column named text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TenantScoped, utcnow, uuid7, uuid_pk

INBOUND = "in"
# Where a conversation stands for the team (a new customer message makes it open again).
CONVERSATION_STATUSES = ("open", "pending", "resolved")
OUTBOUND = "out"
# Delivery status only moves forward along this order; "failed" is terminal.
STATUS_RANK = {"pending": 0, "sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 5}
# Media whose download never ran (no state) or never ended (a worker died mid-job): the media sweep's rows.
MEDIA_UNFETCHED = "media_id IS NOT NULL AND (media_state IS NULL OR media_state = 'downloading')"
# Messages that change another one (named by context_wamid) instead of standing alone in a thread.
TARGETING_TYPES = ("reaction", "edit", "revoke")
TARGETING_PREDICATE = "type IN ('reaction', 'edit', 'revoke')"
# Where a message came from besides the Cloud API: typed on the WhatsApp Business app (an
# "echo", coexistence) or imported from the app's past chats.
ORIGIN_BUSINESS_APP = "business_app"
ORIGIN_HISTORY = "history"


class Contact(TenantScoped, db.Model):
    """A customer as one product knows them (the same wa_id in two products is two contacts).

    Known by the phone number (`wa_id`) or, for a customer who hides it behind a WhatsApp
    username, only by Meta's business-scoped user id (`user_id`, the BSUID); each is unique
    per product, and a contact known by both is one contact."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("product_id", "wa_id", name="uq_contact_product_wa_id"),
        UniqueConstraint("product_id", "user_id", name="uq_contact_product_user_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    wa_id: Mapped[str | None] = mapped_column(String(32))  # the phone number, when Meta shares it
    user_id: Mapped[str | None] = mapped_column(String(64))  # the BSUID, e.g. "US.13491208655302741918"
    username: Mapped[str | None] = mapped_column(String(255))
    profile_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)

    @property
    def phone(self) -> str | None:
        """The phone number as people write it; None when Meta shares none (never the BSUID)."""
        return f"+{self.wa_id}" if self.wa_id else None

    @property
    def label(self) -> str:
        """What to call the customer: name, @username, phone, or a plain words for an id-only customer."""
        return self.profile_name or (f"@{self.username}" if self.username else None) or self.phone or "WhatsApp user"

    @property
    def recipient(self) -> dict:
        """Where Meta accepts a reply: `to` the phone number, else `recipient` = the BSUID."""
        return {"to": self.wa_id} if self.wa_id else {"recipient": self.user_id}


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
    last_message_preview: Mapped[str | None] = mapped_column(String(200))  # English, as stored (the API's)
    # The message the list previews, so each reader sees it in their language (rendering.summary);
    # None while the conversation has no message (the stored preview, if any, is shown). No foreign
    # key, as for assignee_user_id below.
    last_message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    unread_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open", nullable=False)
    # No foreign key on purpose: adding one to an existing table means rebuilding it on SQLite, which
    # (with foreign keys enforced) would cascade to every message. Users are never deleted; a departed
    # member's id shows as "former member".
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)

    contact: Mapped[Contact] = relationship()

    def show_latest(self, message: "Message", preview: str, at: datetime) -> None:
        """Make `message`, stored now, the one the list shows: `preview` is its English line."""
        if message.id is None:
            message.id = uuid7()  # before the flush that would give it one: the conversation names it now
        self.last_message_at = at
        self.last_message_preview = preview[:200]
        self.last_message_id = message.id


class Message(TenantScoped, db.Model):
    """An inbound or outbound WhatsApp message. (product_id, wamid) is unique: stored once."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("product_id", "wamid", name="uq_message_product_wamid"),
        Index("ix_messages_product_created", "product_id", "created_at", "id"),
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        # Reactions, edits and deletions that arrived before the message they name (ingest);
        # only those rows are in it.
        Index("ix_messages_target", "product_id", "context_wamid",
              postgresql_where=sql(TARGETING_PREDICATE), sqlite_where=sql(TARGETING_PREDICATE)),
        # The media sweep's question (downloads that never ran or never ended); only such rows are in it.
        Index("ix_messages_media_unfetched", "created_at",
              postgresql_where=sql(MEDIA_UNFETCHED), sqlite_where=sql(MEDIA_UNFETCHED)),
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
    # The media's own copy (portal/media): where the store keeps it and what it is. media_state is
    # None until a download was tried, then "downloading", "stored" or "failed" (media_error says why).
    media_key: Mapped[str | None] = mapped_column(String(255))
    media_size: Mapped[int | None] = mapped_column(BigInteger)
    media_sha256: Mapped[str | None] = mapped_column(String(64))  # hex, of the stored bytes
    media_state: Mapped[str | None] = mapped_column(String(16))
    media_error: Mapped[str | None] = mapped_column(String(512))
    media_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=sql("0"), nullable=False)
    media_duration: Mapped[float | None] = mapped_column(Float)  # seconds, audio and video
    media_voice: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sql("false"), nullable=False)
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
    origin: Mapped[str | None] = mapped_column(String(16))  # None (Cloud API), ORIGIN_BUSINESS_APP, ORIGIN_HISTORY
    group_id: Mapped[str | None] = mapped_column(String(64))  # a group chat's id, when written in a group
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)  # the latest edit applied to `text`
    original_text: Mapped[str | None] = mapped_column(Text)  # the text before the first edit (kept for the audit)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)  # deleted by its sender (its text is kept)

    @property
    def stands_alone(self) -> bool:
        """Shown as its own bubble (a reaction, an edit or a deletion changes another message instead)."""
        return self.type not in TARGETING_TYPES


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
