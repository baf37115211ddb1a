"""A product's own systems: API keys (and the answers kept per Idempotency-Key) and
outgoing webhooks (endpoints, the event outbox, one delivery per event and endpoint)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crypto import EncryptedText
from ..extensions import db
from .base import TenantScoped, utcnow, uuid_pk


class ApiKey(TenantScoped, db.Model):
    """A key of the product API. Only a SHA-256 of the key is stored; `prefix` is what people see."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    prefix: Mapped[str] = mapped_column(String(32), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class IdempotentRequest(TenantScoped, db.Model):
    """The first answer to a POST with an Idempotency-Key. The unique key is what makes two
    concurrent identical POSTs send once: the second INSERT fails, it never checks first."""

    __tablename__ = "api_idempotent_requests"
    __table_args__ = (UniqueConstraint("product_id", "idempotency_key", name="uq_idempotent_request_key"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)  # SHA-256 of method, path and body
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("messages.id", ondelete="SET NULL"))
    response_status: Mapped[int | None] = mapped_column(Integer)  # None while the first request runs
    response_body: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class OutgoingEndpoint(TenantScoped, db.Model):
    """A URL of the product's own system that receives its events, signed with `secret`."""

    __tablename__ = "outgoing_endpoints"

    id: Mapped[uuid.UUID] = uuid_pk()
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    secret: Mapped[str] = mapped_column(EncryptedText, nullable=False)
    events: Mapped[list] = mapped_column(JSON, nullable=False)  # event types it subscribed to
    description: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime)  # first failure since the last success
    paused_at: Mapped[datetime | None] = mapped_column(DateTime)  # set after a day of failures
    paused_reason: Mapped[str | None] = mapped_column(String(512))


class OutgoingEvent(TenantScoped, db.Model):
    """One event of the product (the outbox), written in the transaction that caused it. Its id is
    the stable id receivers de-duplicate by."""

    __tablename__ = "outgoing_events"
    __table_args__ = (Index("ix_outgoing_events_product_created", "product_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class OutgoingDelivery(TenantScoped, db.Model):
    """One event to one endpoint: its state, attempts and the last answer (the delivery log)."""

    __tablename__ = "outgoing_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="uq_outgoing_delivery_event_endpoint"),
        Index("ix_outgoing_deliveries_endpoint_created", "endpoint_id", "created_at"),
        Index("ix_outgoing_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("outgoing_events.id", ondelete="CASCADE"), nullable=False)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("outgoing_endpoints.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")  # pending/retrying/delivered/failed/paused
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    response_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    event: Mapped[OutgoingEvent] = relationship()
    endpoint: Mapped[OutgoingEndpoint] = relationship()
