"""Search over message text (a full-text index per database) and contact name or phone.

The index lives in the database and follows the messages table by itself, so every
way a message is stored (the webhook's bulk inserts, replies, the API) is searchable:

- SQLite: an FTS5 table `messages_fts` filled and emptied by triggers on `messages`.
- PostgreSQL: a GIN index on to_tsvector('simple', text), an expression index the
  database keeps in step with each row.

Both are created by migration 0017 and, for databases made with create_all (tests),
by the DDL events below. Words are matched by prefix ("canc" finds "cancel").
"""
from __future__ import annotations

import re

from sqlalchemy import DDL, bindparam, column, event, or_, select, text

from ..models import Contact, Conversation, Message
from ..tenancy import current_product_id

MAX_TERMS = 8
MAX_MATCHES = 5000
_WORD = re.compile(r"\w+", re.UNICODE)

PG_INDEX = "ix_messages_text_search"
PG_DDL = (
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON messages "
    "USING gin (to_tsvector('simple', coalesce(text, '')))",
)
PG_DROP = (f"DROP INDEX IF EXISTS {PG_INDEX}",)

# A table of its own (not external content): it survives a table rebuild of `messages`
# without rowid bookkeeping. The product id is an indexed column: a query names it as a
# term, so FTS5 intersects the product's few entries with a word's many, instead of reading
# every product's matches and filtering them afterwards.
SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5("
    "text, product_id, message_id UNINDEXED, conversation_id UNINDEXED, tokenize='unicode61')",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN "
    "INSERT INTO messages_fts (text, message_id, conversation_id, product_id) "
    "VALUES (new.text, new.id, new.conversation_id, new.product_id); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF text, conversation_id ON messages BEGIN "
    "DELETE FROM messages_fts WHERE message_id = old.id; "
    "INSERT INTO messages_fts (text, message_id, conversation_id, product_id) "
    "SELECT new.text, new.id, new.conversation_id, new.product_id WHERE new.text IS NOT NULL; END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN "
    "DELETE FROM messages_fts WHERE message_id = old.id; END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS messages_fts_insert", "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_delete", "DROP TABLE IF EXISTS messages_fts",
)
# Messages stored before the index existed (run once by the migration).
SQLITE_BACKFILL = ("INSERT INTO messages_fts (text, message_id, conversation_id, product_id) "
                   "SELECT text, id, conversation_id, product_id FROM messages WHERE text IS NOT NULL")


def is_search_object(name: str) -> bool:
    """The index's own tables and indexes (not in the models; schema comparisons skip them)."""
    return name.startswith("messages_fts") or name == PG_INDEX


for _statement in SQLITE_DDL:
    event.listen(Message.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in PG_DDL:
    event.listen(Message.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
for _statement in SQLITE_DROP:
    event.listen(Message.__table__, "before_drop", DDL(_statement).execute_if(dialect="sqlite"))


def terms(query: str) -> list[str]:
    """The words of a query (letters and digits only: nothing reaches the query syntax)."""
    return _WORD.findall(query or "")[:MAX_TERMS]


def matching_conversation_ids(query: str, dialect: str):
    """A statement selecting ids of the product's conversations whose messages match every word,
    among the product's latest MAX_MATCHES matching messages (a word found in every message
    costs a bounded amount; the list shows the most recent conversations anyway)."""
    words = terms(query)
    if not words:
        return None
    product_id = current_product_id()
    if dialect == "postgresql":
        tsquery = " & ".join(f"{w}:*" for w in words)
        return (
            select(Message.conversation_id)
            .where(text("to_tsvector('simple', coalesce(messages.text, '')) @@ to_tsquery('simple', :tsq)")
                   .bindparams(tsq=tsquery))
            .order_by(Message.created_at.desc()).limit(MAX_MATCHES)
        )  # the product filter is added by the tenancy hook (an ORM select on Message)
    # Ids are stored as 32 hex digits on SQLite (SQLAlchemy's Uuid), and the triggers copy them as stored.
    fts_query = f'product_id : "{product_id.hex}" AND ' + " AND ".join('text : "' + w.replace('"', '""') + '"*'
                                                                       for w in words)
    return text(
        "SELECT conversation_id FROM messages_fts WHERE messages_fts MATCH :q AND product_id = :p "
        "ORDER BY rowid DESC LIMIT :n"  # rowid: the order rows were stored in
    ).bindparams(bindparam("q", fts_query), bindparam("p", product_id.hex),
                 bindparam("n", MAX_MATCHES)).columns(column("conversation_id"))


def conversation_filter(query: str, dialect: str):
    """A WHERE clause on Conversation: a message matches, or the contact's name, username or number does."""
    words = terms(query)
    if not words:
        return None
    contact_ids = select(Contact.id)
    for word in words:
        contact_ids = contact_ids.where(or_(Contact.profile_name.icontains(word, autoescape=True),
                                            Contact.username.icontains(word, autoescape=True),
                                            Contact.wa_id.contains(word, autoescape=True)))
    by_message = matching_conversation_ids(query, dialect)
    return or_(Conversation.contact_id.in_(contact_ids), Conversation.id.in_(by_message))
