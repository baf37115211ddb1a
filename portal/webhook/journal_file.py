"""The webhook journal in a SQLite file of its own, on the web host: by default beside a
SQLite database (`<database>.webhooks`); with WEBHOOK_JOURNAL=file on PostgreSQL too.

Why on SQLite: SQLite lets one connection write to a database file at a time. A drain holds
that lock for the whole batch it stores (tens of milliseconds), and the fast lane's appends
waited behind it, the CPU idle meanwhile (a third of a worker's time under load). In a file
of its own, an append only ever waits for another append or a drain's brief delete;
acknowledging Meta never waits for storing.

Why it is offered on PostgreSQL: an append is then a local write, not a round trip and a
durable commit on the database server (about 290 us of a sync worker's time on the bench's
machine), so the portal takes about 1.6 times as many single-message deliveries per second
(bench/README.md), and a slow database does not slow Meta's answers. The price: the file is
kept like SQLite's own (WAL, synchronous=NORMAL): what was acknowledged survives the portal's
processes being killed, but on a power loss or an OS crash of the web host the last moments'
deliveries may be lost, which PostgreSQL's own commit would have kept. Hence not the default
there (docs/reliability.md).

The price of either: taking deliveries and storing them can no longer be one transaction. A
drain claims the oldest deliveries no other drain has claimed (in its turn on a lock file next
to the journal: drains of a file are all on its host), stores them and commits, and only then
deletes them with its claim (journal.py). Drains store side by side. A claim is a lease: if its
drain dies, the next drain takes its deliveries once the lease has run out (LEASE_SECONDS); if
the drain died between its commit and its delete, they are stored again, which ingest's unique
constraints make a no-op, as for Meta's own retries: nothing is lost, and nothing is stored
twice. (A drain slower than its lease is no harm either: a second store is the same no-op.)

The file is a queue, not part of the portal's schema (no Alembic migration): it is made
on first use, and its layout is versioned by SCHEMA_VERSION (PRAGMA user_version).
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from contextlib import contextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

SUFFIX = ".webhooks"
DOWN_SUFFIX = ".database-down"  # a marker file beside the journal (see database_failed)
DEFAULT_NAME = "webhooks.journal"  # under the instance folder, beside a database that is not a SQLite file
SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL,
    until REAL NOT NULL
);
"""
# A drain stores its batch (at most MAX_DELIVERIES_PER_DRAIN, 32 MiB) in well under a second;
# a drain that died leaves its deliveries to the others after this long.
LEASE_SECONDS = 30.0
APPEND_SQL = "INSERT INTO webhook_deliveries (body, received_at) VALUES (?, ?)"


class JournalFileError(OperationalError):
    """The journal file could not be used (its folder, its disk, SQLite): raised as SQLAlchemy's
    OperationalError, like the database's own, so drainers and /readyz handle both alike; its
    own class lets them tell the file's failures from the database's."""


def _unusable(action: str, error: Exception) -> JournalFileError:
    # No parameters: a body never reaches an exception text.
    return JournalFileError(action, None, error)


def configured_path(config, instance_path: str) -> str | None:
    """The journal file the settings ask for (WEBHOOK_JOURNAL, WEBHOOK_JOURNAL_PATH), or None
    for the database's table. By default: beside a SQLite database file, none otherwise."""
    kind, explicit = config.get("WEBHOOK_JOURNAL"), config.get("WEBHOOK_JOURNAL_PATH")
    if kind == "database":
        return None
    beside_database = path_for(config["SQLALCHEMY_DATABASE_URI"])
    if explicit:
        return os.path.abspath(explicit)
    if kind == "file":
        return beside_database or os.path.join(instance_path, DEFAULT_NAME)
    return beside_database


def path_for(database_uri: str) -> str | None:
    """The journal file of a SQLite database file; None for other databases (and in-memory SQLite)."""
    url = make_url(database_uri)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:") or url.query.get("uri"):
        return None
    return os.path.abspath(url.database) + SUFFIX


def connect(path: str) -> sqlite3.Connection:
    """A connection to the journal file in autocommit (each statement its own transaction),
    making the file (and its folder) on first use."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA busy_timeout=10000")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")  # as a SQLite database itself (portal/database.py); see above
    if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        connection.executescript(SCHEMA)  # version 1 had no claims: its deliveries are kept
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
            try:
                connection = connect(self.path)
            except (sqlite3.Error, OSError) as error:
                raise _unusable("open the webhook journal file", error) from None
            local.pid, local.connection = os.getpid(), connection
            with self._opened_lock:
                self._opened.append((local.pid, local.connection))
        return local.connection

    @contextmanager
    def turn(self):
        """A drain's turn to claim deliveries (the lock is the kernel's: a drain that dies lets the
        next one go at once). Each call opens the lock file anew, so threads of one process take
        turns too."""
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)  # (a drain may come before the first append)
            handle = open(self.path + ".lock", "ab")
        except OSError as error:
            raise _unusable("lock the webhook journal file", error) from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def take(self, limit: int, max_bytes: int) -> tuple[int | None, list[tuple[int, bytes]]]:
        """Claim the oldest deliveries that no live claim covers, up to `limit` and `max_bytes`
        of bodies (at least one): (claim, [(id, body), ...]), or (None, []) if there are none.
        The caller ends the claim with finish() once stored, or release() if it could not store.
        length() reads no body, only its size."""
        with self.turn():
            now = time.time()
            self._execute("DELETE FROM claims WHERE until <= ?", (now,))
            ids = [row[0] for row in self._execute(
                "SELECT id FROM ("
                " SELECT id, sum(size) OVER (ORDER BY id) - size AS before FROM ("
                "  SELECT id, length(body) AS size FROM webhook_deliveries d WHERE NOT EXISTS ("
                "   SELECT 1 FROM claims c WHERE d.id BETWEEN c.first_id AND c.last_id)"
                "  ORDER BY id LIMIT ?))"
                " WHERE before < ? ORDER BY id",
                (limit, max_bytes),
            )]
            if not ids:
                return None, []
            claim = self._execute("INSERT INTO claims (first_id, last_id, until) VALUES (?, ?, ?) RETURNING id",
                                  (ids[0], ids[-1], now + LEASE_SECONDS))[0][0]
        # Claimed: read the bodies outside the turn (the range may hold another claim's rows too).
        wanted = set(ids)
        rows = self._execute("SELECT id, body FROM webhook_deliveries WHERE id BETWEEN ? AND ? ORDER BY id", (ids[0], ids[-1]))
        return claim, [row for row in rows if row[0] in wanted]

    def finish(self, claim: int, ids: list[int]) -> None:
        """Forget claimed deliveries whose changes are committed in the database, and the claim,
        in one transaction of the file."""
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
            for start in range(0, len(ids), 500):  # within SQLite's limit of bound parameters
                chunk = ids[start:start + 500]
                connection.execute(f"DELETE FROM webhook_deliveries WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
            connection.execute("DELETE FROM claims WHERE id = ?", (claim,))
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise _unusable("DELETE FROM webhook_deliveries", error) from None

    def release(self, claim: int) -> None:
        """Give the claimed deliveries back at once (their drain could not store them)."""
        self._execute("DELETE FROM claims WHERE id = ?", (claim,))

    # While drains cannot store (the database is down), the lane hands deliveries to the Flask
    # view, which journals them in the database or answers 503: Meta then retries, as it does
    # without the file, rather than the file filling up with deliveries nothing can store.
    # (On SQLite the journal file and the database are on one disk: they fail together.)

    def database_failed(self) -> None:
        try:
            open(self.path + DOWN_SUFFIX, "ab").close()
        except OSError:
            pass

    def database_works(self) -> None:
        try:
            os.unlink(self.path + DOWN_SUFFIX)
        except OSError:  # none there (or no folder: the lane then does not find one either)
            pass

    def database_down(self) -> bool:
        return os.path.exists(self.path + DOWN_SUFFIX)

    def count(self) -> int:
        return self._execute("SELECT count(*) FROM webhook_deliveries")[0][0]

    def empty(self) -> None:
        """Forget every delivery and claim (tests, between tests)."""
        self._execute("DELETE FROM webhook_deliveries")
        self._execute("DELETE FROM claims")

    def _execute(self, sql: str, params=()) -> list:
        """Run one statement; a failure is raised as JournalFileError."""
        connection = self._connection()
        try:
            return connection.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise _unusable(sql, error) from None

    def close(self) -> None:
        """Close this process's drain connections (tests; an exiting process closes them anyway)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for pid, connection in opened:
            if pid == os.getpid():
                connection.close()
        self._local = threading.local()
