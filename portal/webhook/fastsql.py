"""The webhook's hot statements, written once per dialect and run on the driver.

Why not SQLAlchemy constructs here: SQLAlchemy 2.0 does not cache the compiled
form of dialect INSERTs with ON CONFLICT (their `inherit_cache` is False), so
each would be compiled again on every POST, which cost more than the database
work itself (measured in bench/webhook.py). These few statements are therefore
plain SQL that reads the same on SQLite and PostgreSQL, and values go through
each column type's own bind processor, so rows are stored exactly as the ORM
stores them (UUIDs, timestamps and JSON alike) and read back the same way;
ids passed from one statement to the next stay in that stored form (see `stored`).
Every statement names product_id itself: no product is in scope here.
"""
from __future__ import annotations

import re
import uuid
from itertools import chain
from operator import itemgetter

from sqlalchemy import Column, Table, Uuid
from sqlalchemy.exc import DBAPIError

from ..models.base import uuid7_ints

# SQLite allows 32,766 parameters per statement, PostgreSQL 65,535.
MAX_PARAMETERS = 30_000
# SQL texts kept per statement and dialect (a worker meets every batch size from 1 to a full chunk).
KEPT_TEXTS = 64


class _Prepared:
    def __init__(self, statement: "FastStatement", dialect):
        def processors(columns, make):
            # Only the columns that need converting are touched; the rest pass as they are.
            found = [(index, make(column.type.dialect_impl(dialect))) for index, column in enumerate(columns)
                     if column.name not in statement.stored]
            return [(index, process) for index, process in found if process]

        self.binds = processors(statement.columns, lambda impl: impl.bind_processor(dialect))
        self.results = processors(statement.returning, lambda impl: impl.result_processor(dialect, None))
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        # psycopg parses every "%s" query to turn it into PostgreSQL's $n form and caches that
        # only for short queries; a 100-row INSERT was parsed again on each POST (a fifth of a
        # batch's time). Queries for psycopg are therefore written with $n once, here, and run
        # on a RawCursor, which sends them as they are.
        self.numbered = dialect.driver == "psycopg"
        self.sql: dict = {}

    def keep(self, key, sql: str) -> str:
        """Cache the SQL text of `key` in the driver's placeholder style; return it. The texts are
        keyed by row count and a full chunk's is large (bench/README.md): past KEPT_TEXTS, the oldest goes."""
        if self.numbered:
            numbers = iter(range(1, sql.count("%s") + 1))
            sql = re.sub("%s", lambda _: f"${next(numbers)}", sql)
        if len(self.sql) >= KEPT_TEXTS:
            del self.sql[next(iter(self.sql))]
        self.sql[key] = sql
        return sql


def execute(conn, sql: str, params, fetch: bool = False, many: bool = False, generic_plan: bool = True):
    """Run `sql` on the driver's cursor of the session's connection (inside its transaction).

    SQLAlchemy's result machinery costs more than these small statements; driver errors
    are still raised as SQLAlchemy's DBAPIError (OperationalError...), and a lost
    connection is invalidated, as SQLAlchemy itself does. `generic_plan=False` keeps psycopg
    from preparing the statement after a few runs: PostgreSQL then plans it once for any
    parameters, and for the lookups that generic plan scanned the product's whole table
    (bench/README.md, "Ingest").
    """
    dbapi = conn.dialect.loaded_dbapi
    fairy = conn.connection
    driver = fairy.driver_connection
    # psycopg: a RawCursor, for the $n queries written by _Prepared.keep.
    cursor = dbapi.RawCursor(driver) if conn.dialect.driver == "psycopg" else driver.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
        elif generic_plan or conn.dialect.driver != "psycopg":
            cursor.execute(sql, params)
        else:
            cursor.execute(sql, params, prepare=False)
        return cursor.fetchall() if fetch else None
    except dbapi.Error as error:
        invalidated = conn.dialect.is_disconnect(error, fairy.dbapi_connection, cursor)
        if invalidated:
            conn.invalidate(error)
        raise DBAPIError.instance(sql, params, error, dbapi.Error, connection_invalidated=invalidated,
                                  dialect=conn.dialect) from error
    finally:
        cursor.close()


def _convert_column(process, values) -> list:
    """`process` over one column of a batch. Values repeat a lot (the product, the batch's
    time, a second's timestamp), so each distinct one is converted once."""
    try:
        done = {value: process(value) for value in set(values) if value is not None}
    except TypeError:  # unhashable values (JSON documents): each its own
        return [None if value is None else process(value) for value in values]
    done[None] = None
    return list(map(done.__getitem__, values))


def id_order(stored_id):
    """Sort key of an id in its stored form: the UUID's integer (psycopg), or the 32 hex digits
    themselves (SQLite), which sort the same way. Faster than comparing UUID objects."""
    return getattr(stored_id, "int", stored_id)


def stored_form(dialect, column: Column, value):
    """`value` as the driver receives it for `column` (and returns it when read without conversion)."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process and value is not None else value


def new_ids(dialect, count: int) -> list:
    """`count` fresh UUIDv7 keys (as the ORM makes them, models/base.py) in their stored form, in
    ascending order (sorted as integers: comparing UUID objects is a Python call per comparison).
    Where Uuid binds as 32 hex digits (SQLite), they are written as such directly: building and
    hashing UUID objects cost more per message than inserting it."""
    values = sorted(uuid7_ints(count))
    probe = values[0] if values else 0
    if stored_form(dialect, _ID, uuid.UUID(int=probe)) != f"{probe:032x}":
        return [stored_form(dialect, _ID, uuid.UUID(int=value)) for value in values]
    return [f"{value:032x}" for value in values]


_ID = Column("id", Uuid)


class FastStatement:
    """Shared helpers: parameter conversion per column, result conversion per returned column.
    Columns named in `stored` are given, and returned, in the driver's form (ids that only go
    from one statement to another), so they are never converted."""

    def __init__(self, table: Table, columns: list[str], returning: list[str] = (), keys: list[str] | None = None,
                 stored: tuple[str, ...] = ()):
        self.table = table
        self.names = columns
        self.keys = keys or columns  # the row dict's key of each parameter (typed like its column)
        self._get = itemgetter(*self.keys) if len(self.keys) > 1 else (lambda row, key=self.keys[0] if self.keys else None: (row[key],))
        self.columns = [table.c[name] for name in columns]
        self.returning = [table.c[name] for name in returning]
        self.stored = set(stored)
        self._prepared: dict[str, _Prepared] = {}

    def prepared(self, dialect) -> _Prepared:
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            prepared = self._prepared[dialect.name] = _Prepared(self, dialect)
        return prepared

    def params(self, prepared: _Prepared, rows: list, get=None) -> list:
        """The parameters of `rows` (dicts, or tuples in column order with `get=tuple`), row after
        row, converted column by column."""
        get = get or self._get
        if not prepared.binds:
            return list(chain.from_iterable(map(get, rows)))
        columns = list(zip(*map(get, rows)))
        for index, bind in prepared.binds:
            columns[index] = _convert_column(bind, columns[index])
        return list(chain.from_iterable(zip(*columns)))

    def convert(self, prepared: _Prepared, rows) -> list[tuple]:
        if not prepared.results or not rows:
            return [tuple(row) for row in rows]
        columns = list(zip(*rows))
        for index, process in prepared.results:
            columns[index] = _convert_column(process, columns[index])
        return list(zip(*columns))


class FastInsert(FastStatement):
    """A multi-row INSERT ... ON CONFLICT <conflict> [RETURNING ...]."""

    def __init__(self, table: Table, columns: list[str], conflict: str, returning: list[str] = (), stored=()):
        super().__init__(table, columns, returning, stored=stored)
        self.conflict = conflict
        self.chunk = max(1, MAX_PARAMETERS // len(columns))

    def _sql(self, prepared: _Prepared, count: int) -> str:
        sql = prepared.sql.get(count)
        if sql is None:
            one = "(" + ", ".join([prepared.mark] * len(self.columns)) + ")"
            sql = (
                f"INSERT INTO {self.table.name} ({', '.join(self.names)}) VALUES {', '.join([one] * count)} "
                f"ON CONFLICT {self.conflict}"
            )
            if self.returning:
                sql += " RETURNING " + ", ".join(column.name for column in self.returning)
            sql = prepared.keep(count, sql)
        return sql

    def run(self, conn, rows: list[dict]) -> list[tuple]:
        """Insert `rows` (dicts with every column); with RETURNING, the rows the database returned."""
        prepared = self.prepared(conn.dialect)
        returned = []
        for start in range(0, len(rows), self.chunk):
            chunk = rows[start:start + self.chunk]
            params = self.params(prepared, chunk)
            rows_back = execute(conn, self._sql(prepared, len(chunk)), tuple(params), fetch=bool(self.returning))
            if self.returning:
                returned.extend(self.convert(prepared, rows_back))
        return returned


class FastLookup(FastStatement):
    """SELECT <returning> WHERE <first> IN (...) OR <second> IN (...): one query for a whole batch."""

    def __init__(self, table: Table, returning: list[str], first: str, second: str):
        super().__init__(table, [], returning)
        self.first, self.second = first, second

    def run(self, conn, first_values: list, second_values: list) -> list[tuple]:
        prepared = self.prepared(conn.dialect)
        key = (len(first_values), len(second_values))
        sql = prepared.sql.get(key)
        if sql is None:
            def among(column: str, count: int) -> str:
                return f"{column} IN ({', '.join([prepared.mark] * count)})" if count else "1 = 0"

            sql = prepared.keep(key,
                f"SELECT {', '.join(column.name for column in self.returning)} FROM {self.table.name} "
                f"WHERE {among(self.first, key[0])} OR {among(self.second, key[1])}"
            )
        return self.convert(prepared, execute(conn, sql, tuple(first_values) + tuple(second_values), fetch=True))


class FastBulkUpdate(FastStatement):
    """WITH v(<keys>) AS (VALUES ...) UPDATE <table> SET <assignments> FROM v
    WHERE <table>.id = v.id AND <table>.product_id = v.product_id: one statement for a whole
    batch (SQLite >= 3.33 and PostgreSQL read it the same way). Every row names its product,
    like every other statement of ingest, so an id never reaches another product's row.
    `parameters` gives each VALUES column's (name, column whose type converts it); "id" and
    "product_id" must be among them."""

    def __init__(self, table: Table, parameters: list[tuple[str, str]], assignments: str, stored=()):
        if not {"id", "product_id"} <= {name for name, _ in parameters}:
            raise ValueError("a bulk update names each row's id and product_id")
        super().__init__(table, [column for _, column in parameters], keys=[key for key, _ in parameters], stored=stored)
        self.assignments = assignments
        self.chunk = max(1, MAX_PARAMETERS // len(parameters))

    def run(self, conn, rows: list[dict]) -> None:
        prepared = self.prepared(conn.dialect)
        for start in range(0, len(rows), self.chunk):
            chunk = rows[start:start + self.chunk]
            sql = prepared.sql.get(len(chunk))
            if sql is None:
                one = "(" + ", ".join([prepared.mark] * len(self.keys)) + ")"
                sql = prepared.keep(len(chunk),
                    f"WITH v ({', '.join(self.keys)}) AS (VALUES {', '.join([one] * len(chunk))}) "
                    f"UPDATE {self.table.name} SET {self.assignments} FROM v "
                    f"WHERE {self.table.name}.id = v.id AND {self.table.name}.product_id = v.product_id"
                )
            execute(conn, sql, tuple(self.params(prepared, chunk)))


class FastFind(FastStatement):
    """For each key of one product's batch, the row with that unique key, if stored:

        WITH k (<keys>) AS (VALUES ...)
        SELECT k.<keys>, (SELECT <returned> FROM <table> t WHERE t.product_id = ? AND t.<key> = k.<key> ...) FROM k

    Each lookup is a correlated subquery with an equality on every column of the unique
    index, so both databases use that index fully whatever their statistics say (on
    fresh PostgreSQL tables, `IN (...)` lists were planned on the product_id index alone,
    scanning the product's whole table). One subquery per returned column: same index entry.
    Returns (key..., returned...) for the keys found."""

    def __init__(self, table: Table, keys: list[str], returning: list[str], stored=()):
        super().__init__(table, keys, returning, stored=stored)
        self.product = FastStatement(table, ["product_id"], stored=stored)
        self.chunk = max(1, (MAX_PARAMETERS - len(returning)) // len(keys))

    def run(self, conn, product_id, keys: list[tuple]) -> list[tuple]:
        prepared = self.prepared(conn.dialect)
        product = self.product.params(self.product.prepared(conn.dialect), [{"product_id": product_id}])
        width = len(self.names)
        found = []
        for start in range(0, len(keys), self.chunk):
            chunk = keys[start:start + self.chunk]
            sql = prepared.sql.get(len(chunk))
            if sql is None:
                one = "(" + ", ".join([prepared.mark] * width) + ")"
                match = " AND ".join(f"t.{name} = k.{name}" for name in self.names)
                lookups = ", ".join(f"(SELECT t.{column.name} FROM {self.table.name} t WHERE t.product_id = {prepared.mark} "
                                    f"AND {match})" for column in self.returning)
                sql = prepared.keep(len(chunk),
                    f"WITH k ({', '.join(self.names)}) AS (VALUES {', '.join([one] * len(chunk))}) "
                    f"SELECT {', '.join('k.' + name for name in self.names)}, {lookups} FROM k"
                )
            params = self.params(prepared, chunk, get=tuple) + product * len(self.returning)
            rows = execute(conn, sql, tuple(params), fetch=True, generic_plan=False)
            found += [row for row in rows if row[width] is not None]
        return self.convert_found(prepared, found, width)

    def convert_found(self, prepared: _Prepared, rows: list, width: int) -> list[tuple]:
        if not prepared.results or not rows:
            return [tuple(row) for row in rows]
        columns = list(zip(*rows))
        for index, process in prepared.results:
            columns[width + index] = _convert_column(process, columns[width + index])
        return list(zip(*columns))
