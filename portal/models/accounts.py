"""WhatsApp numbers linked to a product through the master app, with their tokens."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import JSON, DateTime, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..crypto import EncryptedText
from ..extensions import db
from .base import TenantScoped, utcnow, uuid_pk

CONNECTED = "connected"
NEEDS_RECONNECT = "needs_reconnect"
EXPIRING_SOON = timedelta(days=7)


class WhatsAppAccount(TenantScoped, db.Model):
    """One phone number of one product. `phone_number_id` is what every webhook is routed by."""

    __tablename__ = "whatsapp_accounts"

    id: Mapped[uuid.UUID] = uuid_pk()
    meta_app_id: Mapped[str | None] = mapped_column(String(64))
    meta_user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_number_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    business_account_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    business_account_name: Mapped[str | None] = mapped_column(String(255))
    # Tokens are encrypted at rest; "" means wiped (deauthorized), never a clear token.
    access_token: Mapped[str] = mapped_column(EncryptedText, nullable=False)
    oauth_access_token: Mapped[str | None] = mapped_column(EncryptedText)
    oauth_refresh_token: Mapped[str | None] = mapped_column(EncryptedText)
    phone_number: Mapped[str | None] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default=CONNECTED, nullable=False)
    status_reason: Mapped[str | None] = mapped_column(String(255))
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime)  # None = never expires
    quality_rating: Mapped[str | None] = mapped_column(String(16))
    webhooks_subscribed_at: Mapped[datetime | None] = mapped_column(DateTime)
    connected_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # What Meta last said about the account (ban, restriction, violation, offboarding...), in words.
    alert_event: Mapped[str | None] = mapped_column(String(64))
    alert_text: Mapped[str | None] = mapped_column(String(512))
    alert_level: Mapped[str | None] = mapped_column(String(16))  # "danger" | "warn" | "ok"
    alert_value: Mapped[dict | None] = mapped_column(JSON)  # Meta's event and details, shown in each reader's language
    alert_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The latest error Meta put in a webhook about this number (value-level `errors`).
    webhook_error: Mapped[str | None] = mapped_column(String(512))  # in English (logs and the like)
    webhook_error_value: Mapped[list | None] = mapped_column(JSON)  # Meta's errors, shown in each reader's language
    webhook_error_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)

    @property
    def has_token(self) -> bool:
        return bool(self.access_token)

    @property
    def state(self) -> str:
        """connected / expiring_soon / needs_reconnect, for people."""
        if self.status == NEEDS_RECONNECT or not self.has_token:
            return NEEDS_RECONNECT
        if self.token_expires_at is not None:
            if self.token_expires_at <= utcnow():
                return NEEDS_RECONNECT
            if self.token_expires_at - utcnow() <= EXPIRING_SOON:
                return "expiring_soon"
        return CONNECTED

    def mark_needs_reconnect(self, reason: str) -> None:
        self.status = NEEDS_RECONNECT
        self.status_reason = reason[:255]
