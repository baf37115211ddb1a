"""Cursor pagination for the API: newest first by (created_at, id), the cursor an opaque token
of the last row's key, so pages neither skip nor repeat rows while new ones arrive."""
from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta

from sqlalchemy import tuple_

from .errors import ApiError

_EPOCH = datetime(1970, 1, 1)


def encode(row) -> str:
    micros = (row.created_at - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}:{row.id.hex}".encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        micros, hex_id = raw.split(":")
        return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=hex_id)
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise ApiError(400, "invalid_cursor", "This cursor was not made by this API; start again without it.") from None


def page(session, statement, model, args: dict):
    """One page of `statement` (a select of `model`) and the next cursor (None at the end)."""
    limit = args["limit"]
    if args.get("cursor"):
        at, last_id = decode(args["cursor"])
        statement = statement.where(tuple_(model.created_at, model.id) < tuple_(at, last_id))
    rows = list(session.execute(statement.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1))
                .unique().scalars())
    return rows[:limit], (encode(rows[limit - 1]) if len(rows) > limit else None)
