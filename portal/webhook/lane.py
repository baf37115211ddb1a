"""POST /webhook's fast lane: verify the signature, journal the body, answer 200.

Meta's deliveries are by far the portal's most frequent request, and Meta only
needs to know that a delivery is safe. This WSGI wrapper serves the ordinary
delivery without Flask's request machinery (context, hooks, session, routing):
a body within the size limit, correctly signed (checked over the raw bytes
before parsing), readable as a webhook envelope, appended to the journal on a
connection the lane keeps per thread, in autocommit (one round trip): the
webhook_deliveries table, or a journal file on this host (journal_file.py: always on
SQLite, with WEBHOOK_JOURNAL=file on PostgreSQL; while drains cannot reach PostgreSQL,
the view takes the deliveries instead).
The drainer (drainer.py) stores what it says.

Anything else (no or a wrong signature, a body too big or unreadable, a
database error) is handed, body included, to the Flask view routes.receive,
which answers it as it always did (401, 403, 413, 400 with the body kept, 503).
"""
from __future__ import annotations

import io
import logging
import sqlite3
import threading
import time

from sqlalchemy import DateTime

from ..meta.payloads import PayloadError, load_body
from ..meta.signatures import SignatureError, verify_webhook_signature
from ..models.base import utcnow
from ..observability import access_log, log_access, request_id_from
from ..security import security_headers
from .journal_file import APPEND_SQL, connect as journal_file_connect

log = logging.getLogger(__name__)

ANSWER = b'{"received":true}'
SQLITE_LOCK_WAIT_SECONDS = 10.0
SQLITE_RETRY_SECONDS = 0.0005


class _ThenDrain:
    """The answer's body; the server closes it once the answer is sent, and then this
    thread drains (drainer.Drainer.after_response), off Meta's clock."""

    def __init__(self, drainer):
        self.drainer = drainer

    def __iter__(self):
        yield ANSWER

    def close(self) -> None:
        self.drainer.after_response()


class WebhookLane:
    def __init__(self, app, wsgi_app, drainer):
        self.app = app
        self.next = wsgi_app
        self.drainer = drainer
        config = app.config
        self.secret = config["META_APP_SECRET"] or ""
        self.max_bytes = config["WEBHOOK_MAX_BYTES"]
        self.headers = [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWER))),
                        *security_headers(config["META_DIALOG_URL"], config["PORTAL_ENV"] == "production")]
        self._local = threading.local()
        self._opened = []  # how to close every thread's connection, for close()
        self._opened_lock = threading.Lock()
        self._journal = None  # (sql, timestamp converter), once the engine is known
        self._sqlite = False
        self._separate_database = not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")  # see _database_down

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != "/webhook" or environ.get("REQUEST_METHOD") != "POST" or not self.secret:
            return self.next(environ, start_response)
        started = time.perf_counter()
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return self.next(environ, start_response)  # no length (chunked): the view reads it
        if not 0 <= length <= self.max_bytes:
            return self.next(environ, start_response)  # the view answers 413 without reading it
        body = environ["wsgi.input"].read(length)
        if not self._accept(body, environ.get("HTTP_X_HUB_SIGNATURE_256")):
            environ["wsgi.input"] = io.BytesIO(body)
            return self.next(environ, start_response)
        self.drainer.wake()
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID", ""))
        if access_log.isEnabledFor(logging.INFO):
            log_access("POST", "/webhook", 200, started, request_id)
        start_response("200 OK", self.headers + [("X-Request-ID", request_id)])
        return _ThenDrain(self.drainer)

    def _accept(self, body: bytes, signature: str | None) -> bool:
        """True once `body` is verified and journaled; False hands it to the view."""
        try:
            verify_webhook_signature(body, signature, self.secret)
        except SignatureError:
            return False
        try:
            load_body(body)
        except PayloadError:
            return False
        if self._database_down():
            return False  # the view journals it in the database, or answers 503 (journal_file.py)
        try:
            self._append(body)
        except Exception as error:  # the view tries again through the pool, and answers 503 if it must
            log.warning("webhook lane could not journal (%s); handing the delivery to the view", type(error).__name__)
            self._drop_connection()
            return False
        return True

    def _database_down(self) -> bool:
        journal_file = self.app.extensions.get("webhook_journal_file")
        return journal_file is not None and self._separate_database and journal_file.database_down()

    # The journal connection: one per thread, outside the pool, in autocommit, so an append
    # is one statement and one round trip (no pool checkout, ping, BEGIN or COMMIT).

    def _append(self, body: bytes) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connect()
        sql, timestamp = self._journal
        params = (body, timestamp(utcnow()))
        cursor = connection.cursor()
        try:
            if self._sqlite:
                self._append_sqlite(cursor, sql, params)
            else:
                cursor.execute(sql, params)
        finally:
            cursor.close()

    def _append_sqlite(self, cursor, sql, params) -> None:
        """SQLite's own wait for the write lock (held by a drain) sleeps in steps of up to
        100 ms, leaving the CPU idle long after the lock is free: retry in short steps instead."""
        deadline = None
        while True:
            try:
                cursor.execute(sql, params)
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                now = time.monotonic()
                deadline = deadline or now + SQLITE_LOCK_WAIT_SECONDS
                if now > deadline:
                    raise
                time.sleep(SQLITE_RETRY_SECONDS)

    def _connect(self):
        journal_file = self.app.extensions.get("webhook_journal_file")
        if journal_file is not None:  # SQLite: the journal's own file (journal_file.py)
            driver = journal_file_connect(journal_file.path)
            driver.execute("PRAGMA busy_timeout = 0")  # the lane waits for the lock itself (_append_sqlite)
            # The drains' deletes checkpoint the file's log into it (with an fsync) after each
            # batch; an append doing it too would pay that on Meta's clock, over and over while a
            # drain reads and the log cannot restart.
            driver.execute("PRAGMA wal_autocheckpoint = 0")
            self._sqlite = True
            self._journal = (APPEND_SQL, lambda at: at.isoformat(" "))
            return self._keep(driver, driver.close)
        from ..extensions import db

        with self.app.app_context():
            engine = db.engine
            fairy = engine.raw_connection()  # the pool's connect hooks run (SQLite pragmas)
        driver = fairy.driver_connection
        fairy.detach()  # ours until it breaks; never returned to the pool
        self._sqlite = engine.dialect.name == "sqlite"
        if self._sqlite:
            driver.isolation_level = None
            driver.execute("PRAGMA busy_timeout = 0")  # the lane waits for the lock itself (_append_sqlite)
        else:
            driver.autocommit = True
        if self._journal is None:
            mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
            convert = DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect) or (lambda value: value)
            self._journal = (f"INSERT INTO webhook_deliveries (body, received_at) VALUES ({mark}, {mark})", convert)
        return self._keep(driver, fairy.invalidate)

    def _keep(self, driver, closer):
        """This thread's connection, and how to close it (for close() and _drop_connection())."""
        self._local.connection, self._local.closer = driver, closer
        with self._opened_lock:
            self._opened.append(closer)
        return driver

    def close(self) -> None:
        """Close every thread's journal connection (tests; a worker's exit closes them anyway)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for closer in opened:
            try:
                closer()
            except Exception:  # already gone
                pass
        self._local = threading.local()

    def _drop_connection(self) -> None:
        closer = getattr(self._local, "closer", None)
        self._local.connection = self._local.closer = None
        if closer is not None:
            with self._opened_lock:
                if closer in self._opened:
                    self._opened.remove(closer)
            try:
                closer()
            except Exception:  # already gone
                pass
