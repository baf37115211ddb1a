"""Shared column helpers: UUID keys, UTC timestamps, the tenant mixin."""
from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timezone

from sqlalchemy import ForeignKey, Uuid
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


def utcnow() -> datetime:
    """Naive UTC, the one time convention of the database (same on SQLite and PostgreSQL)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


_V7 = (7 << 76) | (0x8000 << 48)  # version 7, RFC 9562 variant
_RANDOM_A = 0xFFF << 64
_RANDOM_B = (1 << 62) - 1


def uuid7_ints(count: int) -> list[int]:
    """`count` UUIDv7 values (RFC 9562) as integers: milliseconds since the epoch first, then 74
    random bits. Keys made together sort together, so inserting them touches a few index
    pages instead of one random page per row (less written per commit on either database)."""
    head = ((time.time_ns() // 1_000_000) & ((1 << 48) - 1)) << 80 | _V7
    data = os.urandom(10 * count)
    values = []
    for start in range(0, 10 * count, 10):
        bits = int.from_bytes(data[start:start + 10], "big")
        values.append(head | (bits >> 4 << 64 & _RANDOM_A) | (bits & _RANDOM_B))
    return values


def uuid7() -> uuid.UUID:
    return uuid.UUID(int=uuid7_ints(1)[0])


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid7)


class TenantScoped:
    """A row that belongs to one product.

    Inside a product request every ORM query on such a model is filtered by
    the current product automatically (see portal/tenancy.py), and new rows
    get that product_id; nothing at the call site has to remember it.
    """

    @declared_attr
    def product_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(Uuid, ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True)
