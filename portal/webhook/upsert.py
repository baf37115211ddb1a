"""Conflict-tolerant INSERTs for SQLite and PostgreSQL (the only two backends), for the
less frequent rows (account events, unrouted changes, pending statuses).

Both dialects spell ON CONFLICT the same way in SQLAlchemy but through their
own `insert`; this helper picks it from the connection. `rows` is a list of
dicts with the same keys: SQLAlchemy sends them as multi-row statements
("insertmanyvalues"), RETURNING included. (The message path uses fastsql.py.)
"""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite


def _insert(conn, table):
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _columns(returning) -> tuple:
    return tuple(returning) if isinstance(returning, (tuple, list)) else (returning,)


def insert_ignoring_conflicts(conn, table, rows: list[dict], keys: list[str], returning=None) -> list:
    """INSERT ... ON CONFLICT (keys) DO NOTHING; with `returning`, the rows this statement inserted."""
    if not rows:
        return []
    statement = _insert(conn, table).on_conflict_do_nothing(index_elements=keys)
    if returning is None:
        conn.execute(statement, rows)
        return []
    return conn.execute(statement.returning(*_columns(returning)), rows).all()
