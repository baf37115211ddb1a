"""The webhook's hot statements, written once per dialect and run on the driver.

Why not SQLAlchemy constructs here: SQLAlchemy 2.0 does not cache the compiled
form of dialect INSERTs with ON CONFLICT (their `inherit_cache` is False), so
each would be compiled again on every POST, which cost more than the database
work itself (measured in bench/webhook.py). These few statements are therefore
plain SQL that reads the same on SQLite and PostgreSQL, and values go through
each column type's own bind processor, so rows are stored exactly as the ORM
stores them (UUIDs, timestamps and JSON alike) and read back the same way.
Every statement names product_id itself: no product is in scope here.
"""
from __future__ import annotations

import re
from operator import itemgetter

from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError

# SQLite allows 32,766 parameters per statement, PostgreSQL 65,535.
MAX_PARAMETERS = 30_000


class _Prepared:
    def __init__(self, statement: "FastStatement", dialect):
        binds = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in statement.columns]
        results = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in statement.returning]
        # Only the columns that need converting are touched per row; the rest pass as they are.
        self.binds = [(index, _memoized(proc)) for index, proc in enumerate(binds) if proc]
        self.results = [(index, _memoized(proc)) for index, proc in enumerate(results) if proc]
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        # psycopg parses every "%s" query to turn it into PostgreSQL's $n form and caches that
        # only for short queries; a 100-row INSERT was parsed again on each POST (a fifth of a
        # batch's time). Queries for psycopg are therefore written with $n once, here, and run
        # on a RawCursor, which sends them as they are.
        self.numbered = dialect.driver == "psycopg"
        self.sql: dict = {}

    def keep(self, key, sql: str) -> str:
        """Cache the SQL text of `key` in the driver's placeholder style; return it."""
        if self.numbered:
            numbers = iter(range(1, sql.count("%s") + 1))
            sql = re.sub("%s", lambda _: f"${next(numbers)}", sql)
        self.sql[key] = sql
        return sql


def execute(conn, sql: str, params, fetch: bool = False, many: bool = False):
    """Run `sql` on the driver's cursor of the session's connection (inside its transaction).

    SQLAlchemy's result machinery costs more than these small statements; driver errors
    are still raised as SQLAlchemy's DBAPIError (OperationalError...), and a lost
    connection is invalidated, as SQLAlchemy itself does.
    """
    dbapi = conn.dialect.loaded_dbapi
    fairy = conn.connection
    driver = fairy.driver_connection
    # psycopg: a RawCursor, for the $n queries written by _Prepared.keep.
    cursor = dbapi.RawCursor(driver) if conn.dialect.driver == "psycopg" else driver.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        return cursor.fetchall() if fetch else None
    except dbapi.Error as error:
        invalidated = conn.dialect.is_disconnect(error, fairy.dbapi_connection, cursor)
        if invalidated:
            conn.invalidate(error)
        raise DBAPIError.instance(sql, params, error, dbapi.Error, connection_invalidated=invalidated,
                                  dialect=conn.dialect) from error
    finally:
        cursor.close()


def _memoized(process):
    """Conversions of repeated values (a product id, the batch's timestamp) are done once."""
    cache = {}

    def convert(value):
        try:
            return cache[value]
        except KeyError:
            if len(cache) > 10_000:
                cache.clear()
            result = cache[value] = process(value)
            return result
        except TypeError:  # unhashable (a JSON document)
            return process(value)

    return convert


class FastStatement:
    """Shared helpers: parameter conversion per column, result conversion per returned column."""

    def __init__(self, table: Table, columns: list[str], returning: list[str] = (), keys: list[str] | None = None):
        self.table = table
        self.names = columns
        self.keys = keys or columns  # the row dict's key of each parameter (typed like its column)
        self._get = itemgetter(*self.keys) if len(self.keys) > 1 else (lambda row, key=self.keys[0] if self.keys else None: (row[key],))
        self.columns = [table.c[name] for name in columns]
        self.returning = [table.c[name] for name in returning]
        self._prepared: dict[str, _Prepared] = {}

    def prepared(self, dialect) -> _Prepared:
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            prepared = self._prepared[dialect.name] = _Prepared(self, dialect)
        return prepared

    def params(self, prepared: _Prepared, row: dict) -> list:
        values = list(self._get(row))
        for index, bind in prepared.binds:
            if values[index] is not None:
                values[index] = bind(values[index])
        return values

    def convert(self, prepared: _Prepared, rows) -> list[tuple]:
        if not prepared.results:
            return [tuple(row) for row in rows]
        converted = []
        for row in rows:
            values = list(row)
            for index, process in prepared.results:
                values[index] = process(values[index])
            converted.append(tuple(values))
        return converted


class FastInsert(FastStatement):
    """A multi-row INSERT ... ON CONFLICT <conflict> [RETURNING ...]."""

    def __init__(self, table: Table, columns: list[str], conflict: str, returning: list[str] = ()):
        super().__init__(table, columns, returning)
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
            params = []
            for row in chunk:
                params.extend(self.params(prepared, row))
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


class FastKnownSenders(FastStatement):
    """One query for a batch's numbers and senders: each number's product (the routing), and the
    contacts and conversations already stored for those senders in that product.

    One row per (number, known sender); a number with no known sender comes back once, with NULLs."""

    def __init__(self, accounts: Table, contacts: Table, conversations: Table):
        super().__init__(accounts, [])
        self.returning = [accounts.c.product_id, accounts.c.phone_number_id, contacts.c.id, contacts.c.wa_id,
                          contacts.c.profile_name, conversations.c.id]

    def run(self, conn, numbers: list, senders: list) -> list[tuple]:
        prepared = self.prepared(conn.dialect)
        key = (len(numbers), len(senders))
        sql = prepared.sql.get(key)
        if sql is None:
            def among(column: str, count: int) -> str:
                return f"{column} IN ({', '.join([prepared.mark] * count)})" if count else "1 = 0"

            sql = prepared.keep(key,
                "SELECT a.product_id, a.phone_number_id, c.id, c.wa_id, c.profile_name, v.id "
                "FROM whatsapp_accounts a "
                f"LEFT JOIN contacts c ON c.product_id = a.product_id AND {among('c.wa_id', key[1])} "
                "LEFT JOIN conversations v ON v.product_id = a.product_id "
                "AND v.phone_number_id = a.phone_number_id AND v.contact_id = c.id "
                f"WHERE {among('a.phone_number_id', key[0])}"
            )
        return self.convert(prepared, execute(conn, sql, tuple(senders) + tuple(numbers), fetch=True))


class FastBulkUpdate(FastStatement):
    """WITH v(<keys>) AS (VALUES ...) UPDATE <table> SET <assignments> FROM v WHERE <table>.id = v.id:
    one statement for a whole batch (SQLite >= 3.33 and PostgreSQL read it the same way).
    `parameters` gives each VALUES column's (name, column whose type converts it); "id" must be one."""

    def __init__(self, table: Table, parameters: list[tuple[str, str]], assignments: str):
        super().__init__(table, [column for _, column in parameters], keys=[key for key, _ in parameters])
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
                    f"UPDATE {self.table.name} SET {self.assignments} FROM v WHERE {self.table.name}.id = v.id"
                )
            params = []
            for row in chunk:
                params.extend(self.params(prepared, row))
            execute(conn, sql, tuple(params))


class FastSelect(FastStatement):
    """SELECT <returning> WHERE product_id = ? AND <column> IN (...), for one product's batch."""

    def __init__(self, table: Table, returning: list[str], column: str):
        super().__init__(table, ["product_id"] + [column], returning)
        self.column = column

    def run(self, conn, product_id, values: list) -> list[tuple]:
        prepared = self.prepared(conn.dialect)
        rows = []
        step = MAX_PARAMETERS - 1
        for start in range(0, len(values), step):
            chunk = values[start:start + step]
            sql = prepared.sql.get(len(chunk))
            if sql is None:
                sql = prepared.keep(len(chunk),
                    f"SELECT {', '.join(column.name for column in self.returning)} FROM {self.table.name} "
                    f"WHERE product_id = {prepared.mark} AND {self.column} IN ({', '.join([prepared.mark] * len(chunk))})"
                )
            bind = dict(prepared.binds)
            convert_product, convert_value = bind.get(0), bind.get(1)
            params = [convert_product(product_id) if convert_product else product_id]
            params += [convert_value(v) for v in chunk] if convert_value else chunk
            rows.extend(self.convert(prepared, execute(conn, sql, tuple(params), fetch=True)))
        return rows
