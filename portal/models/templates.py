"""WhatsApp message templates, per product and per WhatsApp Business Account (WABA).

A template lives at Meta in one WABA; a product keeps a copy of each of its WABAs'
templates (synced, created here, and updated by Meta's template webhooks).
(product_id, business_account_id, name, language) is unique: Meta's own key.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, DateTime, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import TenantScoped, utcnow, uuid_pk

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
APPROVED = "APPROVED"


class MessageTemplate(TenantScoped, db.Model):
    __tablename__ = "message_templates"
    __table_args__ = (
        UniqueConstraint("product_id", "business_account_id", "name", "language", name="uq_template_product_waba_name_lang"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    business_account_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    meta_id: Mapped[str | None] = mapped_column(String(64), index=True)  # Meta's template id
    name: Mapped[str] = mapped_column(String(512), nullable=False)
    language: Mapped[str] = mapped_column(String(16), nullable=False)
    category: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="PENDING")
    quality_score: Mapped[str | None] = mapped_column(String(16))
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    parameter_format: Mapped[str] = mapped_column(String(16), nullable=False, default="POSITIONAL")
    components: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)
    synced_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def approved(self) -> bool:
        return self.status == APPROVED
