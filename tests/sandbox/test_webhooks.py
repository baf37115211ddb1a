"""Webhooks the sandbox delivers: signed with the app secret, in Meta's exact shape."""
from __future__ import annotations

import json
import re
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from portal.meta.signatures import verify_webhook_signature
from portal.sandbox import create_app
from portal.sandbox.delivery import Dispatcher

from .conftest import ANA, APP_SECRET, CARDIO, CARDIO_PHONE, CARDIO_WABA, FLEX_PHONES, FLEX_WABA, customer_says


@pytest.fixture
def subscribed(box):
    """Both demo businesses' accounts subscribed to the app, as the portal's connect flow does."""
    for waba in (CARDIO_WABA, FLEX_WABA):
        box.world.subscribe(waba, box.app_id, on=True)


def _only_change(payload: dict) -> dict:
    assert payload["object"] == "whatsapp_business_account"
    [entry] = payload["entry"]
    [change] = entry["changes"]
    return change


def test_customer_text_is_signed_and_shaped_like_meta(box, recorder, subscribed):
    message, delivery = customer_says(box, CARDIO_PHONE, ANA, "Is my appointment on Monday?")
    assert delivery.ok
    [(url, body, headers)] = recorder.posts
    assert url == "http://portal.test/webhook"
    assert headers["Content-Type"] == "application/json"
    verify_webhook_signature(body, headers["X-Hub-Signature-256"], APP_SECRET)  # raises if wrong
    payload = json.loads(body)
    assert payload["entry"][0]["id"] == CARDIO_WABA
    change = _only_change(payload)
    assert change["field"] == "messages"
    bsuid = box.world.customer(CARDIO_PHONE, ANA).user_id
    assert re.fullmatch(r"US\.\d{20}", bsuid)
    # Today's shape (Meta's business-scoped user ids page): user_id beside wa_id, from_user_id beside from.
    assert change["value"] == {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550101001", "phone_number_id": CARDIO_PHONE},
        "contacts": [{"profile": {"name": "Ana Rojas"}, "wa_id": ANA, "user_id": bsuid}],
        "messages": [{"from": ANA, "from_user_id": bsuid, "id": message["id"], "timestamp": message["timestamp"],
                      "type": "text", "text": {"body": "Is my appointment on Monday?"}}],
    }
    assert message["id"].startswith("wamid.") and message["timestamp"].isdigit()


def test_signature_is_over_the_raw_body_with_the_app_secret(box, recorder, subscribed):
    customer_says(box, CARDIO_PHONE, ANA)
    _, body, headers = recorder.posts[0]
    with pytest.raises(ValueError):
        verify_webhook_signature(body, headers["X-Hub-Signature-256"], "another-secret")
    with pytest.raises(ValueError):
        verify_webhook_signature(body + b" ", headers["X-Hub-Signature-256"], APP_SECRET)


def test_image_location_and_reaction_messages(box, recorder, subscribed):
    text, _ = customer_says(box, FLEX_PHONES[1], ANA, "hi")
    box.customer_writes(FLEX_PHONES[1], ANA, "image", caption="my form")
    box.customer_writes(FLEX_PHONES[1], ANA, "location", latitude="-16.5", longitude="-68.15", place="Gym")
    box.customer_writes(FLEX_PHONES[1], ANA, "reaction", emoji="❤️")
    messages = [_only_change(p)["value"]["messages"][0] for p in recorder.payloads()]
    image, location, reaction = messages[1:]
    assert image["type"] == "image"
    assert set(image["image"]) == {"mime_type", "sha256", "id", "caption"}
    assert image["image"]["mime_type"] == "image/png"
    assert location["location"] == {"latitude": -16.5, "longitude": -68.15, "name": "Gym"}
    assert reaction["reaction"] == {"message_id": location["id"], "emoji": "❤️"}
    assert all(_only_change(p)["value"]["metadata"]["phone_number_id"] == FLEX_PHONES[1]
               for p in recorder.payloads())


def test_nothing_is_delivered_for_an_account_no_app_subscribed(box, recorder):
    message, delivery = customer_says(box, CARDIO_PHONE, ANA)
    assert delivery is None
    assert recorder.posts == []
    assert box.world.window_open(CARDIO_PHONE, ANA)  # the customer still wrote


def test_batch_is_one_post_with_one_change_per_message(box, recorder, subscribed):
    count, delivery = box.customer_batch(CARDIO_PHONE, ANA, 25)
    assert count == 25 and delivery.ok
    [payload] = recorder.payloads()
    changes = payload["entry"][0]["changes"]
    assert len(changes) == 25
    ids = {c["value"]["messages"][0]["id"] for c in changes}
    assert len(ids) == 25


def test_resend_last_is_an_identical_duplicate(box, recorder, subscribed):
    customer_says(box, CARDIO_PHONE, ANA)
    box.resend_last()
    (_, first, first_headers), (_, second, second_headers) = recorder.posts
    assert first == second
    assert first_headers["X-Hub-Signature-256"] == second_headers["X-Hub-Signature-256"]


def test_statuses_follow_a_send_in_order_each_its_own_webhook(meta, box, recorder, subscribed):
    customer_says(box, CARDIO_PHONE, ANA)
    token = meta.token_for(CARDIO)
    sent = meta.call("POST", f"{CARDIO_PHONE}/messages", token, json={
        "messaging_product": "whatsapp", "to": ANA, "type": "text", "text": {"body": "See you Monday"}})
    wamid = sent.json["messages"][0]["id"]
    recorder.posts.clear()
    assert box.dispatcher.pending() == 3
    box.dispatcher.flush()
    statuses = [_only_change(p)["value"]["statuses"][0] for p in recorder.payloads()]
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert all(s["id"] == wamid and s["recipient_id"] == ANA and s["timestamp"].isdigit() for s in statuses)
    assert statuses[0]["conversation"]["origin"] == {"type": "service"}
    for _, body, headers in recorder.posts:
        verify_webhook_signature(body, headers["X-Hub-Signature-256"], APP_SECRET)
    assert box.world.conversation(CARDIO_PHONE, ANA)[-1]["status"] == "read"


def test_window_closed_as_a_failed_status(sandbox_config, clock, recorder):
    app = create_app(sandbox_config | {"SANDBOX_WINDOW_CLOSED_AS": "status"})
    box = app.extensions["sandbox"]
    box.world.subscribe(CARDIO_WABA, box.app_id, on=True)
    from .conftest import Meta
    meta = Meta(app.test_client())
    token = meta.token_for(CARDIO)
    response = meta.call("POST", f"{CARDIO_PHONE}/messages", token, json={
        "messaging_product": "whatsapp", "to": ANA, "type": "text", "text": {"body": "late"}})
    assert response.status_code == 200
    box.dispatcher.flush()
    [status] = _only_change(recorder.payloads()[-1])["value"]["statuses"]
    assert status["status"] == "failed"
    assert status["errors"][0]["code"] == 131047


def test_quality_change_sends_phone_number_quality_update(box, recorder, subscribed):
    old, delivery = box.change_quality(CARDIO_PHONE, "RED")
    assert (old, delivery.ok) == ("GREEN", True)
    change = _only_change(recorder.payloads()[0])
    assert change["field"] == "phone_number_quality_update"
    assert change["value"]["display_phone_number"] == "15550101001"
    assert change["value"]["event"] == "FLAGGED"
    box.change_quality(CARDIO_PHONE, "GREEN")
    assert _only_change(recorder.payloads()[1])["value"]["event"] == "UNFLAGGED"


def test_a_refused_delivery_is_retried(box, recorder, subscribed):
    recorder.status = 500
    _, delivery = customer_says(box, CARDIO_PHONE, ANA)
    assert not delivery.ok
    assert box.dispatcher.pending() == 1
    recorder.status = 200
    [retry] = box.dispatcher.flush()
    assert retry.ok and retry.attempt == 2
    assert recorder.posts[0][1] == recorder.posts[1][1]


def test_unreachable_portal_is_retried_not_raised():
    def down(url, body, headers):
        raise ConnectionError("refused")

    dispatcher = Dispatcher("http://127.0.0.1:9/webhook", APP_SECRET, transport=down)
    delivery = dispatcher.deliver({"object": "whatsapp_business_account", "entry": []})
    assert delivery.status is None and not delivery.ok
    assert dispatcher.pending() == 1


def test_real_http_delivery_to_a_listening_server():
    """The default transport posts over HTTP; a tiny receiver checks what arrives."""
    received = []

    @Request.application
    def receiver(request):
        received.append((request.get_data(), request.headers.get("X-Hub-Signature-256")))
        return Response("ok")

    server = make_server("127.0.0.1", 0, receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        dispatcher = Dispatcher(f"http://127.0.0.1:{server.server_port}/webhook", APP_SECRET)
        delivery = dispatcher.deliver({"object": "whatsapp_business_account", "entry": []})
    finally:
        server.shutdown()
        server.server_close()
    assert delivery.ok
    [(body, header)] = received
    verify_webhook_signature(body, header, APP_SECRET)


def test_background_thread_delivers_scheduled_webhooks(recorder):
    dispatcher = Dispatcher("http://portal.test/webhook", APP_SECRET, transport=recorder)
    done = threading.Event()
    dispatcher.schedule(0, {"object": "whatsapp_business_account", "entry": []}, on_due=done.set)
    dispatcher.start()
    try:
        assert done.wait(10)
        for _ in range(100):
            if recorder.posts:
                break
            threading.Event().wait(0.05)
    finally:
        dispatcher.stop()
    assert len(recorder.posts) == 1


def test_resend_last_can_duplicate_a_status(meta, box, recorder, subscribed):
    customer_says(box, CARDIO_PHONE, ANA)
    meta.call("POST", f"{CARDIO_PHONE}/messages", meta.token_for(CARDIO), json={
        "messaging_product": "whatsapp", "to": ANA, "type": "text", "text": {"body": "ok"}})
    box.dispatcher.flush()
    box.resend_last()
    assert recorder.posts[-1][1] == recorder.posts[-2][1]
    assert _only_change(recorder.payloads()[-1])["value"]["statuses"][0]["status"] == "read"
