"""The sandbox sends every kind of message and event (portal/sandbox/kinds.py) from the phone page,
its JSON API and the CLI; what it sends, posted to the portal, shows in the inbox as described."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from portal.extensions import db
from portal.models import Conversation, WhatsAppAccount
from portal.sandbox import kinds
from portal.sandbox.__main__ import cli
from tests.webhook import payloads as p

from .conftest import ANA, CARDIO_PHONE, CARDIO_WABA, csrf_from
from .test_pages_and_cli import live_sandbox  # noqa: F401 (fixture)


@pytest.fixture
def subscribed(box):
    box.world.subscribe(CARDIO_WABA, box.app_id, on=True)


# What the thread (or, for account events, the dashboard) says after each kind, in order.
EXPECTED = [
    ("flow", "thread", "<dt>Delivery date</dt><dd>2026-12-05</dd>"),
    ("list_reply", "thread", "Next day to most cities"),
    ("button_reply", "thread", "Yes, please"),
    ("call_permission", "thread", "Allowed WhatsApp calls until"),
    ("order", "thread", "shirt-blue-m"),
    ("contacts", "thread", "ana@example.com"),
    ("request_welcome", "thread", "opened the chat for the first time"),
    ("ad", "thread", "Winter sale: 30% off"),
    ("group", "thread", "In group 120363021234567890"),
    ("unsupported", "thread", "Message type unknown"),
    ("edit", "thread", "(corrected) I meant tomorrow"),
    ("revoke", "thread", "This message was deleted"),
    ("unreact", "feed", "Removed a reaction"),
    ("echo", "thread", "Sent from the WhatsApp Business app"),
    ("history", "thread", "From the chat history"),
    ("alert:ban", "dashboard", "disabled (banned)"),
    ("alert:restriction", "dashboard", "restricted this WhatsApp account: starting conversations"),
    ("alert:violation", "dashboard", "policy violation (scam)"),
    ("alert:offboarded", "dashboard", "offboarded this WhatsApp account"),
    ("alert:partner_removed", "dashboard", "stopped sharing this WhatsApp account"),
    ("alert:reinstated", "dashboard", "Meta reinstated this WhatsApp account"),
    ("error", "dashboard", "Meta could not process a message for this number."),
    ("username", "conversations", "Hi, I write with my username"),  # the same customer: her one conversation
]


def test_every_kind_is_offered_and_tested():
    assert {kind for kind, _, _ in EXPECTED} | {"changed_number", "username_with_phone"} == set(kinds.ALL_KINDS)


def test_each_kind_from_the_sandbox_is_shown_by_the_portal(sbx, box, recorder, subscribed, client, auth, make_product,
                                                           app):
    """The bodies the sandbox delivers (re-signed with the portal's test secret) are stored and shown."""
    product = make_product("Sandbox kinds")
    db.session.add(WhatsAppAccount(product_id=product.id, phone_number_id=CARDIO_PHONE, business_account_id=CARDIO_WABA,
                                   access_token="EAAG-test", phone_number="+1 555-010-1001"))
    db.session.commit()
    auth.as_member(product)

    def deliver_last():
        assert p.post_signed(client, recorder.payloads()[-1]).status_code == 200

    token = csrf_from(sbx.get("/phone").get_data(as_text=True))
    assert sbx.post("/phone/send", data={"csrf_token": token, "number": CARDIO_PHONE, "customer": ANA, "kind": "text",
                                         "text": "first words"}).status_code == 302
    deliver_last()
    assert sbx.post("/phone/send", data={"csrf_token": token, "number": CARDIO_PHONE, "customer": ANA, "kind": "reaction",
                                         "emoji": "👍"}).status_code == 302
    deliver_last()
    for kind, where, words in EXPECTED:
        if kind == "revoke":  # delete a message of its own, so the edit stays visible
            box.world.record_message(CARDIO_PHONE, ANA, {"id": "wamid.to-delete", "type": "text"}, inbound=True)
            p.post_signed(client, p.envelope(p.messages_change(CARDIO_PHONE, [p.text_message("wamid.to-delete", "to delete", sender=ANA)])))
        before = len(recorder.posts)
        answer = sbx.post("/phone/kind", data={"csrf_token": token, "number": CARDIO_PHONE, "customer": ANA, "kind": kind},
                          follow_redirects=True)
        assert "delivered to the portal" in answer.get_data(as_text=True), kind
        assert len(recorder.posts) == before + 1
        deliver_last()
        conversation = db.session.execute(select(Conversation).where(Conversation.product_id == product.id)
                                          .order_by(Conversation.created_at)).scalars().first()
        path = {"thread": f"/conversations/{conversation.id}", "feed": "/feed", "dashboard": "/channels",
                "conversations": "/conversations"}[where]
        html = client.get(f"/p/{product.id}{path}").get_data(as_text=True)
        assert words in html, kind
    # Ana wrote with her phone number, her username (BSUID only) and both: one contact, one conversation.
    assert len(db.session.execute(select(Conversation).where(Conversation.product_id == product.id)).all()) == 1


def test_phone_page_offers_the_kinds_and_explains_bad_ones(sbx, recorder, subscribed):
    html = sbx.get("/phone").get_data(as_text=True)
    assert 'value="flow"' in html and 'value="alert:ban"' in html and 'value="history"' in html
    token = csrf_from(html)
    answer = sbx.post("/phone/kind", data={"csrf_token": token, "number": CARDIO_PHONE, "customer": ANA, "kind": "hologram"},
                      follow_redirects=True)
    assert "Unknown kind" in answer.get_data(as_text=True) and recorder.posts == []
    answer = sbx.post("/phone/kind", data={"csrf_token": token, "number": CARDIO_PHONE, "customer": ANA, "kind": "edit"},
                      follow_redirects=True)
    assert "no earlier message" in answer.get_data(as_text=True) and recorder.posts == []


def test_cli_sends_kinds(live_sandbox, recorder, subscribed):  # noqa: F811
    runner = CliRunner()
    for kind in ("order", "echo", "history", "alert:ban", "username"):
        sent = runner.invoke(cli, ["--sandbox-url", live_sandbox, "send", "--number", CARDIO_PHONE, "--from", ANA,
                                   "--kind", kind])
        assert sent.exit_code == 0, sent.output
        assert "delivered to the portal" in sent.output
    fields = [body["entry"][0]["changes"][0]["field"] for body in recorder.payloads()]
    assert fields == ["messages", "smb_message_echoes", "history", "account_update", "messages"]
    username = recorder.payloads()[-1]["entry"][0]["changes"][0]["value"]
    assert "from" not in username["messages"][0] and username["messages"][0]["from_user_id"].startswith("US.")
    bad = runner.invoke(cli, ["--sandbox-url", live_sandbox, "send", "--number", CARDIO_PHONE, "--from", ANA,
                              "--kind", "order", "--image"])
    assert bad.exit_code != 0 and "--kind goes alone" in bad.output


def test_a_sandbox_batch_of_20_is_shown_in_the_order_it_was_sent(sbx, box, recorder, subscribed, client, auth,
                                                                   make_product):
    """The demo's "Send a batch in one webhook": 20 changes of one second in one POST (Meta batches so)."""
    import re

    product = make_product("Batch order")
    db.session.add(WhatsAppAccount(product_id=product.id, phone_number_id=CARDIO_PHONE, business_account_id=CARDIO_WABA,
                                   access_token="EAAG-test", phone_number="+1 555-010-1001"))
    db.session.commit()
    auth.as_member(product)
    token = csrf_from(sbx.get("/phone").get_data(as_text=True))
    sbx.post("/phone/batch", data={"csrf_token": token, "number": CARDIO_PHONE, "customer": ANA, "count": "20"})
    assert p.post_signed(client, recorder.payloads()[-1]).status_code == 200
    conversation = db.session.execute(select(Conversation).where(Conversation.product_id == product.id)).scalar_one()
    page = client.get(f"/p/{product.id}/conversations/{conversation.id}").get_data(as_text=True)
    thread = page[page.index('id="thread-messages"'):]  # the list beside it previews the latest message
    assert [int(n) for n in re.findall(r"Batch message (\d+) of 20", thread)] == list(range(1, 21))
    feed = client.get(f"/p/{product.id}/feed").get_data(as_text=True)
    assert [int(n) for n in re.findall(r"Batch message (\d+) of 20", feed)] == list(range(20, 0, -1))
    listing = client.get(f"/p/{product.id}/conversations").get_data(as_text=True)
    assert "Batch message 20 of 20" in listing
