"""The ingest's hand-written statements (portal/webhook/fastsql.py): new keys in ascending order
(lists order by them), and a bounded cache of SQL texts (one per batch size met)."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Contact
from portal.webhook import fastsql
from portal.webhook.fastsql import id_order, new_ids
from portal.webhook.ingest import FIND_CONTACTS
from tests.webhook.conftest import NUMBER_A  # noqa: F401


def test_new_ids_come_in_ascending_order(app):
    ids = new_ids(db.engine.dialect, 500)
    assert ids == sorted(ids, key=id_order)
    assert len(set(ids)) == 500
    as_uuids = [value if isinstance(value, uuid.UUID) else uuid.UUID(hex=value) for value in ids]
    assert as_uuids == sorted(as_uuids) and all(u.version == 7 for u in as_uuids)


def test_sql_texts_kept_per_statement_are_bounded_and_still_right(app, two_products, monkeypatch):
    cardio, _ = two_products
    monkeypatch.setattr(fastsql, "KEPT_TEXTS", 8)
    conn = db.session.connection()
    stored_product = fastsql.stored_form(conn.dialect, Contact.__table__.c.product_id, cardio.id)
    prepared = FIND_CONTACTS.prepared(conn.dialect)
    prepared.sql.clear()
    for count in range(1, 21):  # 20 batch sizes: more than the cache keeps
        assert FIND_CONTACTS.run(conn, stored_product, [(f"5917{n:07d}",) for n in range(count)]) == []
        assert len(prepared.sql) <= 8
    assert list(prepared.sql) == list(range(13, 21))  # the newest sizes stayed
    # A size met again after it left the cache is written again, and right.
    db.session.add(Contact(product_id=cardio.id, wa_id="59170000002", profile_name="Ana"))
    db.session.flush()
    [found] = FIND_CONTACTS.run(conn, stored_product, [("59170000001",), ("59170000002",), ("59170000003",)])
    assert found[0] == "59170000002" and found[2] == "Ana"
    assert db.session.execute(select(func.count()).select_from(Contact)).scalar_one() == 1
    prepared.sql.clear()
