"""The webhook's fast path (portal/webhook/fast_path.py): a good delivery is journaled and answered
without Flask's request machinery; anything else reaches the Flask view with its body intact, so
every refusal is still the view's (the refusal tests of test_journal.py and test_verify_and_signature.py
run through the fast path too)."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Message, RejectedWebhook
from portal.webhook import journal
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, WABA_A
from tests.webhook.test_journal import count, journaled


@pytest.fixture
def app_config(app_config):
    app_config["WEBHOOK_PROCESSING"] = "journal"
    return app_config


def _delivery(wamid: str) -> dict:
    return p.envelope(p.entry(WABA_A, p.messages_change(NUMBER_A, [p.text_message(wamid)])))


def _answered_by_the_view(caplog) -> bool:
    return any(r.name == "maestra.access" and "/webhook" in r.getMessage() for r in caplog.records)


def test_a_good_delivery_is_journaled_without_the_view(client, two_products, caplog):
    with caplog.at_level(logging.INFO):
        answer = p.post_signed(client, _delivery("wamid.fast"))
    assert answer.status_code == 200 and answer.json == {"received": True}
    assert answer.headers["X-Content-Type-Options"] == "nosniff" and len(answer.headers["X-Request-ID"]) == 32
    assert journaled() == 1 and not _answered_by_the_view(caplog)
    assert journal.drain().messages == 1 and count(Message) == 1


def test_a_refused_delivery_reaches_the_view_with_its_body(client, two_products, caplog):
    with caplog.at_level(logging.INFO):
        forged = client.post("/webhook", data=b'{"object": "x"}', content_type="application/json",
                             headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
        unreadable = p.post_signed(client, b"not json at all")
    assert forged.status_code == 403 and unreadable.status_code == 400
    assert _answered_by_the_view(caplog) and journaled() == 0
    # The view read the same bytes the fast path had read: the unreadable body is kept as it came.
    assert db.session.execute(select(RejectedWebhook.body)).scalars().all() == [b"not json at all"]


def test_the_fast_path_steps_aside_when_the_journal_fails(client, two_products, monkeypatch, caplog):
    from sqlalchemy.exc import OperationalError

    def down(body):
        raise OperationalError("INSERT", {}, Exception("database is down"))

    monkeypatch.setattr(journal, "append", down)
    with caplog.at_level(logging.INFO):
        answer = p.post_signed(client, _delivery("wamid.down"))
    assert answer.status_code == 503 and _answered_by_the_view(caplog)  # the view's answer: Meta retries


def test_inline_processing_never_takes_the_fast_path(app_config, two_products, caplog):
    from portal import create_app

    inline = create_app({**app_config, "WEBHOOK_PROCESSING": "inline"})
    with caplog.at_level(logging.INFO), inline.app_context():
        answer = p.post_signed(inline.test_client(), _delivery("wamid.inline"))
    assert answer.status_code == 200 and answer.json["stored"] == 1 and _answered_by_the_view(caplog)
