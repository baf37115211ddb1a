"""The webhook journal: signed bodies kept from the 200 until their changes are stored.

Why a journal: Meta waits for our answer, and what it needs to know is only that
the delivery is safe. Appending the raw body is one INSERT; routing and storing
it (contacts, conversations, messages, counters) is then done by the drainer,
for many deliveries in one transaction, off Meta's clock.

Exactly once: `drain` deletes the deliveries it takes and stores their changes
in the SAME transaction, so a delivery is either still in the journal or fully
stored, never both and never half. Two drainers never take the same delivery
(PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the DELETE takes the database's
single write lock first). A delivery journaled twice (Meta's retry) is stored
once by ingest's unique constraints.

On SQLite (and on PostgreSQL with WEBHOOK_JOURNAL=file) the fast lane journals into
a file of its own instead (journal_file.py), so that acknowledging never waits for a
drain's write lock (or, on PostgreSQL, for a round trip and a commit); there a drain
claims deliveries, stores and commits, then deletes them, and ingest's unique
constraints make a second store of the same delivery (after a drain died mid-way) a
no-op. The table stays for what the Flask view journals, and for PostgreSQL's default.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import DBAPIError

from ..extensions import db
from ..meta.payloads import PayloadError, iter_changes, load_body
from ..models import RejectedWebhook, WebhookDelivery
from ..models.base import utcnow
from .ingest import store_changes
from .journal_file import LEASE_SECONDS, JournalFileError

log = logging.getLogger(__name__)
deliveries = WebhookDelivery.__table__

# One drain transaction stores about this many messages and statuses: enough to share its
# fixed costs (round trips, the commit, and the index and conversation pages it rewrites,
# which on a big SQLite inbox are most of the cost: 10,000 per drain store 1.6x as fast as
# 1,000 there). Meanwhile the portal's other writers wait for its locks: on SQLite the one
# drain at a time is what stores anyway (the fast lane journals into its own file, so Meta's
# answers do not wait); on PostgreSQL several drains store side by side and fewer items keep
# an agent's reply from waiting long on a conversation row a drain holds (the soak's webhook
# p99 was 1.4 s with 5,000, 0.35 s with 1,000).
ITEMS_PER_DRAIN = {"sqlite": 10000}
ITEMS_PER_DRAIN_DEFAULT = 1000
MAX_DELIVERIES_PER_DRAIN = 1000
MAX_BYTES_PER_DRAIN = 32 * 1024 * 1024  # of bodies (Meta's reach 3 MB): memory stays bounded
SET_ASIDE_REASON = "could not be stored (see the log); replay after a fix"


@dataclass
class DrainResult:
    deliveries: int = 0  # journal rows taken (stored or set aside)
    messages: int = 0  # new messages stored
    duplicates: int = 0
    statuses: int = 0
    events: int = 0
    unrouted: int = 0
    rejected: int = 0  # set aside in rejected_webhooks (unreadable, or failed on their own)

    def add(self, other: "DrainResult") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def append(body: bytes) -> int:
    """Journal a verified body in the session's transaction (the caller commits); its id."""
    return db.session.execute(insert(deliveries).values(body=body, received_at=utcnow()).returning(deliveries.c.id)).scalar_one()


def backlog() -> int:
    """Deliveries not stored yet (`flask webhooks drain`, /readyz): the table's and the journal file's."""
    journal_file = current_app.extensions.get("webhook_journal_file")
    in_file = journal_file.count() if journal_file is not None else 0
    return db.session.execute(select(func.count()).select_from(deliveries)).scalar_one() + in_file


class _Pace:
    """How many deliveries to take next: about ITEMS_PER_DRAIN items, by the last drain's average."""

    items_per_delivery = 1.0

    @classmethod
    def limit(cls, items: int | None = None) -> int:
        items = items or ITEMS_PER_DRAIN.get(db.engine.dialect.name, ITEMS_PER_DRAIN_DEFAULT)
        return max(1, min(MAX_DELIVERIES_PER_DRAIN, int(items / cls.items_per_delivery)))

    @classmethod
    def learn(cls, deliveries_taken: int, items: int) -> None:
        if deliveries_taken:
            cls.items_per_delivery = max(1.0, items / deliveries_taken)


def _take(limit: int | None = None, ids: list[int] | None = None):
    """DELETE ... RETURNING the oldest deliveries (up to `limit` and MAX_BYTES_PER_DRAIN, at
    least one), or those `ids`, that no other drainer holds."""
    if ids is not None:
        chosen = select(deliveries.c.id).where(deliveries.c.id.in_(ids))
        chosen = chosen.with_for_update(skip_locked=True)  # ignored on SQLite, whose writers queue instead
    else:
        # The sizes come from the rows' headers (length() reads no body), the sum before each row
        # keeps the first whatever its size.
        locked = (select(deliveries.c.id, func.length(deliveries.c.body).label("size")).order_by(deliveries.c.id)
                  .limit(limit).with_for_update(skip_locked=True).subquery())
        before = (func.sum(locked.c.size).over(order_by=locked.c.id) - locked.c.size).label("before")
        sized = select(locked.c.id, before).subquery()
        chosen = select(sized.c.id).where(sized.c.before < MAX_BYTES_PER_DRAIN)
    statement = delete(deliveries).where(deliveries.c.id.in_(chosen.scalar_subquery())).returning(deliveries.c.id, deliveries.c.body)
    return db.session.execute(statement).all()


def drain_once(ids: list[int] | None = None, items: int | None = None) -> DrainResult:
    """Take a batch of deliveries and store them, in one transaction. Database errors are
    raised after the rollback (the deliveries are then still in the journal, for the next try).
    With a journal file, a batch of the file, then one of the table (what the view journaled:
    it never waits for the file to be empty); on PostgreSQL a failure also tells the lane to
    send deliveries through the database until a drain works again (database_failed).
    `items`: about how many messages and statuses to take (default ITEMS_PER_DRAIN)."""
    journal_file = current_app.extensions.get("webhook_journal_file")
    separate_database = journal_file is not None and db.engine.dialect.name != "sqlite"
    result = DrainResult()
    file_failed = None
    try:
        if journal_file is not None and ids is None:
            try:
                result.add(_drain_file_once(journal_file, items))
            except JournalFileError as error:  # the file, not the database: what the view journaled is still drained
                file_failed = error
        result.add(_drain_table_once(ids, items))
    except DBAPIError:
        if separate_database:
            journal_file.database_failed()
        raise
    if separate_database:
        journal_file.database_works()
    if file_failed is not None:
        raise file_failed
    return result


def _drain_table_once(ids: list[int] | None, items: int | None) -> DrainResult:
    rows = []
    try:
        rows = _take(_Pace.limit(items), ids)
        if not rows:
            db.session.rollback()
            return DrainResult()
        return _store(rows)  # its commit deletes them too
    except DBAPIError:
        db.session.rollback()
        raise
    except Exception:
        # A bug met by one delivery must not block the journal: take them one at a time,
        # and set aside (never drop) the delivery that fails on its own.
        db.session.rollback()
        if not rows:
            raise
        if len(rows) == 1:
            return _set_aside(rows[0][0])
        result = DrainResult()
        for delivery_id, _ in rows:
            result.add(_drain_table_once([delivery_id], None))
        return result


def _drain_file_once(journal_file, items: int | None) -> DrainResult:
    """Claim the oldest unclaimed deliveries of the journal file, store them and commit, then
    delete them with the claim. A drain that fails gives its claim back; one that dies leaves
    it to run out (journal_file.LEASE_SECONDS), and the next drain stores its deliveries again,
    as a no-op if they were committed."""
    claim, rows = journal_file.take(_Pace.limit(items), MAX_BYTES_PER_DRAIN)
    if not rows:
        return DrainResult()
    try:
        try:
            _lock_database()
            result = _store(rows)
        except DBAPIError:
            raise
        except Exception:  # a bug met by one delivery: each alone, and the one that fails is set aside
            db.session.rollback()
            result = _store_one_by_one(rows)
    except BaseException:  # the database failed (or the process is stopping): the deliveries stay
        db.session.rollback()
        _give_back(journal_file, claim)
        raise
    journal_file.finish(claim, [delivery_id for delivery_id, _ in rows])
    return result


def _give_back(journal_file, claim: int) -> None:
    try:
        journal_file.release(claim)
    except DBAPIError:  # its lease runs out instead
        log.warning("could not give back a claim on the webhook journal file; it runs out in %.0f s", LEASE_SECONDS)


def _store_one_by_one(rows: list) -> DrainResult:
    """After a batch failed on a bug: each delivery alone; the one that still fails is set aside."""
    result = DrainResult()
    for row in rows:
        try:
            _lock_database()
            result.add(_store([row]))
        except DBAPIError:
            db.session.rollback()
            raise
        except Exception:
            db.session.rollback()
            log.exception("webhook delivery %s (journal file) could not be stored; set aside in rejected_webhooks", row[0])
            db.session.add(RejectedWebhook(body=bytes(row[1]), reason=SET_ASIDE_REASON))
            db.session.commit()
            result.add(DrainResult(deliveries=1, rejected=1))
    return result


def _lock_database() -> None:
    """On SQLite, take the write lock before the first read, as the table's DELETE does: routing
    reads the linked numbers, so a number linked meanwhile waits for this drain (or it for the
    link) rather than have its deliveries kept as unrouted after the link's replay ran. On
    PostgreSQL nothing: drains store side by side, and the drainers' catch-up (replay.py)
    replays what such a race kept."""
    if db.engine.dialect.name == "sqlite":
        db.session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def _store(rows: list) -> DrainResult:
    """Store the changes of journaled (id, body) rows and commit."""
    changes, unreadable = [], []
    for _, body in rows:
        try:
            changes.extend(iter_changes(load_body(bytes(body))))
        except PayloadError as error:  # only journaled after load_body passed; kept if it ever fails
            unreadable.append(RejectedWebhook(body=bytes(body), reason=str(error)[:255]))
    outcome = store_changes(changes)
    db.session.add_all(unreadable)
    db.session.commit()
    _Pace.learn(len(rows), len(changes) and sum(_items(c) for c in changes))
    return DrainResult(deliveries=len(rows), rejected=len(unreadable), messages=outcome.messages,
                       duplicates=outcome.duplicates, statuses=outcome.statuses, events=outcome.events,
                       unrouted=outcome.unrouted)


def _items(change) -> int:
    value = change.value if isinstance(change.value, dict) else {}
    count = 0
    for key in ("messages", "statuses"):
        listed = value.get(key)
        if isinstance(listed, list):
            count += len(listed)
    return count or 1


def _set_aside(delivery_id: int) -> DrainResult:
    log.exception("webhook delivery %s could not be stored; set aside in rejected_webhooks", delivery_id)
    rows = _take(ids=[delivery_id])
    for _, body in rows:
        db.session.add(RejectedWebhook(body=bytes(body), reason=SET_ASIDE_REASON))
    db.session.commit()
    return DrainResult(deliveries=len(rows), rejected=len(rows))


def drain(max_batches: int | None = None, items: int | None = None) -> DrainResult:
    """Drain until the journal is empty (or `max_batches` were taken)."""
    total = DrainResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        result = drain_once(items=items)
        batches += 1
        total.add(result)
        if result.deliveries == 0:
            break
    return total
