"""The live-update cursor: which messages a poller already has.

The key of a message is (created_at, id). A strict "newer than the last key"
cursor would skip a message whose row was stamped before the last one the page
received but committed after that poll (two webhook transactions overlapping).
So the cursor keeps a small overlap window instead: a floor time a little
below the newest message it has, and short ids of the messages it holds at or
above that floor. A poll asks for everything at or above the floor (one range
scan of the (product_id, created_at, id) index, usually a handful of rows) and
answers only the rows whose id is not in the set. A row committed at most
OVERLAP after it was stamped is therefore never missed nor shown twice.

Trade-offs, on purpose: a burst of more than `page` messages between two polls
shows its newest `page` (the conversations hold all of them); the id set is
capped at SEEN_CAP (the floor rises above the rows that no longer fit); ids are
the last 32 bits, so a new message colliding with one of at most SEEN_CAP held ids in
the same few seconds (odds about 1 in 20 million) would be missed by the feed,
not by its conversation.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _

from ..models import utcnow

OVERLAP = timedelta(seconds=5)
SEEN_CAP = 200
SHORT_ID_CHARS = 8
_EPOCH = datetime(1970, 1, 1)
_TICK = timedelta(microseconds=1)  # the resolution of created_at
_CURSOR = re.compile(r"^(\d{1,18})(?:-((?:[0-9a-f]{8})(?:\.[0-9a-f]{8}){0,%d}))?$" % (SEEN_CAP - 1))


class CursorError(ValueError):
    """The cursor in the URL is not one this portal made."""


def short_id(message_id: uuid.UUID) -> str:
    # The random end of the id: a UUIDv7 starts with its time, shared by rows made together.
    return message_id.hex[-SHORT_ID_CHARS:]


@dataclass(frozen=True)
class Cursor:
    floor: datetime
    seen: frozenset[str] = field(default_factory=frozenset)

    def encode(self) -> str:
        micros = (self.floor - _EPOCH) // timedelta(microseconds=1)
        if not self.seen:
            return str(micros)
        return f"{micros}-" + ".".join(sorted(self.seen))

    @classmethod
    def decode(cls, raw: str) -> "Cursor":
        match = _CURSOR.match(raw or "")
        if not match:
            raise CursorError(_("The feed position in the address is not valid; reload the page."))
        try:
            floor = _EPOCH + timedelta(microseconds=int(match.group(1)))
        except OverflowError:  # past the year 9999: no message of ours can be there
            raise CursorError(_("The feed position in the address is out of range; reload the page.")) from None
        seen = frozenset(match.group(2).split(".")) if match.group(2) else frozenset()
        return cls(floor=floor, seen=seen)

    def unseen(self, rows_newest_first: list) -> list:
        """The rows (from a query at or above the floor) the poller does not have yet."""
        return [row for row in rows_newest_first if short_id(row.id) not in self.seen]

    @classmethod
    def after(cls, rows_newest_first: list, exhaustive: bool, previous: "Cursor | None" = None) -> "Cursor":
        """The cursor of a poller that now holds `rows_newest_first`.

        `exhaustive` says the query returned every row at or above its floor (it
        was not cut by its limit); otherwise older rows of the window were not
        sent and the floor must not reach below the oldest row listed.
        """
        if not rows_newest_first:
            return previous or cls(floor=utcnow() - OVERLAP)
        floor = rows_newest_first[0].created_at - OVERLAP
        kept = rows_newest_first[:SEEN_CAP]
        # Every row at or above the floor must be in the set, or a later poll sends it again. The
        # rows past the cap leave the set, and a query cut by its limit may have left out rows of
        # the oldest time it reached (a webhook drain stamps many rows with one time): the floor
        # then passes just above that time (those rows are the burst the feed does not show).
        if len(rows_newest_first) > SEEN_CAP:
            floor = max(floor, rows_newest_first[SEEN_CAP].created_at + _TICK)
        elif not exhaustive:
            floor = max(floor, kept[-1].created_at + _TICK)
        if previous is not None:  # a floor never goes down: what it left below is not sent again
            floor = max(floor, previous.floor)
        return cls(floor=floor, seen=frozenset(short_id(r.id) for r in kept if r.created_at >= floor))
