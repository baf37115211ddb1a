"""In a real browser: an agent attaches a picture in the reply box, sends it, and sees it in the
thread, loaded from the portal, with its ticks moving as Meta's status webhooks arrive.

The portal runs in a thread (werkzeug make_server, SQLite file); Meta is `responses` (the upload
answers {id}, the send answers a wamid); the status webhook is shaped as Meta documents it
(statuses[] {id, status, timestamp, recipient_id}). Skipped, with the reason, without Chromium.
"""
from __future__ import annotations

import json
import threading
import time

import pytest
import responses
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from portal.meta.signatures import webhook_signature
from portal.models import Conversation, Membership, Message, Product, User, WhatsAppAccount
from portal.sandbox.media import sample_png
from tests.conftest import PASSWORD, TEST_APP_SECRET, _test_config
from tests.inbox.test_browser import PHONE_NUMBER_ID, open_feed, store_message_as_the_webhook_would

pytestmark = pytest.mark.browser


@pytest.fixture
def live(tmp_path):
    app = create_app(_test_config("sqlite:///" + str(tmp_path / "live.db"), FEED_POLL_SECONDS=1,
                                  MEDIA_ROOT=str(tmp_path / "media")))
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


def test_an_agent_sends_a_picture_and_sees_it_with_its_ticks(browser, live, tmp_path):
    app, base_url, product_id = live
    store_message_as_the_webhook_would(app, product_id, "Can you send me the schedule?")
    with app.app_context():
        conversation_id = db.session.execute(db.select(Conversation.id)).scalar_one()
    picture = tmp_path / "schedule.png"
    picture.write_bytes(sample_png(seed=7, size=64))
    graph = f"{app.config['META_GRAPH_URL']}/v25.0/{PHONE_NUMBER_ID}"
    with responses.RequestsMock() as meta:
        meta.add_passthru(base_url)
        meta.post(f"{graph}/media", json={"id": "7300000000000042"})
        meta.post(f"{graph}/messages", json={"messaging_product": "whatsapp", "messages": [{"id": "wamid.PICTURE"}]})
        page = open_feed(browser, base_url, product_id)
        page.goto(f"{base_url}/p/{product_id}/conversations/{conversation_id}")
        page.set_input_files("#reply-box input[name=file]", str(picture))
        assert page.text_content("#reply-box .reply-file-name") == "schedule.png"
        page.fill("#reply-box textarea", "Here is this week's schedule")
        page.click("#reply-box button[type=submit]")
        image = page.wait_for_selector(".msg-out img.media-picture", timeout=10_000)
        page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=image, timeout=10_000)
        page.wait_for_selector(".msg-out .ticks[title='Sent']", timeout=10_000)
        assert page.locator(".msg-out", has_text="Here is this week's schedule").count() == 1
        assert [json.loads(c.request.body)["type"] for c in meta.calls if c.request.url.startswith(f"{graph}/messages")] == ["image"]

    status = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "59111111111", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [{"id": "wamid.PICTURE", "status": "read", "timestamp": str(int(time.time())),
                          "recipient_id": "59170000001"}]}}]}]}
    body = json.dumps(status).encode()
    answer = page.request.post(f"{base_url}/webhook", data=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": webhook_signature(body, TEST_APP_SECRET)})
    assert answer.status == 200
    page.wait_for_selector(".msg-out .ticks[title='Read']", timeout=10_000)
    with app.app_context():
        message = db.session.execute(db.select(Message).where(Message.wamid == "wamid.PICTURE")).scalar_one()
        assert message.type == "image" and message.status == "read" and message.media_id == "7300000000000042"
