"""In a real browser: a message that arrives while the feed is open appears without a reload.

Runs the portal in a thread (werkzeug make_server, SQLite file) and drives Debian's
Chromium with Playwright. Skipped, with the reason, where either is missing.
"""
from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from portal.meta.signatures import webhook_signature
from portal.models import Contact, Conversation, Membership, Message, Product, User, WhatsAppAccount, utcnow
from tests.conftest import PASSWORD, TEST_APP_SECRET, _test_config

pytestmark = pytest.mark.browser

PHONE_NUMBER_ID = "106540352242922"


@pytest.fixture
def live(tmp_path):
    """The portal on a free port, with one product, its number and an owner."""
    app = create_app(_test_config("sqlite:///" + str(tmp_path / "live.db"), FEED_POLL_SECONDS=1))
    with app.app_context():
        db.create_all()
        user = User(email="owner@example.com")
        user.set_password(PASSWORD)
        product = Product(name="Cardio Plus")
        db.session.add_all([user, product])
        db.session.flush()
        db.session.add(Membership(product_id=product.id, user_id=user.id, role="owner"))
        db.session.add(WhatsAppAccount(product_id=product.id, phone_number_id=PHONE_NUMBER_ID,
                                       business_account_id="102290129340398", access_token="EAAG-live",
                                       phone_number="+591 11111111"))
        db.session.commit()
        product_id = product.id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", product_id
    finally:
        server.shutdown()
        thread.join(5)
        with app.app_context():
            db.engine.dispose()


def open_feed(browser, base_url, product_id):
    page = browser.new_page()
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", "owner@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")  # not the language switch of the header
    page.goto(f"{base_url}/p/{product_id}/feed")
    page.wait_for_selector("#feed-poller", state="attached", timeout=10_000)  # the panel loaded itself
    return page


def store_message_as_the_webhook_would(app, product_id, text):
    with app.app_context():
        contact = Contact(product_id=product_id, wa_id="59170000001", profile_name="Ana")
        db.session.add(contact)
        db.session.flush()
        conversation = Conversation(product_id=product_id, phone_number_id=PHONE_NUMBER_ID, contact_id=contact.id,
                                    last_inbound_at=utcnow(), last_message_at=utcnow())
        db.session.add(conversation)
        db.session.flush()
        db.session.add(Message(product_id=product_id, conversation_id=conversation.id, phone_number_id=PHONE_NUMBER_ID,
                               contact_wa_id="59170000001", wamid=f"wamid.{uuid.uuid4().hex}", direction="in",
                               type="text", text=text, sent_at=utcnow()))
        db.session.commit()


def test_stored_message_appears_in_open_feed(browser, live):
    app, base_url, product_id = live
    page = open_feed(browser, base_url, product_id)
    page.evaluate("window.__sameDocument = true")
    store_message_as_the_webhook_would(app, product_id, "Hola <b>desde</b> la base")
    page.wait_for_selector("#feed-list .feed-item:has-text('Hola <b>desde</b> la base')", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert page.locator("#feed-list .feed-item").count() == 1  # and it is not shown twice after more polls
    time.sleep(2.5)
    assert page.locator("#feed-list .feed-item").count() == 1


def test_webhook_message_appears_in_open_feed(browser, live):
    app, base_url, product_id = live
    page = open_feed(browser, base_url, product_id)
    if not any(rule.rule == "/webhook" for rule in app.url_map.iter_rules()):
        pytest.skip("the app has no /webhook route yet (the webhook feature is merged separately); the feed page loaded")
    page.evaluate("window.__sameDocument = true")
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "59111111111", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "59170000001"}],
            "messages": [{"from": "59170000001", "id": f"wamid.{uuid.uuid4().hex}", "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": "Hola desde el webhook"}}],
        }}]}]}
    body = json.dumps(payload).encode()
    response = page.request.post(f"{base_url}/webhook", data=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": webhook_signature(body, TEST_APP_SECRET)})
    assert response.status == 200, response.text()
    page.wait_for_selector("#feed-list .feed-item:has-text('Hola desde el webhook')", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True


def test_reply_appears_pending_then_sent_once(browser, live):
    import responses

    app, base_url, product_id = live
    store_message_as_the_webhook_would(app, product_id, "Do you deliver today?")
    with app.app_context():
        conversation_id = db.session.execute(db.select(Conversation.id)).scalar_one()
    with responses.RequestsMock() as meta:
        def slow_accept(request):
            time.sleep(2.5)  # long enough for the page's own poll to show the reply as pending first
            return 200, {}, json.dumps({"messages": [{"id": "wamid.REPLY"}]})

        meta.add_callback(responses.POST, f"{app.config['META_GRAPH_URL']}/v25.0/{PHONE_NUMBER_ID}/messages",
                          callback=slow_accept)
        page = open_feed(browser, base_url, product_id)
        page.goto(f"{base_url}/p/{product_id}/conversations/{conversation_id}")
        page.fill("#reply-box textarea", "Yes, before 6 pm")
        page.click("#reply-box button[type=submit]")
        reply = page.locator(".msg-out", has_text="Yes, before 6 pm")
        page.wait_for_selector(".msg-out .ticks[title='Sending']", timeout=10_000)
        page.wait_for_selector(".msg-out .ticks[title='Sent']", timeout=10_000)
        time.sleep(1.5)  # another poll or two: still one element
        assert reply.count() == 1
        assert page.input_value("#reply-box textarea") == ""
        assert len(meta.calls) == 1
