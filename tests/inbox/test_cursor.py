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


def _first_page(table: list[Row], page: int = 50):
    rows = sorted(table, key=lambda r: (r.created_at, r.id.hex), reverse=True)[:page]
    return rows, Cursor.after(rows, exhaustive=len(rows) < page)


def test_random_drains_and_polls_never_send_a_message_twice():
    """Drains stamp batches of 1 to 260 rows with one time and commit up to 1.5 s later (each
    batch becomes visible at once, or row by row); pollers come at random: nothing twice."""
    import random

    for seed in range(120):
        rng = random.Random(seed)
        clock = datetime(2026, 1, 1)
        visible = [Row(uuid7(), clock - timedelta(seconds=rng.random() * 10)) for _ in range(50)]
        pending: list[tuple[datetime, Row]] = []
        rows, cursor = _first_page(visible)
        shown = {r.id for r in rows}
        for _ in range(150):
            clock += timedelta(milliseconds=rng.choice([10, 50, 200, 1000]))
            if rng.random() < 0.7:
                stamp = clock - timedelta(milliseconds=rng.randint(0, 3000))
                at = clock + timedelta(milliseconds=rng.randint(0, 1500))
                for _ in range(rng.choice([1, 5, 30, 120, 260])):
                    pending.append((at + timedelta(milliseconds=rng.randint(0, 500) if seed % 2 else 0), Row(uuid7(), stamp)))
            visible += [row for at, row in pending if at <= clock]
            pending = [(at, row) for at, row in pending if at > clock]
            if rng.random() < 0.5:
                sent, cursor = poll(Cursor.decode(cursor.encode()), visible)
                assert not shown & {r.id for r in sent}, f"seed {seed}: sent twice"
                shown |= {r.id for r in sent}
