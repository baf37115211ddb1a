"""In a real browser: a Flow reply and an order arrive by webhook in an open thread and show
their content; an edit then changes the bubble in place (issue 14)."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from portal.extensions import db
from portal.meta.signatures import webhook_signature
from portal.models import Conversation
from tests.conftest import TEST_APP_SECRET
from tests.inbox.test_browser import PHONE_NUMBER_ID, live, open_feed, store_message_as_the_webhook_would  # noqa: F401

pytestmark = pytest.mark.browser


def post_webhook(page, base_url, *messages):
    """A `messages` change as Meta's webhook reference shapes it, signed with the app secret."""
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages",
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "59111111111", "phone_number_id": PHONE_NUMBER_ID},
                  "contacts": [{"profile": {"name": "Ana"}, "wa_id": "59170000001"}],
                  "messages": list(messages)}}]}]}
    body = json.dumps(payload).encode()
    response = page.request.post(f"{base_url}/webhook", data=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": webhook_signature(body, TEST_APP_SECRET)})
    assert response.status == 200, response.text()


def test_flow_reply_and_order_in_a_real_thread(browser, live):  # noqa: F811
    """nfm_reply as in Meta's interactive webhook reference (response_json a JSON string) and an
    order as in Meta's order webhook reference."""
    app, base_url, product_id = live
    if not any(rule.rule == "/webhook" for rule in app.url_map.iter_rules()):
        pytest.skip("the app has no /webhook route")
    store_message_as_the_webhook_would(app, product_id, "I want to order")
    with app.app_context():
        conversation_id = db.session.execute(db.select(Conversation.id)).scalar_one()
    page = open_feed(browser, base_url, product_id)
    page.goto(f"{base_url}/p/{product_id}/conversations/{conversation_id}")
    page.wait_for_selector("#thread-messages .msg:has-text('I want to order')", timeout=10_000)
    page.evaluate("window.__sameDocument = true")
    now = str(int(time.time()))
    flow = {"from": "59170000001", "id": f"wamid.{uuid.uuid4().hex}", "timestamp": now, "type": "interactive",
            "interactive": {"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent", "response_json": json.dumps(
                {"flow_token": "secret-token", "delivery_address": "Av. Arce 2630", "delivery_day": "Friday"})}}}
    order_id = f"wamid.{uuid.uuid4().hex}"
    order = {"from": "59170000001", "id": order_id, "timestamp": now, "type": "order",
             "order": {"catalog_id": "4210998764132231", "text": "Gift wrap please", "product_items": [
                 {"product_retailer_id": "mug-blue", "quantity": 3, "item_price": 8.5, "currency": "BOB"}]}}
    post_webhook(page, base_url, flow, order)
    page.wait_for_selector(".msg-flow dd:has-text('Av. Arce 2630')", timeout=10_000)
    page.wait_for_selector(".msg-order td:has-text('mug-blue')", timeout=10_000)
    assert page.locator(".msg-flow dt", has_text="Delivery day").count() == 1
    assert page.locator(".msg-order tfoot", has_text="25.50 BOB").count() == 1
    assert "secret-token" not in page.content()
    # The Flow answers come before the order: Meta's order within one delivery.
    texts = page.locator("#thread-messages .msg").all_inner_texts()
    assert [i for i, t in enumerate(texts) if "Av. Arce" in t][0] < [i for i, t in enumerate(texts) if "mug-blue" in t][0]
    # The customer edits the first message: the same bubble changes, no new one appears.
    first_wamid = None
    with app.app_context():
        from portal.models import Message
        first_wamid = db.session.execute(db.select(Message.wamid).where(Message.text == "I want to order")).scalar_one()
    count = page.locator("#thread-messages .msg").count()
    post_webhook(page, base_url, {"from": "59170000001", "id": f"wamid.{uuid.uuid4().hex}", "timestamp": str(int(time.time())),
                                  "type": "edit", "edit": {"original_message_id": first_wamid,
                                                           "message": {"type": "text", "text": {"body": "I want to order two"}}}})
    page.wait_for_selector("#thread-messages .msg:has-text('I want to order two') .msg-edited", timeout=10_000)
    assert page.locator("#thread-messages .msg").count() == count
    assert page.evaluate("window.__sameDocument") is True
