"""Journal mode (production's default): 200 once the signed body is journaled, the drainer stores it.

Most webhook tests run in inline mode (stored before the answer); these check what journal
mode adds: the fast lane, the drain, its failures, concurrent drainers and the thread.
"""
from __future__ import annotations

import json
import threading
import time

import pytest
from hypothesis import given, settings
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.models import Conversation, Message, RejectedWebhook
from portal.webhook import journal
from portal.webhook.drainer import Drainer
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, NUMBER_B, WABA_A, WABA_B
from tests.webhook.test_fuzz import FUZZ, envelope


@pytest.fixture(params=["file", "database"])
def app_config(request, app_config, tmp_path):
    """Journal mode, the lane journaling into a file on the host or into the database's table
    (each test runs with both, on both databases; a test that is about one names it)."""
    config = {**app_config, "WEBHOOK_PROCESSING": "journal", "WEBHOOK_JOURNAL": request.param}
    if request.param == "file":
        config["WEBHOOK_JOURNAL_PATH"] = str(tmp_path / "webhooks.journal")
    elif request.param == "unusable-file":  # (only where a test asks for it)
        (tmp_path / "a-file").write_text("not a folder")
        config.update(WEBHOOK_JOURNAL="file", WEBHOOK_JOURNAL_PATH=str(tmp_path / "a-file" / "webhooks.journal"))
    return config


file_journal = pytest.mark.parametrize("app_config", ["file"], indirect=True)


@pytest.fixture
def no_thread(monkeypatch):
    """These tests drain by hand: neither the sweeper nor the drain after a response may race them."""
    monkeypatch.setattr(Drainer, "start", lambda self: None)
    monkeypatch.setattr(Drainer, "after_response", lambda self: None)


def journaled() -> int:
    """Deliveries journaled and not stored yet (the table's, and the journal file's)."""
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


def test_the_answer_comes_once_journaled_and_the_drain_stores_per_product(client, two_products, no_thread):
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


def test_a_delivery_journaled_twice_is_stored_once(client, two_products, no_thread):
    body = batch("twice")
    assert p.post_signed(client, body).status_code == p.post_signed(client, body).status_code == 200
    assert journaled() == 2
    result = journal.drain()
    assert (result.deliveries, result.messages) == (2, 6)  # the retry adds nothing
    assert count(Message) == 6


@pytest.mark.parametrize("case, status", [
    ("missing", 401), ("wrong", 403), ("one byte changed", 403), ("not json", 400), ("too big", 413),
])
def test_anything_but_a_good_delivery_is_answered_by_the_view_and_never_journaled(client, app, two_products, no_thread, case, status):
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


def test_when_the_lane_cannot_journal_the_view_tries_again(client, app, two_products, no_thread, monkeypatch):
    lane = app.extensions["webhook_lane"]

    def broken(body):
        raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(lane, "_append", broken)
    assert p.post_signed(client, batch("lane")).status_code == 200
    assert journaled() == 1  # journaled by the view, through the pool


def test_database_down_answers_503_and_the_retry_is_stored_once(client, app, two_products, no_thread, monkeypatch):
    lane = app.extensions["webhook_lane"]

    def down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(lane, "_append", down)
    monkeypatch.setattr(journal, "append", down)
    body = batch("down")
    failed = p.post_signed(client, body)
    assert failed.status_code == 503 and failed.json["error"]["code"] == 503
    assert journaled() == 0
    monkeypatch.undo()
    assert p.post_signed(client, body).status_code == 200
    journal.drain()
    assert count(Message) == 6


def test_a_failed_drain_leaves_the_deliveries_journaled_for_the_next(client, two_products, no_thread, monkeypatch):
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


def test_a_delivery_that_breaks_ingest_is_set_aside_and_the_others_are_stored(client, two_products, no_thread, monkeypatch, caplog):
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


def test_concurrent_drainers_store_every_delivery_exactly_once(app, client, two_products, no_thread):
    """Drainers of several workers at once (threads, each its own connection, on the file
    database or PostgreSQL): each delivery is taken by one of them, each message stored once."""
    bodies = [batch(f"c{k}", n=4) for k in range(12)]
    for body in bodies + bodies[:4]:  # a few of Meta's retries too
        assert p.post_signed(client, body).status_code == 200
    journal._Pace.items_per_delivery = 8.0 * 30  # small drains, so the drainers interleave
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
    journal._Pace.items_per_delivery = 1.0
    assert not errors
    assert sum(r.deliveries for r in results) == 16
    assert sum(r.messages for r in results) == count(Message) == 12 * 8
    assert journaled() == 0


def test_the_drain_after_the_answer_stores_the_delivery(client, two_products, monkeypatch):
    monkeypatch.setattr(Drainer, "start", lambda self: None)  # only the drain after the response
    answer = p.post_signed(client, batch("after"))
    assert answer.status_code == 200 and journaled() == 1
    answer.close()  # a server closes the answer once it is sent; the drain follows
    assert count(Message) == 6 and journaled() == 0


def test_the_sweeper_stores_what_is_left_when_traffic_stops(client, app, two_products, monkeypatch):
    monkeypatch.setattr(Drainer, "after_response", lambda self: None)  # only the sweeper thread
    assert p.post_signed(client, batch("sweep")).status_code == 200
    deadline = time.monotonic() + 20
    while count(Message) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count(Message) == 6 and journaled() == 0


def test_the_sweeper_stores_what_another_process_left(app, two_products):
    journal.append(p.encode(batch("left")))  # journaled by a worker that died before draining
    db.session.commit()
    app.extensions["webhook_drainer"].start()
    deadline = time.monotonic() + 20
    while count(Message) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count(Message) == 6 and journaled() == 0


def test_flask_webhooks_drain(client, runner, two_products, no_thread):
    p.post_signed(client, batch("cli"))
    result = runner.invoke(args=["webhooks", "drain"])
    assert result.exit_code == 0, result.output
    assert "stored 6 new message(s)" in result.output and "0 still journaled" in result.output
    assert count(Message) == 6


@settings(FUZZ, max_examples=150)
@given(body=envelope)
def test_whatever_is_journaled_is_drained_without_error(client, two_products, no_thread, body):
    raw = json.dumps(body).encode()
    answer = client.post("/webhook", data=raw, headers=p.signed_headers(raw))
    assert answer.status_code in (200, 400)
    result = journal.drain()
    assert result.rejected == 0  # odd shapes are stored as events or kept unrouted, never set aside
    assert journaled() == 0


def test_readyz_shows_the_deliveries_waiting_in_the_journal(client, two_products, no_thread):
    p.post_signed(client, batch("ready"))
    assert client.get("/readyz").get_json()["webhook_backlog"] == 1
    journal.drain()
    assert client.get("/readyz").get_json()["webhook_backlog"] == 0


@file_journal
def test_on_sqlite_a_drains_write_lock_does_not_hold_up_the_lane(app, client, two_products, no_thread, caplog):
    """On SQLite the lane journals into a file of its own: a drain holding the database's single
    write lock while it stores does not hold up Meta's answer; the delivery waits in the file."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single write lock (PostgreSQL appends never wait for a drain)")
    import sqlite3

    holder = sqlite3.connect(db.engine.url.database, isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")  # what a drain's first write does
    try:
        answer = p.post_signed(client, batch("locked"))
        assert answer.status_code == 200 and answer.json == {"received": True}
        assert app.extensions["webhook_journal_file"].count() == 1
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert journal.drain().messages == 6 and journaled() == 0
    assert "handing the delivery to the view" not in caplog.text  # the lane itself journaled it


@file_journal
def test_the_lane_waits_out_a_lock_on_the_journal_file_then_journals(app, client, two_products, no_thread, caplog):
    """An append waits for another append (or a drain's delete) on the journal file: the lane
    retries in short steps (not SQLite's own sleeps of up to 100 ms) and journals it."""
    journal_file = app.extensions["webhook_journal_file"]
    import sqlite3

    p.post_signed(client, batch("warm"))  # the lane's connection exists
    holder = sqlite3.connect(journal_file.path, isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")
    answers = []
    poster = threading.Thread(target=lambda: answers.append(p.post_signed(app.test_client(), batch("locked"))))
    poster.start()
    time.sleep(0.3)
    assert poster.is_alive() and not answers  # waiting for the lock, not answered yet
    holder.execute("COMMIT")
    holder.close()
    poster.join(timeout=10)
    assert answers[0].status_code == 200 and answers[0].json == {"received": True}
    assert journaled() == 2
    assert "handing the delivery to the view" not in caplog.text  # the lane itself journaled it


@file_journal
def test_a_drain_that_dies_after_its_commit_is_repeated_as_a_no_op_once_its_claim_runs_out(app, client, two_products, no_thread, monkeypatch):
    """The journal file's deliveries are deleted after the drain's commit: a drain that dies in
    between leaves them there, claimed; once its lease has run out the next drain stores them
    again, which stores nothing twice."""
    from types import SimpleNamespace

    from portal.webhook import journal_file as journal_file_module

    journal_file = app.extensions["webhook_journal_file"]
    p.post_signed(client, batch("dies"))
    real_finish = journal_file.finish
    monkeypatch.setattr(journal_file, "finish", lambda claim, ids: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        journal.drain()
    assert count(Message) == 6 and journaled() == 1  # stored and committed, still in the file

    monkeypatch.setattr(journal_file, "finish", real_finish)
    assert journal.drain().deliveries == 0  # still claimed by the dead drain
    later = time.time() + journal_file_module.LEASE_SECONDS + 1
    monkeypatch.setattr(journal_file_module, "time", SimpleNamespace(time=lambda: later))
    result = journal.drain()
    assert (result.deliveries, result.messages, result.duplicates) == (1, 0, 6)
    assert count(Message) == 6 and journaled() == 0
    assert db.session.execute(select(Conversation.unread_count).order_by(Conversation.unread_count)).scalars().all() == [3, 3]


@file_journal
def test_drains_store_side_by_side_and_never_take_what_another_has_claimed(app, client, two_products, no_thread):
    """A drain claims the deliveries it takes: another drain meanwhile takes the next ones, not
    these; a drain that could not store gives its claim back at once."""
    journal_file = app.extensions["webhook_journal_file"]
    for n in range(3):
        p.post_signed(client, batch(f"claims{n}"))
    claim, rows = journal_file.take(1, journal.MAX_BYTES_PER_DRAIN)  # another drain, storing the first
    assert len(rows) == 1
    assert journal.drain().deliveries == 2  # the two others
    assert journaled() == 1 and count(Message) == 12
    journal_file.release(claim)  # that drain failed: the delivery is free again
    assert journal.drain().deliveries == 1
    assert count(Message) == 18 and journaled() == 0


@file_journal
def test_a_drain_that_fails_gives_its_claim_back(app, client, two_products, no_thread, monkeypatch):
    journal_file = app.extensions["webhook_journal_file"]
    p.post_signed(client, batch("gives-back"))

    def database_down(rows):
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(journal, "_store", database_down)
    with pytest.raises(OperationalError):
        journal.drain_once()
    monkeypatch.undo()
    assert journal.drain().messages == 6  # at once: no lease to wait for
    assert journal_file.take(10, journal.MAX_BYTES_PER_DRAIN) == (None, [])


def test_where_the_journal_file_is(tmp_path):
    from portal.webhook.journal_file import configured_path, path_for

    assert path_for(f"sqlite:///{tmp_path}/portal.db") == f"{tmp_path}/portal.db.webhooks"
    assert path_for("sqlite://") is None and path_for("sqlite:///:memory:") is None
    assert path_for("postgresql+psycopg://postgres@127.0.0.1/test") is None

    def where(database, **settings):
        return configured_path({"SQLALCHEMY_DATABASE_URI": database, **settings}, str(tmp_path / "instance"))

    postgresql, sqlite = "postgresql+psycopg://postgres@127.0.0.1/test", f"sqlite:///{tmp_path}/portal.db"
    assert where(sqlite) == f"{tmp_path}/portal.db.webhooks"  # the default beside a SQLite file
    assert where(postgresql) is None  # PostgreSQL's default: the table
    assert where(postgresql, WEBHOOK_JOURNAL="file") == f"{tmp_path}/instance/webhooks.journal"
    assert where(postgresql, WEBHOOK_JOURNAL_PATH=str(tmp_path / "j")) == f"{tmp_path}/j"
    assert where(sqlite, WEBHOOK_JOURNAL="database") is None
    assert where("sqlite://", WEBHOOK_JOURNAL="file") == f"{tmp_path}/instance/webhooks.journal"


@pytest.mark.parametrize("settings, words", [
    ({"WEBHOOK_JOURNAL": "redis"}, "WEBHOOK_JOURNAL must be one of database, file"),
    ({"WEBHOOK_JOURNAL": "database", "WEBHOOK_JOURNAL_PATH": "/tmp/j"}, "needs WEBHOOK_JOURNAL=file"),
])
def test_a_bad_journal_setting_is_refused_in_one_line(tmp_path, settings, words):
    from portal.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=words):
        load_config(str(tmp_path), {"PORTAL_ENV": "test", **settings})


@pytest.mark.parametrize("journaled_by", ["lane", "view"])
def test_a_drain_takes_bodies_up_to_its_byte_budget_and_always_one(client, two_products, no_thread, monkeypatch, journaled_by):
    """Meta's bodies reach 3 MB: a drain stops taking deliveries at MAX_BYTES_PER_DRAIN of
    bodies (memory stays bounded), but always takes one, however big."""
    for n in range(3):
        document = batch(f"budget{n}")
        if journaled_by == "lane":
            p.post_signed(client, document)
        else:
            journal.append(p.encode(document))
            db.session.commit()
    monkeypatch.setattr(journal, "MAX_BYTES_PER_DRAIN", 1)  # smaller than any body
    assert [journal.drain_once().deliveries for _ in range(3)] == [1, 1, 1]
    assert count(Message) == 18 and journaled() == 0

    for n in range(3):
        journal.append(p.encode(batch(f"budget-more{n}"))) if journaled_by == "view" else p.post_signed(client, batch(f"budget-more{n}"))
    db.session.commit()
    size = len(p.encode(batch("budget-more0")))  # each of the three
    monkeypatch.setattr(journal, "MAX_BYTES_PER_DRAIN", size + 1)  # room for a second body to start
    assert [journal.drain_once().deliveries for _ in range(2)] == [2, 1]


def test_one_drain_takes_from_the_journal_file_and_from_the_table(client, two_products, no_thread):
    """On SQLite the lane journals into the file and the view into the table: a drain takes a
    batch of each, so what the view journaled never waits for the file to run empty."""
    p.post_signed(client, batch("by-lane"))
    journal.append(p.encode(batch("by-view")))
    db.session.commit()
    result = journal.drain_once()
    assert (result.deliveries, result.messages) == (2, 12)
    assert journaled() == 0


def test_a_drain_before_the_first_append_finds_nothing_and_makes_the_folder(tmp_path):
    from portal.webhook.journal_file import JournalFile

    journal_file = JournalFile(str(tmp_path / "not-yet" / "webhooks.journal"))
    try:
        assert journal_file.take(10, 1024) == (None, []) and journal_file.count() == 0
    finally:
        journal_file.close()


@file_journal
def test_while_drains_cannot_reach_postgresql_deliveries_go_through_it(app, client, two_products, no_thread, monkeypatch):
    """With a journal file on PostgreSQL, a drain that fails on the database sends the lane's
    deliveries to the view: it answers 503 while the database is down, so Meta retries (as
    without the file, rather than the file filling up), and journals them in the database once
    it answers; the first drain that works sends them to the file again."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("on SQLite the journal file and the database are on one disk and fail together")
    journal_file = app.extensions["webhook_journal_file"]

    def down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    p.post_signed(client, batch("before"))
    assert journal_file.count() == 1
    monkeypatch.setattr(journal, "_store", down)
    with pytest.raises(OperationalError):
        journal.drain_once()
    assert journal_file.database_down()

    real_append = journal.append
    monkeypatch.setattr(journal, "append", down)  # the view cannot reach the database either
    assert p.post_signed(client, batch("during")).status_code == 503
    monkeypatch.setattr(journal, "append", real_append)
    assert p.post_signed(client, batch("back")).status_code == 200  # through the view, into the table
    assert journal_file.count() == 1 and journaled() == 2

    monkeypatch.undo()
    assert journal.drain().messages == 12 and journaled() == 0
    assert not journal_file.database_down()
    p.post_signed(client, batch("after"))
    assert journal_file.count() == 1  # the lane's file again


@file_journal
def test_gunicorn_on_its_way_out_stores_what_is_left_in_the_journal_file(app, client, two_products, no_thread, caplog):
    """A journal file lives on the web host: once the workers and drain processes are gone,
    gunicorn's on_exit stores what is left in it, so nothing acknowledged waits for the next
    start (or is lost with a disk that does not outlive the server)."""
    import logging
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    hooks = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    for n in range(3):
        p.post_signed(client, batch(f"left{n}"))
    assert app.extensions["webhook_journal_file"].count() == 3 and count(Message) == 0
    server = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app), log=logging.getLogger("gunicorn.test"))
    hooks["on_exit"](server)
    assert count(Message) == 18 and journaled() == 0
    assert "still journaled on exit" not in caplog.text


@pytest.mark.parametrize("app_config", ["unusable-file"], indirect=True)
def test_a_journal_file_that_cannot_be_used_answers_4xx_or_503_never_500_and_loses_nothing(app, client, runner, two_products, no_thread):
    """WEBHOOK_JOURNAL_PATH under something that is not a folder: Meta's deliveries go through
    the view into the table (200), /readyz says the host cannot use its journal (503), a drain
    still stores what the view journaled and then reports the file, and the CLI says so in one line."""
    assert p.post_signed(client, batch("no-file")).status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["webhook_journal"] == "unusable"
    from portal.webhook.journal_file import JournalFileError

    with pytest.raises(JournalFileError):
        journal.drain_once()
    assert count(Message) == 6  # the table's delivery was stored all the same
    result = runner.invoke(args=["webhooks", "drain"])
    assert result.exit_code == 1 and "could not be used (" in result.output and "nothing was lost" in result.output
