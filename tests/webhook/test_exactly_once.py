"""Duplicates, concurrent duplicates, and a database that fails: every message stored exactly once."""
from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.models import Contact, Conversation, Message
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, NUMBER_B, WABA_A, WABA_B


def count(model, **filters) -> int:
    return db.session.execute(select(func.count()).select_from(model).filter_by(**filters)).scalar_one()


def batch(prefix: str, n: int = 20):
    return p.envelope(
        p.entry(WABA_A, p.messages_change(NUMBER_A, [p.text_message(f"wamid.{prefix}.a{i}", f"a{i}", sender=f"5917000{i % 5}") for i in range(n)])),
        p.entry(WABA_B, p.messages_change(NUMBER_B, [p.text_message(f"wamid.{prefix}.b{i}", f"b{i}", sender=f"5917000{i % 3}") for i in range(n)])),
    )


def unread_total() -> int:
    return db.session.execute(select(func.sum(Conversation.unread_count))).scalar_one()


def test_the_same_delivery_twice_stores_once(client, two_products):
    body = batch("dup")
    first, second = p.post_signed(client, body), p.post_signed(client, body)
    assert (first.json["stored"], first.json["duplicates"]) == (40, 0)
    assert (second.json["stored"], second.json["duplicates"]) == (0, 40)
    assert count(Message) == 40
    assert unread_total() == 40  # counters move once per new message
    assert count(Contact) == 5 + 3


def test_duplicates_inside_one_batch_store_once(client, two_products):
    message = p.text_message("wamid.twice", "hi")
    body = p.envelope(p.messages_change(NUMBER_A, [message, message]), p.messages_change(NUMBER_A, [message]))
    assert p.post_signed(client, body).json["stored"] == 1
    assert count(Message) == 1 and unread_total() == 1


def test_concurrent_duplicate_deliveries_store_once(app, two_products):
    """Several workers receive the same batches at the same moment (threads, each its own
    connection, on the file database or PostgreSQL): the unique constraints decide."""
    bodies = [p.encode(batch(f"c{k}")) for k in range(3)]
    workers = 6
    barrier = threading.Barrier(workers)
    answers, errors = [], []

    def deliver(worker: int):
        try:
            with app.test_client() as client:
                barrier.wait(timeout=30)
                for k in range(len(bodies)):
                    raw = bodies[(k + worker) % len(bodies)]
                    answers.append((raw, client.post("/webhook", data=raw, headers=p.signed_headers(raw))))
        except Exception as error:  # reported below, not swallowed
            errors.append(error)

    threads = [threading.Thread(target=deliver, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert len(answers) == workers * len(bodies)
    # Every 200 means "stored"; a lock timeout would be a 503, which Meta retries (so do we).
    assert {answer.status_code for _, answer in answers} <= {200, 503}
    stored = sum(answer.json["stored"] for _, answer in answers if answer.status_code == 200)
    with app.test_client() as client:
        for raw, answer in answers:
            if answer.status_code == 503:
                retried = client.post("/webhook", data=raw, headers=p.signed_headers(raw))
                assert retried.status_code == 200
                stored += retried.json["stored"]
    db.session.expire_all()
    assert stored == count(Message) == 3 * 40
    assert unread_total() == 3 * 40
    assert count(Conversation) == 5 + 3 and count(Contact) == 5 + 3


def _fail_commit_once(monkeypatch):
    calls = {"n": 0}
    real_commit = db.session.commit

    def failing_commit():
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("COMMIT", {}, Exception("could not write to the database"))
        return real_commit()

    monkeypatch.setattr(db.session, "commit", failing_commit)


def test_database_failure_answers_503_and_the_retry_stores_once(client, two_products, monkeypatch):
    body = batch("fail", n=5)
    _fail_commit_once(monkeypatch)
    failed = p.post_signed(client, body)
    assert failed.status_code == 503
    assert failed.json["error"]["code"] == 503
    assert count(Message) == 0 and count(Contact) == 0  # rolled back: nothing half-stored
    retried = p.post_signed(client, body)
    assert retried.status_code == 200 and retried.json["stored"] == 10
    assert p.post_signed(client, body).json["stored"] == 0
    assert count(Message) == 10 and unread_total() == 10


def test_database_unreachable_answers_503(client, two_products, monkeypatch):
    from portal.webhook import ingest

    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(ingest, "_routes", unreachable)
    assert p.post_signed(client, batch("down", n=2)).status_code == 503
    monkeypatch.undo()
    assert p.post_signed(client, batch("down", n=2)).json["stored"] == 4


def test_contact_and_conversation_created_meanwhile_by_another_worker(client, two_products, monkeypatch):
    """Read, then insert only what is missing: if another worker inserted the same contact and
    conversation in between, the conflict-tolerant insert returns nothing and they are read again."""
    from portal.webhook import ingest

    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.first")])))
    for statement in (ingest.FIND_CONTACTS, ingest.FIND_CONVERSATIONS):
        real_read, reads = statement.run, []

        def read_before_the_other_worker_committed(conn, *args, real_read=real_read, reads=reads):
            reads.append(args)  # the first read misses the rows; the read after the insert finds them
            return [] if len(reads) == 1 else real_read(conn, *args)

        monkeypatch.setattr(statement, "run", read_before_the_other_worker_committed)
    answer = p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.second")])))
    assert answer.status_code == 200 and answer.json["stored"] == 1
    assert count(Contact) == 1 and count(Conversation) == 1
    assert unread_total() == 2
    first, second = db.session.execute(select(Message).order_by(Message.wamid)).scalars().all()
    assert first.conversation_id == second.conversation_id is not None


def test_driver_error_on_the_fast_path_is_a_503_not_a_500(client, two_products, monkeypatch):
    """The message path runs on the driver's cursor; its errors still reach the 503 handler."""
    from portal.webhook import ingest

    monkeypatch.setattr(ingest.INSERT_MESSAGES, "_sql", lambda prepared, count: "INSERT INTO no_such_table VALUES (1)")
    answer = p.post_signed(client, batch("driver", n=2))
    assert answer.status_code == 503
    monkeypatch.undo()
    assert count(Message) == 0 and count(Contact) == 0
    assert p.post_signed(client, batch("driver", n=2)).json["stored"] == 4
