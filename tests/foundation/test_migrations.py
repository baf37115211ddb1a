"""Migrations build the schema from empty on this backend, and agree with the models."""
import os
import re
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.database import include_in_migrations
from portal.extensions import db
from tests.conftest import _test_config


@pytest.fixture
def empty_database_url(tmp_path):
    base = os.environ.get("DATABASE_URL", "")
    if not re.match(r"postgres(ql)?(\+\w+)?://", base):
        yield "sqlite:///" + str(tmp_path / "migrate.db")
        return
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"maestra_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_from_empty_matches_models_and_keeps_data(empty_database_url):
    app = create_app(_test_config(empty_database_url))
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        with db.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={
                "compare_type": True, "include_name": include_in_migrations}), db.metadata)
        assert diffs == [], f"models and migrations disagree: {diffs}"

        # Upgrading an existing database again keeps what it holds.
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO products (id, name, created_at) VALUES (:id, 'Kept', CURRENT_TIMESTAMP)"),
                         {"id": uuid.uuid4().hex if conn.dialect.name == "sqlite" else str(uuid.uuid4())})
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM products")).scalars().all() == ["Kept"]
        db.engine.dispose()


def test_downgrade_to_empty_and_back(empty_database_url):
    app = create_app(_test_config(empty_database_url))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "messages" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_reaction_order_migration_keeps_stored_messages(empty_database_url):
    """0003 adds messages.reaction_at to a database that already holds messages: they stay as
    they were, with no reaction time yet (the next reaction to them sets it)."""
    app = create_app(_test_config(empty_database_url))
    with app.app_context():
        upgrade(revision="0002")
        with db.engine.begin() as conn:
            new_id = (lambda: uuid.uuid4().hex) if conn.dialect.name == "sqlite" else (lambda: str(uuid.uuid4()))
            product = new_id()
            conn.execute(text("INSERT INTO products (id, name, created_at) VALUES (:id, 'Kept', CURRENT_TIMESTAMP)"), {"id": product})
            conn.execute(text(
                "INSERT INTO messages (id, product_id, phone_number_id, wamid, direction, type, text, reaction_emoji, forwarded, created_at) "
                "VALUES (:id, :product, '106540352242922', 'wamid.kept', 'in', 'text', 'hello', :emoji, false, CURRENT_TIMESTAMP)"),
                {"id": new_id(), "product": product, "emoji": "\U0001F44D"})
        upgrade(revision="0003")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT wamid, text, reaction_emoji, reaction_at FROM messages")).all()
        assert [tuple(row) for row in rows] == [("wamid.kept", "hello", "\U0001F44D", None)]
        assert "ix_messages_reaction_target" in {ix["name"] for ix in inspect(db.engine).get_indexes("messages")}
        db.engine.dispose()


def test_session_version_migration_keeps_users(empty_database_url):
    """0019_session_version adds users.session_version to a database that already holds users: they
    stay, at version 0 (their old sessions, which carry no version, end once)."""
    app = create_app(_test_config(empty_database_url))
    with app.app_context():
        upgrade(revision="0003")
        with db.engine.begin() as conn:
            user_id = uuid.uuid4().hex if conn.dialect.name == "sqlite" else str(uuid.uuid4())
            conn.execute(text("INSERT INTO users (id, email, password_hash, created_at) "
                              "VALUES (:id, 'kept@example.com', 'x', CURRENT_TIMESTAMP)"), {"id": user_id})
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT email, session_version FROM users")).all()
        assert [tuple(row) for row in rows] == [("kept@example.com", 0)]


def test_media_migration_keeps_stored_messages_and_leaves_their_media_to_the_sweep(empty_database_url):
    """0015_media adds the kept-media columns to a database that already holds media messages:
    they stay, with no download state (so the media sweep fetches what Meta still keeps)."""
    app = create_app(_test_config(empty_database_url))
    with app.app_context():
        upgrade(revision="0004")
        with db.engine.begin() as conn:
            new_id = (lambda: uuid.uuid4().hex) if conn.dialect.name == "sqlite" else (lambda: str(uuid.uuid4()))
            product = new_id()
            conn.execute(text("INSERT INTO products (id, name, created_at) VALUES (:id, 'Kept', CURRENT_TIMESTAMP)"), {"id": product})
            conn.execute(text(
                "INSERT INTO messages (id, product_id, phone_number_id, wamid, direction, type, media_id, media_mime_type, "
                "forwarded, created_at) VALUES (:id, :product, '106540352242922', 'wamid.photo', 'in', 'image', '7100', "
                "'image/jpeg', false, CURRENT_TIMESTAMP)"), {"id": new_id(), "product": product})
        upgrade(revision="0015_media")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT wamid, media_id, media_state, media_attempts, media_voice FROM messages")).all()
        assert [tuple(row) for row in rows] == [("wamid.photo", "7100", None, 0, False)]
        assert "ix_messages_media_unfetched" in {ix["name"] for ix in inspect(db.engine).get_indexes("messages")}
        db.engine.dispose()


def test_message_kinds_migration_keeps_contacts_and_messages(empty_database_url):
    """0014_message_kinds makes a contact's phone number optional (a BSUID may stand in for it) and
    adds columns to messages and accounts: rows stored before keep their values, new columns start
    empty, and a contact with only a BSUID can then be stored."""
    app = create_app(_test_config(empty_database_url))
    with app.app_context():
        upgrade(revision="0003")
        with db.engine.begin() as conn:
            new_id = (lambda: uuid.uuid4().hex) if conn.dialect.name == "sqlite" else (lambda: str(uuid.uuid4()))
            product, contact = new_id(), new_id()
            conn.execute(text("INSERT INTO products (id, name, created_at) VALUES (:id, 'Kept', CURRENT_TIMESTAMP)"), {"id": product})
            conn.execute(text("INSERT INTO contacts (id, product_id, wa_id, profile_name, created_at, updated_at) "
                              "VALUES (:id, :product, '16315551181', 'Kerry', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                         {"id": contact, "product": product})
            conn.execute(text(
                "INSERT INTO messages (id, product_id, phone_number_id, wamid, direction, type, text, forwarded, created_at) "
                "VALUES (:id, :product, '106540352242922', 'wamid.kept', 'in', 'text', 'hello', false, CURRENT_TIMESTAMP)"),
                {"id": new_id(), "product": product})
        upgrade()
        with db.engine.begin() as conn:
            assert [tuple(r) for r in conn.execute(text("SELECT wa_id, user_id, profile_name FROM contacts"))] == [
                ("16315551181", None, "Kerry")]
            assert [tuple(r) for r in conn.execute(text("SELECT wamid, text, origin, edited_at, revoked_at FROM messages"))] == [
                ("wamid.kept", "hello", None, None, None)]
            conn.execute(text("INSERT INTO contacts (id, product_id, user_id, created_at, updated_at) "
                              "VALUES (:id, :product, 'US.13491208655302741918', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                         {"id": new_id(), "product": product})
        indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("messages")}
        assert "ix_messages_target" in indexes and "ix_messages_reaction_target" not in indexes
        db.engine.dispose()


def test_shared_inbox_migration_keeps_conversations_and_indexes_stored_messages(empty_database_url):
    """0017 on a database that already holds a conversation and its messages: the conversation
    becomes open and unassigned, and the messages stored before it are found by search."""
    from portal.inbox import search as inbox_search
    from portal.tenancy import enter_product, leave_product
    from portal.models import Conversation

    app = create_app(_test_config(empty_database_url))
    with app.app_context():
        upgrade(revision="0004")
        with db.engine.begin() as conn:
            sqlite = conn.dialect.name == "sqlite"
            ids = [uuid.uuid4() for _ in range(4)]
            product, contact, conversation, message = [(i.hex if sqlite else str(i)) for i in ids]
            conn.execute(text("INSERT INTO products (id, name, created_at) VALUES (:id, 'Kept', CURRENT_TIMESTAMP)"), {"id": product})
            conn.execute(text("INSERT INTO contacts (id, product_id, wa_id, profile_name, created_at, updated_at) "
                              "VALUES (:id, :p, '59170000001', 'Ana', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                         {"id": contact, "p": product})
            conn.execute(text("INSERT INTO conversations (id, product_id, phone_number_id, contact_id, unread_count, created_at) "
                              "VALUES (:id, :p, '106540352242922', :c, 0, CURRENT_TIMESTAMP)"),
                         {"id": conversation, "p": product, "c": contact})
            conn.execute(text(
                "INSERT INTO messages (id, product_id, conversation_id, phone_number_id, wamid, direction, type, text, forwarded, created_at) "
                "VALUES (:id, :p, :c, '106540352242922', 'wamid.kept', 'in', 'text', 'my prescription renewal', false, CURRENT_TIMESTAMP)"),
                {"id": message, "p": product, "c": conversation})
        upgrade()
        enter_product(ids[0])
        try:
            found = db.session.execute(
                db.select(Conversation).where(inbox_search.conversation_filter("prescrip", db.engine.dialect.name))
            ).scalars().all()
            assert [(c.id, c.status, c.assignee_user_id) for c in found] == [(ids[2], "open", None)]
        finally:
            leave_product()
            db.session.remove()
        downgrade(revision="0004")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT text FROM messages")).scalars().all() == ["my prescription renewal"]
        db.engine.dispose()


def test_webhook_error_value_migration_keeps_stored_errors(empty_database_url):
    """0022_webhook_error_value on a database whose number already shows a webhook error: its text
    stays (shown as it is, having no errors kept), the new column starts empty, and going back keeps it."""
    app = create_app(_test_config(empty_database_url))
    with app.app_context():
        upgrade(revision="0021")
        with db.engine.begin() as conn:
            sqlite = conn.dialect.name == "sqlite"
            product, account = [(i.hex if sqlite else str(i)) for i in (uuid.uuid4(), uuid.uuid4())]
            conn.execute(text("INSERT INTO products (id, name, created_at) VALUES (:id, 'Kept', CURRENT_TIMESTAMP)"), {"id": product})
            conn.execute(text(
                "INSERT INTO whatsapp_accounts (id, product_id, phone_number_id, business_account_id, access_token, status, "
                "webhook_error, webhook_error_at, created_at, updated_at) VALUES (:id, :p, '106540352242922', '102290129340398', "
                "'x', 'connected', 'Something went wrong (code 131000)', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"id": account, "p": product})
        upgrade()
        with db.engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(text("SELECT webhook_error, webhook_error_value FROM whatsapp_accounts"))] == [
                ("Something went wrong (code 131000)", None)]
        downgrade(revision="0021")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT webhook_error FROM whatsapp_accounts")).scalars().all() == [
                "Something went wrong (code 131000)"]
        db.engine.dispose()


def test_last_message_backfill_names_each_conversations_latest_message(empty_database_url):
    """0024 on conversations stored before 0023: each names its latest message (by Meta's time,
    the later-stored at equal times; a reaction is not one), one without messages stays without."""
    app = create_app(_test_config(empty_database_url))
    with app.app_context():
        upgrade(revision="0023_conversation_last_message")
        with db.engine.begin() as conn:
            sqlite = conn.dialect.name == "sqlite"
            # uuid7-like ids: the later-stored message has the larger id, as ingest gives them.
            ids = [uuid.UUID(int=(0x01A2 << 112) + n) for n in range(1, 10)]
            product, contact, chat, empty, older, stored_first, stored_later, reaction, other_contact = [
                (i.hex if sqlite else str(i)) for i in ids]
            conn.execute(text("INSERT INTO products (id, name, created_at) VALUES (:id, 'Kept', CURRENT_TIMESTAMP)"), {"id": product})
            for contact_id, wa_id in ((contact, "59170000001"), (other_contact, "59170000002")):
                conn.execute(text("INSERT INTO contacts (id, product_id, wa_id, profile_name, created_at, updated_at) "
                                  "VALUES (:id, :p, :wa, 'Ana', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                             {"id": contact_id, "p": product, "wa": wa_id})
            for conversation, contact_id, at in ((chat, contact, "2026-11-01 10:00:05"), (empty, other_contact, None)):
                conn.execute(text(
                    "INSERT INTO conversations (id, product_id, phone_number_id, contact_id, unread_count, status, "
                    "last_message_at, last_message_preview, created_at) "
                    "VALUES (:id, :p, '106540352242922', :c, 0, 'open', :at, :preview, CURRENT_TIMESTAMP)"),
                    {"id": conversation, "p": product, "c": contact_id, "at": at, "preview": "second" if at else None})
            for message, kind, sent_at in ((older, "text", "2026-11-01 10:00:00"), (stored_later, "text", "2026-11-01 10:00:05"),
                                           (stored_first, "text", "2026-11-01 10:00:05"), (reaction, "reaction", "2026-11-01 10:00:09")):
                conn.execute(text(
                    "INSERT INTO messages (id, product_id, conversation_id, phone_number_id, wamid, direction, type, text, "
                    "forwarded, sent_at, created_at) VALUES (:id, :p, :c, '106540352242922', :wamid, 'in', :kind, 'x', false, "
                    ":at, CURRENT_TIMESTAMP)"),
                    {"id": message, "p": product, "c": chat, "wamid": f"wamid.{message}", "kind": kind, "at": sent_at})
        upgrade()
        with db.engine.connect() as conn:
            named = dict(conn.execute(text("SELECT id, last_message_id FROM conversations")).all())
        as_uuid = lambda value: None if value is None else uuid.UUID(str(value))  # noqa: E731
        assert {as_uuid(k): as_uuid(v) for k, v in named.items()} == {ids[2]: ids[6], ids[3]: None}
        db.engine.dispose()
