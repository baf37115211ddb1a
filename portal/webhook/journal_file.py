"""On a SQLite database, the webhook journal in a file of its own (`<database>.webhooks`).

Why: SQLite lets one connection write to a database file at a time. A drain holds that
lock for the whole batch it stores (tens of milliseconds), and the fast lane's appends
waited behind it, the CPU idle meanwhile (a third of a worker's time under load). In a
file of its own, an append only ever waits for another append, or for a drain's brief
claim or delete; acknowledging Meta never waits for storing.

The price: taking deliveries and storing them can no longer be one transaction. A drain
claims deliveries (for CLAIM_SECONDS), stores them and commits, and only then deletes them
(journal.py). If it dies in between, its claim ends (within a second once its process is
seen gone: the drains of a file all run on its host) and a drain stores them again, which
ingest's unique constraints make a no-op, as for Meta's own retries: nothing is lost, and
nothing is stored twice.

The file is a queue, not part of the portal's schema (no Alembic migration): it is made
on first use, and its layout is versioned by SCHEMA_VERSION (PRAGMA user_version).
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from .processes import running

SUFFIX = ".webhooks"
CLAIM_SECONDS = 60.0  # a drain that has not deleted what it claimed by then is presumed dead
DEAD_DRAIN_CHECK_SECONDS = 1.0  # and sooner, once its process is seen gone (drains are on this host)
SCHEMA_VERSION = 1
# The body last: SQLite reads a row's columns in order, and a big body spills into overflow
# pages that a claim, looking only at claimed_until, then never has to read.
SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    claimed_until REAL NOT NULL DEFAULT 0,
    claimed_by INTEGER NOT NULL DEFAULT 0,
    received_at TEXT NOT NULL,
    body BLOB NOT NULL
)"""
APPEND_SQL = "INSERT INTO webhook_deliveries (body, received_at) VALUES (?, ?)"


def path_for(database_uri: str) -> str | None:
    """The journal file of a SQLite database file; None for other databases (and in-memory SQLite)."""
    url = make_url(database_uri)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:") or url.query.get("uri"):
        return None
    return os.path.abspath(url.database) + SUFFIX


def connect(path: str) -> sqlite3.Connection:
    """A connection to the journal file in autocommit (each statement its own transaction),
    making the file on first use."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA busy_timeout=10000")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")  # as the database itself (portal/database.py)
    if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        connection.execute(SCHEMA)
        connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return connection


class JournalFile:
    """The journal file of one database: appends (the lane's own connections) and a drain's
    claim, release and delete (a connection per process and thread)."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self._dead_checked = 0.0
        self._opened: list = []  # (pid, connection) of every thread's drain connection, for close()
        self._opened_lock = threading.Lock()

    def _connection(self):
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # never a connection inherited through fork
            local.pid, local.connection = os.getpid(), connect(self.path)
            with self._opened_lock:
                self._opened.append((local.pid, local.connection))
        return local.connection

    def claim(self, limit: int) -> list[tuple[int, bytes]]:
        """The oldest deliveries no live drain holds, now held by this one for CLAIM_SECONDS."""
        now = time.time()
        if now - self._dead_checked >= DEAD_DRAIN_CHECK_SECONDS:
            self._dead_checked = now
            self._free_claims_of_dead_drains(now)
        return sorted(self._execute(
            "UPDATE webhook_deliveries SET claimed_until = ?, claimed_by = ? WHERE id IN "
            "(SELECT id FROM webhook_deliveries WHERE claimed_until < ? ORDER BY id LIMIT ?) RETURNING id, body",
            (now + CLAIM_SECONDS, os.getpid(), now, limit),
        ))

    def _free_claims_of_dead_drains(self, now: float) -> None:
        """A drain process killed mid-drain (its transaction rolled back) frees its claims at once."""
        claimers = self._execute("SELECT DISTINCT claimed_by FROM webhook_deliveries WHERE claimed_until >= ?", (now,))
        for (pid,) in claimers:
            if pid != os.getpid() and not running(pid):
                self._execute("UPDATE webhook_deliveries SET claimed_until = 0 WHERE claimed_by = ? AND claimed_until >= ?",
                              (pid, now))

    def release(self, ids: list[int]) -> None:
        """Give claimed deliveries back at once (the drain failed; they are tried again soon)."""
        self._many("UPDATE webhook_deliveries SET claimed_until = 0 WHERE id IN ({})", ids)

    def delete(self, ids: list[int]) -> None:
        """Forget deliveries whose changes are committed in the database."""
        self._many("DELETE FROM webhook_deliveries WHERE id IN ({})", ids)

    def count(self) -> int:
        return self._execute("SELECT count(*) FROM webhook_deliveries")[0][0]

    def _many(self, sql: str, ids: list[int]) -> None:
        for start in range(0, len(ids), 500):  # within SQLite's limit of bound parameters
            chunk = ids[start:start + 500]
            self._execute(sql.format(", ".join("?" * len(chunk))), chunk)

    def _execute(self, sql: str, params=()) -> list:
        """Run one statement; a failure is raised as SQLAlchemy's OperationalError, like the
        database's own, so every drainer and /readyz handle both alike."""
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise OperationalError(sql, None, error) from None

    def empty(self) -> None:
        """Forget every delivery (tests, between tests)."""
        self._execute("DELETE FROM webhook_deliveries")

    def close(self) -> None:
        """Close this process's drain connections (tests; an exiting process closes them anyway)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for pid, connection in opened:
            if pid == os.getpid():
                connection.close()
        self._local = threading.local()
