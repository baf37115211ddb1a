"""On a SQLite database, the webhook journal in a file of its own (`<database>.webhooks`).

Why: SQLite lets one connection write to a database file at a time. A drain holds that
lock for the whole batch it stores (tens of milliseconds), and the fast lane's appends
waited behind it, the CPU idle meanwhile (a third of a worker's time under load). In a
file of its own, an append only ever waits for another append or a drain's brief delete;
acknowledging Meta never waits for storing.

The price: taking deliveries and storing them can no longer be one transaction. A drain
reads the oldest deliveries here, stores them and commits, and only then deletes them
(journal.py), all in its turn: drains of a file (all on its host) take turns on a lock
file next to it, so none reads what another has stored but not deleted yet. If one dies
between its commit and its delete, the next one stores them again, which ingest's unique
constraints make a no-op, as for Meta's own retries: nothing is lost, and nothing is
stored twice.

The file is a queue, not part of the portal's schema (no Alembic migration): it is made
on first use, and its layout is versioned by SCHEMA_VERSION (PRAGMA user_version).
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from contextlib import contextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

SUFFIX = ".webhooks"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    """The journal file of one database: the lane appends on connections of its own; a drain
    reads and deletes on one connection per process and thread."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self._opened: list = []  # (pid, connection) of every thread's drain connection, for close()
        self._opened_lock = threading.Lock()

    def _connection(self):
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # never a connection inherited through fork
            local.pid, local.connection = os.getpid(), connect(self.path)
            with self._opened_lock:
                self._opened.append((local.pid, local.connection))
        return local.connection

    @contextmanager
    def turn(self):
        """This drain's turn, from reading deliveries to deleting them once stored (the lock is
        the kernel's: a drain that dies lets the next one go at once). Each call opens the lock
        file anew, so threads of one process take turns too."""
        with open(self.path + ".lock", "ab") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def oldest(self, limit: int, max_bytes: int) -> list[tuple[int, bytes]]:
        """The oldest deliveries, (id, body), up to `limit` and `max_bytes` of bodies (at least
        one), in a drain's turn. length() reads no body, only its size."""
        return self._execute(
            "SELECT id, body FROM webhook_deliveries WHERE id IN (SELECT id FROM ("
            " SELECT id, sum(size) OVER (ORDER BY id) - size AS before FROM ("
            "  SELECT id, length(body) AS size FROM webhook_deliveries ORDER BY id LIMIT ?))"
            " WHERE before < ?) ORDER BY id",
            (limit, max_bytes),
        )

    def delete(self, ids: list[int]) -> None:
        """Forget deliveries whose changes are committed in the database."""
        for start in range(0, len(ids), 500):  # within SQLite's limit of bound parameters
            chunk = ids[start:start + 500]
            self._execute(f"DELETE FROM webhook_deliveries WHERE id IN ({', '.join('?' * len(chunk))})", chunk)

    def count(self) -> int:
        return self._execute("SELECT count(*) FROM webhook_deliveries")[0][0]

    def empty(self) -> None:
        """Forget every delivery (tests, between tests)."""
        self._execute("DELETE FROM webhook_deliveries")

    def _execute(self, sql: str, params=()) -> list:
        """Run one statement; a failure is raised as SQLAlchemy's OperationalError, like the
        database's own, so every drainer and /readyz handle both alike."""
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise OperationalError(sql, None, error) from None

    def close(self) -> None:
        """Close this process's drain connections (tests; an exiting process closes them anyway)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for pid, connection in opened:
            if pid == os.getpid():
                connection.close()
        self._local = threading.local()
