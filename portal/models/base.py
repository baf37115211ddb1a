"""Shared column helpers: UUID keys, UTC timestamps, the tenant mixin."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import ForeignKey, Uuid
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


def utcnow() -> datetime:
    """Naive UTC, the one time convention of the database (same on SQLite and PostgreSQL)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class TenantScoped:
    """A row that belongs to one product.

    Inside a product request every ORM query on such a model is filtered by
    the current product automatically (see portal/tenancy.py), and new rows
    get that product_id; nothing at the call site has to remember it.
    """

    @declared_attr
    def product_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(Uuid, ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True)
