"""Database engine tuning per backend."""
from __future__ import annotations

import json

import orjson
from sqlalchemy import event

# What orjson would write differently from json, or not at all, goes to json instead (which then
# writes it, or refuses it, as it always did): dates, dataclasses and subclasses passed through
# to the fallback, integers beyond 64 bits and non-string keys refused by orjson.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def json_text(value) -> str:
    """How JSON columns are written (the engine's `json_serializer`): orjson where it can, json for the
    rest. Every stored message keeps Meta's object (`raw`), and json.dumps was a large share of
    ingest's time (bench/README.md, "The drain's CPU"). Both read back to the same value, but for NaN and
    infinities, which json writes as tokens PostgreSQL refuses and orjson writes as null."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
    except TypeError:
        return json.dumps(value)


def init_app(app):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            from .extensions import db

            event.listen(db.engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, connection_record):
    # WAL lets the feed read while the webhook writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 64 MiB of page cache per connection (the default is 2 MiB): the indexes of a busy
    # inbox outgrow 2 MiB early, and every insert at a random key then reads pages again.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()



def render_migration_item(type_, obj, autogen_context):
    """Migrations must not import app code: write EncryptedText as its storage type, Text."""
    from .crypto import EncryptedText

    if type_ == "type" and isinstance(obj, EncryptedText):
        return "sa.Text()"
    return False


def include_in_migrations(name, type_, parent_names) -> bool:
    """Autogenerate's filter: the job engine's queue tables (huey_*, migration 0004) belong to Huey's
    storage, not to the models, and are never dropped or diffed; nor is the message search index
    (FTS5 tables, a GIN expression index: the database's own, migration 0017)."""
    from .inbox.search import is_search_object  # here: the search module imports the models

    if name and is_search_object(name):
        return False
    return not (type_ == "table" and name and name.startswith("huey_"))

