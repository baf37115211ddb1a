"""The feed cursor alone: what a poller is sent next, never twice."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.inbox.cursor import SEEN_CAP, Cursor
from portal.models.base import uuid7


@dataclass
class Row:
    id: uuid.UUID
    created_at: datetime


def poll(cursor: Cursor, table: list[Row], page: int = 50):
    """What queries.feed_since does, on a list: rows at or above the floor, newest first."""
    limit = len(cursor.seen) + page
    rows = sorted((r for r in table if r.created_at >= cursor.floor), key=lambda r: (r.created_at, r.id.hex), reverse=True)[:limit]
    return cursor.unseen(rows)[:page], Cursor.after(rows, exhaustive=len(rows) < limit, previous=cursor)


def test_a_burst_stamped_with_one_time_is_never_sent_twice():
    """A webhook drain stores hundreds of messages with the same created_at; polls that keep
    seeing that time must not send any of them again once the seen set is full."""
    t0 = datetime(2026, 11, 29, 12, 0, 0)
    table = [Row(uuid7(), t0) for _ in range(SEEN_CAP + 120)]
    cursor = Cursor(floor=t0 - timedelta(seconds=1))
    shown: list[uuid.UUID] = []
    for step in range(12):
        table += [Row(uuid7(), t0 + timedelta(milliseconds=10 * (step + 1))) for _ in range(7)]
        sent, cursor = poll(Cursor.decode(cursor.encode()), table)
        shown += [r.id for r in sent]
    assert len(shown) == len(set(shown))  # nothing twice
    later = {r.id for r in table if r.created_at > t0}
    assert later <= set(shown)  # and every later message was sent


def test_a_message_committed_late_inside_the_overlap_is_sent_once():
    t0 = datetime(2026, 11, 29, 12, 0, 0)
    table = [Row(uuid7(), t0 + timedelta(seconds=k)) for k in range(3)]
    sent, cursor = poll(Cursor(floor=t0 - timedelta(seconds=1)), table)
    assert len(sent) == 3
    table.append(Row(uuid7(), t0 + timedelta(seconds=1, milliseconds=500)))  # stamped earlier, committed now
    sent, cursor = poll(cursor, table)
    assert [r.id for r in sent] == [table[-1].id]
    assert poll(cursor, table)[0] == []
