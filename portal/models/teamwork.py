"""What a team keeps beside the conversations: internal notes and canned replies, per product."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TenantScoped, utcnow, uuid_pk


class ConversationNote(TenantScoped, db.Model):
    """A note agents leave on a conversation. It is a row of its own, never a message:
    nothing that sends messages to Meta ever reads this table."""

    __tablename__ = "conversation_notes"
    __table_args__ = (Index("ix_conversation_notes_conversation", "conversation_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    author = relationship("User")


class CannedReply(TenantScoped, db.Model):
    """A prepared answer, inserted in the reply box by typing "/" and its shortcut."""

    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("product_id", "shortcut", name="uq_canned_reply_shortcut"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    shortcut: Mapped[str] = mapped_column(String(32), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
