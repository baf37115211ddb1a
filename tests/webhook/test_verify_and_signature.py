"""GET handshake, and the signature check that comes before anything else."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Message, RejectedWebhook
from tests.conftest import TEST_VERIFY_TOKEN
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_handshake_echoes_the_challenge(client):
    answer = client.get("/webhook", query_string={"hub.mode": "subscribe", "hub.verify_token": TEST_VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert answer.status_code == 200
    assert answer.get_data(as_text=True) == "1158201444"
    assert answer.mimetype == "text/plain"


@pytest.mark.parametrize("query", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": TEST_VERIFY_TOKEN, "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.verify_token": TEST_VERIFY_TOKEN},
    {},
])
def test_handshake_refuses_anything_else(client, query):
    answer = client.get("/webhook", query_string=query)
    assert answer.status_code == 403
    assert answer.json["error"]["code"] == 403


def _body() -> bytes:
    return p.encode(p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.SIG", "hi")])))


def test_good_signature_is_stored(client, two_products):
    assert p.post_signed(client, _body()).status_code == 200
    assert count(Message) == 1


def test_missing_signature_is_401_and_nothing_stored(client, two_products):
    answer = client.post("/webhook", data=_body(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 401
    assert count(Message) == 0


@pytest.mark.parametrize("header", ["sha256=" + "0" * 64, "sha1=abc", "garbage", "sha256=ÿ"])
def test_wrong_signature_is_403_and_nothing_stored(client, two_products, header):
    answer = client.post("/webhook", data=_body(), headers={"Content-Type": "application/json", "X-Hub-Signature-256": header})
    assert answer.status_code == 403
    assert count(Message) == 0


def test_signature_of_another_secret_is_refused(client, two_products):
    raw = _body()
    answer = client.post("/webhook", data=raw, headers=p.signed_headers(raw, secret="someone-else"))
    assert answer.status_code == 403 and count(Message) == 0


def test_one_byte_changed_after_signing_is_refused(client, two_products):
    raw = _body()
    headers = p.signed_headers(raw)
    tampered = raw.replace(b'"hi"', b'"hI"')
    assert tampered != raw and len(tampered) == len(raw)
    assert client.post("/webhook", data=tampered, headers=headers).status_code == 403
    assert count(Message) == 0 and count(RejectedWebhook) == 0


def test_bad_signature_is_checked_before_parsing(client):
    """Unsigned garbage is a 401/403, never a parse error (and never kept)."""
    answer = client.post("/webhook", data=b"{not json", headers={"X-Hub-Signature-256": "sha256=" + "1" * 64})
    assert answer.status_code == 403 and count(RejectedWebhook) == 0


@pytest.mark.parametrize("raw, reason", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00", "not valid JSON"),
    (b"[1, 2]", "envelope"),
    (b'{"object": "whatsapp_business_account"}', "envelope"),
    (b'{"entry": [], "x": NaN}', "not valid JSON"),
    (b'{"entry": [{"id": "\\ud800"}]}', "surrogate"),
])
def test_signed_but_unreadable_body_is_400_and_kept(client, raw, reason):
    answer = client.post("/webhook", data=raw, headers=p.signed_headers(raw))
    assert answer.status_code == 400
    assert reason in answer.json["error"]["message"]
    [kept] = db.session.execute(select(RejectedWebhook)).scalars().all()
    assert kept.body == raw and reason in kept.reason


def test_body_over_the_limit_is_413(app_config, two_products):
    from portal import create_app

    app_config["WEBHOOK_MAX_BYTES"] = 2048
    small = create_app(app_config)
    body = json.dumps(p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.big", "x" * 4096)]))).encode()
    with small.test_client() as client:
        answer = client.post("/webhook", data=body, headers=p.signed_headers(body))
    assert answer.status_code == 413
    assert count(Message) == 0


def test_webhook_needs_no_csrf_token_and_no_login(client, two_products):
    """CSRF is on for the portal; Meta cannot send a token, its signature is the check."""
    assert p.post_signed(client, _body()).status_code == 200
