"""The webhook journal on SQLite: a SQLite file of its own beside the database.

Why a file of its own: SQLite has one writer at a time, and a drain holds that
lock while it stores a batch. Journaling into the database itself would make
Meta's answer wait for the drain; journaling into this file never does. A
SQLite install is one machine by definition, so a file beside the database is
no web-host state that a load balancer could lose (on PostgreSQL the journal is
the database's own table).

A drain stores a batch and commits in the database, then deletes it here: a
drain that dies in between leaves the batch to be stored again, which ingest's
unique constraints make a no-op.
"""
from __future__ import annotations

import os
import sqlite3
import threading

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

SUFFIX = ".webhooks"
SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body BLOB NOT NULL,
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now'))
);
"""


class JournalFileError(OperationalError):
    """The journal file could not be used: raised as SQLAlchemy's OperationalError, like the
    database's own errors, so the view answers 503 and drains retry alike."""


def path_for(database_uri: str) -> str | None:
    """The journal file of a SQLite database file; None for other databases (and in-memory SQLite)."""
    url = make_url(database_uri)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:") or url.query.get("uri"):
        return None
    return os.path.abspath(url.database) + SUFFIX


class JournalFile:
    """Append, read the oldest, delete; one connection per thread and process, in autocommit."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # never a connection inherited through fork
            try:
                os.makedirs(os.path.dirname(self.path), exist_ok=True)
                connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                connection.execute("PRAGMA busy_timeout=10000")
                connection.execute("PRAGMA journal_mode=WAL")
                # As the database itself (portal/database.py): WAL with NORMAL survives a crash of any
                # process; a power cut may lose the last commits of both (bench/README.md: what FULL costs).
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.executescript(SCHEMA)
            except (sqlite3.Error, OSError) as error:
                raise JournalFileError("open the webhook journal file", None, error) from None
            local.pid, local.connection = os.getpid(), connection
        return local.connection

    def _execute(self, sql: str, params=()) -> list:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as error:  # no parameters in the error: a body never reaches a log
            raise JournalFileError("use the webhook journal file", None, error) from None

    def append(self, body: bytes) -> None:
        self._execute("INSERT INTO webhook_deliveries (body) VALUES (?)", (body,))

    def oldest(self, limit: int, max_bytes: int) -> list[tuple[int, bytes]]:
        """Up to `limit` of the oldest deliveries, within `max_bytes` of bodies (the first always)."""
        rows, size = [], 0
        for delivery_id, length in self._execute(
                "SELECT id, length(body) FROM webhook_deliveries ORDER BY id LIMIT ?", (limit,)):
            if rows and size + length > max_bytes:
                break
            rows.append(delivery_id)
            size += length
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        return self._execute(f"SELECT id, body FROM webhook_deliveries WHERE id IN ({marks}) ORDER BY id", rows)

    def delete(self, ids: list[int]) -> None:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            self._execute(f"DELETE FROM webhook_deliveries WHERE id IN ({','.join('?' * len(chunk))})", chunk)

    def count(self) -> int:
        return self._execute("SELECT count(*) FROM webhook_deliveries")[0][0]

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.pid = self._local.connection = None
