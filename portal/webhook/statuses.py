"""Delivery statuses of outbound messages: they only move forward.

sent < delivered < read < played, and failed is terminal (STATUS_RANK). The
guard lives in the UPDATE's WHERE clause, so two workers applying statuses of
the same message in any order end on the furthest one, and a late "delivered"
after "read" changes nothing. A status whose message is not stored yet (Meta
does not promise order; the inbox stores the wamid only once the send call
returns) is kept in pending_statuses and applied when the message appears.
"""
from __future__ import annotations

import uuid

from sqlalchemy import bindparam, case, delete, func, or_, select

from ..extensions import db
from ..models import OUTBOUND, STATUS_RANK, Message, PendingStatus
from ..models.base import utcnow
from .upsert import insert_ignoring_conflicts

messages = Message.__table__
pending = PendingStatus.__table__

_rank_of_stored = case(STATUS_RANK, value=messages.c.status, else_=-1)

_forward = (
    messages.update()
    .where(
        messages.c.product_id == bindparam("p_product"),
        messages.c.wamid == bindparam("p_wamid"),
        messages.c.direction == OUTBOUND,
        or_(messages.c.status.is_(None), _rank_of_stored < bindparam("p_rank")),
    )
    .values(
        status=bindparam("p_status"),
        status_at=func.coalesce(bindparam("p_at"), bindparam("p_now")),
        # Only a failure carries an error; other statuses leave what is there.
        error_code=func.coalesce(bindparam("p_code"), messages.c.error_code),
        error_title=func.coalesce(bindparam("p_title"), messages.c.error_title),
    )
)


def apply(conn, rows: list[dict]) -> None:
    """Apply statuses (product_id, wamid, status, status_at, error_code, error_title) or keep them pending."""
    wamids = sorted({row["wamid"] for row in rows})
    products = list({row["product_id"] for row in rows})
    known = set(
        conn.execute(
            select(messages.c.product_id, messages.c.wamid).where(
                messages.c.wamid.in_(wamids), messages.c.product_id.in_(products), messages.c.direction == OUTBOUND
            )
        ).all()
    )
    _move_forward(conn, [row for row in rows if (row["product_id"], row["wamid"]) in known])
    waiting = [
        {**row, "id": uuid.uuid4(), "created_at": utcnow()}
        for row in rows if (row["product_id"], row["wamid"]) not in known
    ]
    waiting.sort(key=lambda row: (str(row["product_id"]), row["wamid"], row["status"]))
    insert_ignoring_conflicts(conn, pending, waiting, ["product_id", "wamid", "status"])


def _move_forward(conn, rows: list[dict]) -> None:
    if not rows:
        return
    now = utcnow()
    params = [
        {
            "p_product": row["product_id"], "p_wamid": row["wamid"], "p_status": row["status"],
            "p_rank": STATUS_RANK[row["status"]], "p_at": row["status_at"], "p_now": now,
            "p_code": row["error_code"] if row["status"] == "failed" else None,
            "p_title": row["error_title"] if row["status"] == "failed" else None,
        }
        for row in rows
    ]
    # Lowest rank first, so a batch holding sent+delivered+read of one message walks up in order.
    params.sort(key=lambda p: (str(p["p_product"]), p["p_wamid"], p["p_rank"]))
    conn.execute(_forward, params)


def apply_pending_statuses(product_id: uuid.UUID, wamid: str) -> int:
    """Apply the statuses kept for `wamid` of `product_id` (call it after storing an outbound
    message's wamid); returns how many were kept. Runs in the caller's transaction: commit after."""
    conn = db.session.connection()
    kept = [
        dict(row)
        for row in conn.execute(
            select(pending.c.id, pending.c.product_id, pending.c.wamid, pending.c.status, pending.c.status_at,
                   pending.c.error_code, pending.c.error_title)
            .where(pending.c.product_id == product_id, pending.c.wamid == wamid)
        ).mappings()
    ]
    if not kept:
        return 0
    _move_forward(conn, [row for row in kept if row["status"] in STATUS_RANK])
    conn.execute(delete(pending).where(pending.c.product_id == product_id, pending.c.id.in_([row["id"] for row in kept])))
    return len(kept)
