"""Journal mode (production's default): 200 once the signed body is journaled, the worker stores it.

Most webhook tests run in inline mode (stored before the answer); these check what journal
mode adds: the journal (PostgreSQL: the table; SQLite: a file beside the database), the drain,
its failures, and concurrent drains.
"""
from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from hypothesis import given, settings
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.models import Conversation, Message, RejectedWebhook, WebhookDelivery
from portal.webhook import journal
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, NUMBER_B, WABA_A, WABA_B
from tests.webhook.test_fuzz import FUZZ, envelope


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WEBHOOK_PROCESSING": "journal"}


def on_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def journaled() -> int:
    """Deliveries journaled and not stored yet."""
    db.session.expire_all()
    return journal.backlog()


def count(model, **filters) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model).filter_by(**filters)).scalar_one()


def batch(prefix: str, n: int = 3) -> dict:
    return p.envelope(
        p.entry(WABA_A, p.messages_change(NUMBER_A, [p.text_message(f"wamid.{prefix}.a{i}", f"a{i}") for i in range(n)])),
        p.entry(WABA_B, p.messages_change(NUMBER_B, [p.text_message(f"wamid.{prefix}.b{i}", f"b{i}", sender="59170000001") for i in range(n)])),
    )


def test_the_answer_comes_once_journaled_and_the_drain_stores_per_product(client, two_products):
    cardio, flex = two_products
    answer = p.post_signed(client, batch("j"))
    assert answer.status_code == 200 and answer.json == {"received": True}
    assert answer.headers["X-Content-Type-Options"] == "nosniff" and answer.headers["X-Request-ID"]
    assert journaled() == 1 and count(Message) == 0

    result = journal.drain()
    assert (result.deliveries, result.messages) == (1, 6)
    assert journaled() == 0
    assert count(Message, product_id=cardio.id) == 3 and count(Message, product_id=flex.id) == 3
    assert db.session.execute(select(func.sum(Conversation.unread_count))).scalar_one() == 6


def test_a_delivery_journaled_twice_is_stored_once(client, two_products):
    body = batch("twice")
    assert p.post_signed(client, body).status_code == p.post_signed(client, body).status_code == 200
    assert journaled() == 2
    result = journal.drain()
    assert (result.deliveries, result.messages) == (2, 6)  # the retry adds nothing
    assert count(Message) == 6


@pytest.mark.parametrize("case, status", [
    ("missing", 401), ("wrong", 403), ("one byte changed", 403), ("not json", 400), ("too big", 413),
])
def test_anything_but_a_good_delivery_is_answered_by_the_view_and_never_journaled(client, app, two_products, case, status):
    raw = p.encode(batch("bad"))
    headers = p.signed_headers(raw)
    if case == "missing":
        headers.pop("X-Hub-Signature-256")
    elif case == "wrong":
        headers = p.signed_headers(raw, secret="not-the-app-secret")
    elif case == "one byte changed":
        raw = raw.replace(b"a0", b"a9", 1)
    elif case == "not json":
        raw = b"{not json"
        headers = p.signed_headers(raw)
    elif case == "too big":
        raw = b" " * (app.config["WEBHOOK_MAX_BYTES"] + 1)
        headers = p.signed_headers(raw)
    answer = client.post("/webhook", data=raw, headers=headers)
    assert answer.status_code == status
    assert answer.json["error"]["code"] == status
    assert journaled() == 0 and count(Message) == 0
    assert count(RejectedWebhook) == (1 if case == "not json" else 0)  # kept for inspection


def test_database_down_answers_503_and_the_retry_is_stored_once(client, app, two_products, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(journal, "append", down)
    body = batch("down")
    failed = p.post_signed(client, body)
    assert failed.status_code == 503 and failed.json["error"]["code"] == 503
    assert journaled() == 0
    monkeypatch.undo()
    assert p.post_signed(client, body).status_code == 200
    journal.drain()
    assert count(Message) == 6


def test_a_failed_drain_leaves_the_deliveries_journaled_for_the_next(client, two_products, monkeypatch):
    from portal.webhook import ingest

    p.post_signed(client, batch("retry"))

    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(ingest, "_routes", unreachable)
    with pytest.raises(OperationalError):
        journal.drain()
    assert journaled() == 1 and count(Message) == 0  # rolled back: nothing half-stored, nothing lost
    monkeypatch.undo()
    assert journal.drain().messages == 6
    assert journaled() == 0 and count(Message) == 6


def test_a_delivery_that_breaks_ingest_is_set_aside_and_the_others_are_stored(client, two_products, monkeypatch, caplog):
    real_store = journal.store_changes

    def store(changes):
        if any("wamid.poison" in json.dumps(change.raw) for change in changes):
            raise KeyError("a bug")
        return real_store(changes)

    monkeypatch.setattr(journal, "store_changes", store)
    p.post_signed(client, batch("good1"))
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.poison")])))
    p.post_signed(client, batch("good2"))
    result = journal.drain()
    assert (result.deliveries, result.messages, result.rejected) == (3, 12, 1)
    assert journaled() == 0 and count(Message) == 12
    kept = db.session.execute(select(RejectedWebhook)).scalar_one()
    assert b"wamid.poison" in kept.body  # set aside, not lost
    assert "set aside" in caplog.text


def test_where_the_journal_is(app, client, two_products):
    """PostgreSQL: the database's own table (nothing acknowledged lives on a web host); SQLite:
    a file of its own beside the database, so answering never waits for a drain's write lock."""
    assert p.post_signed(client, batch("where")).status_code == 200
    in_table = count(WebhookDelivery)
    if on_sqlite():
        database = app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):]
        with sqlite3.connect(database + ".webhooks") as beside:
            assert beside.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0] == 1
        assert in_table == 0
    else:
        assert app.extensions["webhook_journal_file"] is None
        assert in_table == 1


def test_concurrent_drains_store_every_delivery_exactly_once(app, client, two_products, monkeypatch):
    """Drains of several workers at once (threads, each its own connection): each delivery is
    stored once, whichever drain takes it (PostgreSQL: SKIP LOCKED; SQLite: the write lock)."""
    monkeypatch.setattr(journal, "DELIVERIES_PER_DRAIN", 2)  # small drains, so they interleave
    bodies = [batch(f"c{k}", n=4) for k in range(12)]
    for body in bodies + bodies[:4]:  # a few of Meta's retries too
        assert p.post_signed(client, body).status_code == 200
    drainers, errors, results = 4, [], []
    barrier = threading.Barrier(drainers)

    def run():
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                results.append(journal.drain())
                db.session.remove()
        except Exception as error:  # reported below, not swallowed
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(drainers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert sum(r.messages for r in results) == count(Message) == 12 * 8
    assert journaled() == 0


def test_on_sqlite_a_drains_write_lock_does_not_hold_up_the_answer(app, client, two_products):
    """A drain holding the database's single write lock: Meta is still answered at once."""
    if not on_sqlite():
        pytest.skip("SQLite's single write lock (PostgreSQL appends never wait for a drain)")
    holder = sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # what a drain's first write does
    try:
        assert p.post_signed(client, batch("locked")).status_code == 200
        assert journaled() == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert journal.drain().messages == 6 and journaled() == 0


def test_a_drain_that_dies_after_its_commit_stores_nothing_twice(app, client, two_products, monkeypatch):
    """SQLite: a drain commits, then deletes from the file; dying in between leaves the batch to
    the next drain, whose store is a no-op. PostgreSQL: the delete is in the same transaction."""
    assert p.post_signed(client, batch("died")).status_code == 200
    if on_sqlite():
        file = journal.journal_file()
        monkeypatch.setattr(file, "delete", lambda ids: (_ for _ in ()).throw(SystemExit("killed")))
        with pytest.raises(SystemExit):
            journal.drain_once()
        monkeypatch.undo()
        assert journaled() == 1 and count(Message) == 6
        assert journal.drain().messages == 0  # stored again: a no-op
    else:
        assert journal.drain().messages == 6  # deleted in the transaction that stored it
        assert journal.drain().deliveries == 0
    assert count(Message) == 6 and journaled() == 0


def test_the_worker_loop_stores_deliveries_as_they_come_and_stops_when_told(app, client, two_products):
    stop = threading.Event()
    db.session.remove()
    worker = threading.Thread(target=journal.drain_forever, args=(app, stop))
    worker.start()
    try:
        assert p.post_signed(client, batch("loop")).status_code == 200
        for _ in range(400):
            if count(Message) == 6:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert count(Message) == 6 and journaled() == 0


def test_a_drain_takes_at_most_its_batch_and_byte_budget_and_always_one(client, two_products, monkeypatch):
    for k in range(5):
        p.post_signed(client, batch(f"budget{k}"))
    monkeypatch.setattr(journal, "DELIVERIES_PER_DRAIN", 2)
    assert journal.drain_once().deliveries == 2
    monkeypatch.setattr(journal, "MAX_BYTES_PER_DRAIN", 10)  # smaller than any body: still one
    assert journal.drain_once().deliveries == 1
    assert journaled() == 2


def test_flask_webhooks_drain(client, runner, two_products):
    p.post_signed(client, batch("cli"))
    result = runner.invoke(args=["webhooks", "drain"])
    assert result.exit_code == 0, result.output
    assert "stored 6 new message(s)" in result.output and "0 still journaled" in result.output
    assert count(Message) == 6


@settings(FUZZ, max_examples=150)
@given(body=envelope)
def test_whatever_is_journaled_is_drained_without_error(client, two_products, body):
    raw = json.dumps(body).encode()
    answer = client.post("/webhook", data=raw, headers=p.signed_headers(raw))
    assert answer.status_code in (200, 400)
    result = journal.drain()
    assert result.rejected == 0  # odd shapes are stored as events or kept unrouted, never set aside
    assert journaled() == 0


def test_readyz_shows_the_deliveries_waiting_in_the_journal(client, two_products):
    p.post_signed(client, batch("ready"))
    assert client.get("/readyz").get_json()["webhook_backlog"] == 1
    journal.drain()
    assert client.get("/readyz").get_json()["webhook_backlog"] == 0
