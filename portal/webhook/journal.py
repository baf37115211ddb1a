"""The webhook journal: signed bodies kept from Meta's 200 until their changes are stored.

Why a journal: Meta waits for our answer, and all it needs to know is that the
delivery is safe. The view appends the raw body and commits (one INSERT) before
answering; the worker (`flask work`, portal/jobs.py) then takes deliveries in
batches and stores them with ingest, many per transaction, off Meta's clock.

Where it lives:
- PostgreSQL: the `webhook_deliveries` table. A drain DELETEs the deliveries it
  takes (`FOR UPDATE SKIP LOCKED`, so any number of workers on any hosts share
  the journal) and stores their changes in the same transaction: each delivery
  is stored exactly once, whatever crashes.
- SQLite: a file of its own beside the database (journal_file.py), so that
  answering Meta never waits for a drain's write lock. A drain stores and
  commits, then deletes; if it dies in between, ingest's unique constraints
  make the second store a no-op.

A delivery that fails on its own (a bug met by one body) is set aside in
`rejected_webhooks` for a replay after the fix; database errors leave every
delivery in the journal for the next drain.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, fields

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..meta.payloads import PayloadError, iter_changes, load_body
from ..models import RejectedWebhook, WebhookDelivery
from .ingest import store_changes
from .journal_file import JournalFile, path_for
from .table_append import TableAppender

log = logging.getLogger(__name__)
deliveries = WebhookDelivery.__table__

DELIVERIES_PER_DRAIN = 500  # one transaction stores this many at most (bench/README.md: why)
MAX_BYTES_PER_DRAIN = 16 * 1024 * 1024  # of bodies (Meta's reach 3 MB): memory stays bounded
IDLE_SECONDS = 0.05  # an empty journal is looked at this often by a worker
RETRY_SECONDS = 2.0  # after a database error
SET_ASIDE_REASON = "could not be stored (see the log); replay after a fix"


@dataclass
class DrainResult:
    deliveries: int = 0  # taken from the journal (stored or set aside)
    messages: int = 0  # new messages stored
    duplicates: int = 0
    statuses: int = 0
    events: int = 0
    unrouted: int = 0
    rejected: int = 0  # set aside in rejected_webhooks

    def add(self, other: "DrainResult") -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def journal_file() -> JournalFile | None:
    """The app's journal file (SQLite), or None (PostgreSQL: the table)."""
    extensions = current_app.extensions
    if "webhook_journal_file" not in extensions:
        path = path_for(current_app.config["SQLALCHEMY_DATABASE_URI"])
        extensions["webhook_journal_file"] = JournalFile(path) if path else None
    return extensions["webhook_journal_file"]


def append(body: bytes) -> None:
    """Journal a verified body, committed (durably) when this returns: one autocommitted INSERT
    into the table on the connection kept for it (table_append.py), or into the file."""
    file = journal_file()
    if file is not None:
        file.append(body)
        return
    table_appender().append(body)


def table_appender() -> TableAppender:
    """The app's appender to the journal table (PostgreSQL), made on first use."""
    extensions = current_app.extensions
    if "webhook_table_appender" not in extensions:
        extensions["webhook_table_appender"] = TableAppender(db.engine)
    return extensions["webhook_table_appender"]


def backlog() -> int:
    """Deliveries not stored yet."""
    file = journal_file()
    if file is not None:
        return file.count()
    return db.session.execute(select(func.count()).select_from(deliveries)).scalar_one()


def drain_once() -> DrainResult:
    """Take one batch of deliveries and store it. Database errors are raised after the rollback,
    with every delivery of the batch still journaled."""
    file = journal_file()
    try:
        if file is not None:
            return _drain_file(file)
        return _drain_table()
    except BaseException:
        db.session.rollback()
        raise


def drain() -> DrainResult:
    """Drain until the journal is empty."""
    total = DrainResult()
    while (result := drain_once()).deliveries:
        total.add(result)
    return total


def drain_forever(app, stop: threading.Event) -> None:
    """The worker's drain loop (portal/jobs.py runs it beside the jobs) until `stop` is set;
    the batch being stored is finished first."""
    with app.app_context():
        while not stop.is_set():
            try:
                taken = drain_once().deliveries
            except SQLAlchemyError as error:
                log.warning("webhook drain failed (%s); retrying in %.0f s", type(error).__name__, RETRY_SECONDS)
                stop.wait(RETRY_SECONDS)
                continue
            except Exception:  # a bug: logged, the deliveries stay journaled, the next round tries again
                log.exception("webhook drain failed")
                stop.wait(RETRY_SECONDS)
                continue
            finally:
                db.session.remove()
            if taken < DELIVERIES_PER_DRAIN:
                stop.wait(IDLE_SECONDS)  # lets deliveries gather: a bigger batch stores faster per message


def _take_from_table(limit: int, ids: list[int] | None = None) -> list:
    """Lock the oldest deliveries no other drain holds (or those `ids`), up to `limit` and
    MAX_BYTES_PER_DRAIN of bodies (the first whatever its size), and DELETE ... RETURNING them."""
    chosen = (select(deliveries.c.id, func.length(deliveries.c.body)).order_by(deliveries.c.id).limit(limit)
              .with_for_update(skip_locked=True))
    if ids is not None:
        chosen = chosen.where(deliveries.c.id.in_(ids))
    taken, size = [], 0
    for delivery_id, length in db.session.execute(chosen):
        if taken and size + length > MAX_BYTES_PER_DRAIN:
            break
        taken.append(delivery_id)
        size += length
    if not taken:
        return []
    statement = delete(deliveries).where(deliveries.c.id.in_(taken)).returning(deliveries.c.id, deliveries.c.body)
    return sorted(db.session.execute(statement).all())


def _drain_table() -> DrainResult:
    rows = _take_from_table(DELIVERIES_PER_DRAIN)
    if not rows:
        db.session.rollback()
        return DrainResult()
    try:
        return _store(rows)  # its commit deletes them too
    except SQLAlchemyError:
        raise
    except Exception:
        db.session.rollback()
        return _one_by_one(rows, lambda row: _take_from_table(1, [row[0]]))


def _drain_file(file: JournalFile) -> DrainResult:
    # The database's write lock first, as a drain's first write would take it: drains (and a link's
    # replay) take turns, and a batch is read only once the drain before it has committed.
    db.session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    rows = file.oldest(DELIVERIES_PER_DRAIN, MAX_BYTES_PER_DRAIN)
    if not rows:
        db.session.rollback()
        return DrainResult()
    try:
        result = _store(rows)
    except SQLAlchemyError:
        raise
    except Exception:
        db.session.rollback()
        result = _one_by_one(rows, lambda row: [row])
    file.delete([delivery_id for delivery_id, _ in rows])
    return result


def _one_by_one(rows: list, retake) -> DrainResult:
    """After a batch failed on a bug: each delivery alone; one that still fails is set aside."""
    result = DrainResult()
    for row in rows:
        try:
            again = retake(row)
            if again:
                result.add(_store(again))
        except SQLAlchemyError:
            raise
        except Exception:
            db.session.rollback()
            log.exception("webhook delivery %s could not be stored; set aside in rejected_webhooks", row[0])
            retake(row)
            db.session.add(RejectedWebhook(body=bytes(row[1]), reason=SET_ASIDE_REASON))
            db.session.commit()
            result.add(DrainResult(deliveries=1, rejected=1))
    return result


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
    return DrainResult(deliveries=len(rows), rejected=len(unreadable), messages=outcome.messages,
                       duplicates=outcome.duplicates, statuses=outcome.statuses, events=outcome.events,
                       unrouted=outcome.unrouted)
