"""What arrives from Meta besides messages, and what could not be routed yet."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import TenantScoped, utcnow, uuid_pk


class AccountEvent(TenantScoped, db.Model):
    """A non-message webhook change (quality, account, template updates...), kept per product."""

    __tablename__ = "account_events"

    id: Mapped[uuid.UUID] = uuid_pk()
    event_key: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)  # sha256 of the change: stored once
    phone_number_id: Mapped[str | None] = mapped_column(String(64))
    business_account_id: Mapped[str | None] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class UnroutedChange(db.Model):
    """A webhook change for a phone_number_id no product has linked: kept, replayed on link.

    Not tenant-scoped on purpose: it belongs to no product yet.
    """

    __tablename__ = "unrouted_changes"

    id: Mapped[uuid.UUID] = uuid_pk()
    change_key: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    phone_number_id: Mapped[str | None] = mapped_column(String(64), index=True)
    business_account_id: Mapped[str | None] = mapped_column(String(64), index=True)
    field: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class WebhookDelivery(db.Model):
    """A signed webhook body as Meta sent it, kept until what it says is stored.

    The POST is answered 200 as soon as this row is committed (one INSERT), and the
    drainer deletes the row in the same transaction that stores its changes, so a
    delivery is worked on exactly once and survives any crash in between. Not
    tenant-scoped: which products it concerns is only known once it is read.
    """

    __tablename__ = "webhook_deliveries"

    # Ascending ids: deliveries are drained in the order they arrived.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class RejectedWebhook(db.Model):
    """A correctly signed body that could not be parsed: kept for inspection."""

    __tablename__ = "rejected_webhooks"

    id: Mapped[uuid.UUID] = uuid_pk()
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    reason: Mapped[str] = mapped_column(String(255), nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class ConnectAttempt(TenantScoped, db.Model):
    """One "Connect with Meta" started by a user: the OAuth state, single-use and short-lived."""

    __tablename__ = "connect_attempts"

    id: Mapped[uuid.UUID] = uuid_pk()
    state_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)  # sha256 of the state
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    session_id: Mapped[str] = mapped_column(String(64), nullable=False)
    embedded_signup: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class DataDeletionRequest(db.Model):
    """Meta's data deletion callback, with the code a person can look up."""

    __tablename__ = "data_deletion_requests"

    id: Mapped[uuid.UUID] = uuid_pk()
    confirmation_code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    meta_user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    accounts_affected: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
