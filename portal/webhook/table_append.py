"""Appending to the journal table (PostgreSQL) on a connection kept for it.

Why: one message per POST, the portal on PostgreSQL spent more CPU checking a pooled connection
out (and pinging it) and going through SQLAlchemy for one INSERT than the INSERT itself costs,
and stayed under issue 13's floor (bench/README.md, "What the remaining gaps are made of").
Each process keeps one connection for journal appends, in autocommit (the INSERT is durable at
the server before the 200), guarded by a lock so threads take turns. A failure, to connect or
to insert, drops the connection (the next append opens another through the pool, which pings
it) and is raised as SQLAlchemy's OperationalError, which the view answers with a 503 so that
Meta retries.
"""
from __future__ import annotations

import threading

from sqlalchemy.exc import OperationalError

from ..models.base import utcnow

INSERT = "INSERT INTO webhook_deliveries (body, received_at) VALUES (%s, %s)"


class TableAppender:
    def __init__(self, engine):
        self.engine = engine
        self.lock = threading.Lock()
        self.connection = None

    def append(self, body: bytes) -> None:
        with self.lock:
            try:
                if self.connection is None:
                    # Through the pool, which pings it; a server that refuses the connection raises the
                    # driver's own error here (the pool does not wrap it), so it is caught below too.
                    connection = self.engine.raw_connection()
                    connection.driver_connection.autocommit = True
                    self.connection = connection
                with self.connection.cursor() as cursor:
                    cursor.execute(INSERT, (body, utcnow()))
            except self.engine.dialect.loaded_dbapi.Error as error:
                self._drop(invalidate=True)
                raise OperationalError(INSERT, None, error) from error

    def close(self) -> None:
        with self.lock:
            self._drop(invalidate=False)

    def _drop(self, invalidate: bool) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        if invalidate:
            connection.invalidate()  # broken: the pool must not hand it out again
        else:
            connection.driver_connection.autocommit = False
            connection.close()  # back to the pool
