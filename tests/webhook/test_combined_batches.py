"""store_changes on the changes of many bodies at once, as a journal drainer calls it."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from portal.extensions import db
from portal.meta import payloads
from portal.models import Contact, Conversation, Message
from portal.webhook.ingest import store_changes
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, NUMBER_B


def bodies(prefix: str, count: int, per_body: int) -> list:
    """The changes of `count` bodies, alternating the two products' numbers, 7 senders in all."""
    changes = []
    for body in range(count):
        number = (NUMBER_A, NUMBER_B)[body % 2]
        messages = [p.text_message(f"wamid.{prefix}.{body}.{k}", f"m{k}", sender=f"591700000{(body + k) % 7}")
                    for k in range(per_body)]
        changes += payloads.iter_changes(p.envelope(p.messages_change(number, messages)))
    return changes


def total(column) -> int:
    return db.session.execute(select(func.coalesce(func.sum(column), 0))).scalar_one()


def test_a_batch_longer_than_one_statement_is_stored_once(app, two_products):
    """1,500 messages need two INSERT statements; stored again, all are duplicates and nothing moves."""
    store_changes(bodies("warm", 2, 3))  # some senders known before the big batch
    db.session.commit()
    changes = bodies("big", 15, 100)
    outcome = store_changes(changes)
    db.session.commit()
    assert (outcome.messages, outcome.duplicates) == (1500, 0)
    assert db.session.execute(select(func.count()).select_from(Message)).scalar_one() == 1506
    assert db.session.execute(select(func.count()).select_from(Contact)).scalar_one() == 14  # 7 per product
    assert db.session.execute(select(func.count()).select_from(Conversation)).scalar_one() == 14
    assert total(Conversation.unread_count) == 1506
    again = store_changes(changes)
    db.session.commit()
    assert (again.messages, again.duplicates) == (0, 1500)
    assert total(Conversation.unread_count) == 1506


def test_rows_read_back_through_the_orm_as_it_writes_them(app, two_products):
    """Keys made on the fast path are UUIDv7 values (as the ORM makes them) that it reads back, and link up."""
    store_changes(bodies("ids", 4, 5))
    db.session.commit()
    for model in (Message, Contact, Conversation):
        for row in db.session.execute(select(model)).scalars():
            assert isinstance(row.id, uuid.UUID) and row.id.version == 7 and row.id.variant == uuid.RFC_4122
    for message in db.session.execute(select(Message)).scalars():
        conversation = db.session.get(Conversation, message.conversation_id)
        assert conversation.product_id == message.product_id
        assert conversation.phone_number_id == message.phone_number_id
        assert conversation.contact.wa_id == message.contact_wa_id
        assert message.raw["id"] == message.wamid and message.sent_at is not None


def test_the_bulk_updates_never_reach_another_products_row(app, two_products):
    """RENAME_CONTACTS and BUMP_CONVERSATIONS name each row's product as well as its id: an id
    paired with the wrong product (a bug upstream) changes nothing."""
    from portal.webhook.fastsql import stored_form
    from portal.webhook.ingest import BUMP_CONVERSATIONS, RENAME_CONTACTS

    cardio, flex = two_products
    store_changes(bodies("scope", 2, 1))
    db.session.commit()
    contact = db.session.execute(select(Contact).filter_by(product_id=cardio.id)).scalars().first()
    conversation = db.session.execute(select(Conversation).filter_by(product_id=cardio.id)).scalars().first()
    name, unread = contact.profile_name, conversation.unread_count
    dialect = db.engine.dialect
    as_stored = lambda column, value: stored_form(dialect, column, value)  # noqa: E731
    for product, changed in ((flex, False), (cardio, True)):
        conn = db.session.connection()
        RENAME_CONTACTS.run(conn, [{"id": as_stored(Contact.__table__.c.id, contact.id),
                                    "product_id": as_stored(Contact.__table__.c.product_id, product.id),
                                    "profile_name": "Renamed", "updated_at": contact.updated_at}])
        BUMP_CONVERSATIONS.run(conn, [{"id": as_stored(Conversation.__table__.c.id, conversation.id),
                                       "product_id": as_stored(Conversation.__table__.c.product_id, product.id),
                                       "n": 5, "at": conversation.last_message_at, "preview": "bumped",
                                       "message": as_stored(Conversation.__table__.c.last_message_id,
                                                            conversation.last_message_id)}])
        db.session.commit()
        db.session.expire_all()
        assert (contact.profile_name == "Renamed") is changed and contact.profile_name in (name, "Renamed")
        assert conversation.unread_count == (unread + 5 if changed else unread)
