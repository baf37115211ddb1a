"""The sandbox's media upload and delete, URL and id expiry, message templates, business profile,
and both webhook shapes (Meta's media, templates, business-scoped user ids and reaction references)."""
from __future__ import annotations

import io
import json

import pytest

from portal.sandbox import create_app

from .conftest import ANA, CARDIO, CARDIO_PHONE, CARDIO_WABA, FLEX, customer_says

HIDDEN = "15551230005"


def _error(response, status=None):
    assert 400 <= response.status_code < 500, response.get_json()
    if status is not None:
        assert response.status_code == status
    return response.json["error"]


def _upload(meta, token, data: bytes, mime: str, phone=CARDIO_PHONE):
    return meta.call("POST", f"{phone}/media", token, content_type="multipart/form-data", data={
        "messaging_product": "whatsapp", "type": mime, "file": (io.BytesIO(data), "f", mime)})


# --- media ------------------------------------------------------------------------------

def test_upload_then_send_then_delete(meta, box):
    token = meta.token_for(CARDIO)
    uploaded = _upload(meta, token, b"%PDF-1.4 report", "application/pdf")
    assert uploaded.status_code == 200
    media_id = uploaded.json["id"]
    info = meta.call("GET", media_id, token).json
    assert info["mime_type"] == "application/pdf" and info["file_size"] == str(len(b"%PDF-1.4 report"))
    customer_says(box, CARDIO_PHONE, ANA)
    sent = meta.call("POST", f"{CARDIO_PHONE}/messages", token, json={
        "messaging_product": "whatsapp", "to": ANA, "type": "document", "document": {"id": media_id}})
    assert sent.status_code == 200
    assert meta.call("DELETE", media_id, token).json == {"success": True}
    assert _error(meta.call("GET", media_id, token))["code"] == 100
    # Another business cannot use it, nor upload to a number it does not own.
    assert _error(_upload(meta, meta.token_for(FLEX), b"x", "text/plain"))["code"] == 10


@pytest.mark.parametrize("data, mime, code", [
    (b"x" * (5 * 1024 * 1024 + 1), "image/png", 131053),  # images: 5 MB
    (b"RIFF....WEBPVP8 " + b"x" * (100 * 1024), "image/webp", 131053),  # static stickers: 100 KB
    (b"MZ\x90\x00", "application/x-msdownload", 100),  # a type Meta does not take
    (b"", "image/png", 131053),
])
def test_uploads_meta_refuses(meta, data, mime, code):
    assert _error(_upload(meta, meta.token_for(CARDIO), data, mime))["code"] == code


def test_media_urls_expire_in_minutes_and_ids_in_30_days(meta, box, clock):
    token = meta.token_for(CARDIO, scope=None, config_id="555")  # a business token: it outlives the month
    media_id = _upload(meta, token, b"\x89PNG fake", "image/png").json["id"]
    url = meta.call("GET", media_id, token).json["url"]
    assert meta.call("GET", url, token).status_code == 200
    clock.advance(5 * 60)
    assert _error(meta.call("GET", url, token), status=404)["code"] == 100
    assert meta.call("GET", meta.call("GET", media_id, token).json["url"], token).status_code == 200  # a new one
    clock.advance(30 * 86400)
    assert _error(meta.call("GET", media_id, token))["code"] == 100


# --- templates ------------------------------------------------------------------------------

ORDER_READY = {"name": "order_ready", "language": "en_US", "category": "UTILITY", "components": [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["42"]}},
    {"type": "BODY", "text": "Hi {{1}}, order {{2}} is ready.", "example": {"body_text": [["Ana", "42"]]}},
    {"type": "FOOTER", "text": "Cardio Plus"},
    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"}]},
]}


def test_template_is_reviewed_then_sendable(meta, box, recorder):
    box.world.subscribe(CARDIO_WABA, box.app_id, on=True)
    token = meta.token_for(CARDIO)
    created = meta.call("POST", f"{CARDIO_WABA}/message_templates", token, json=ORDER_READY)
    assert created.status_code == 200 and created.json["status"] == "PENDING"
    send = {"messaging_product": "whatsapp", "to": ANA, "type": "template", "template": {
        "name": "order_ready", "language": {"code": "en_US"}, "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "42"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "42"}]}]}}
    assert _error(meta.call("POST", f"{CARDIO_PHONE}/messages", token, json=send))["code"] == 132001
    box.dispatcher.flush()
    [review] = [p for p in recorder.payloads() if p["entry"][0]["changes"][0]["field"] != "messages"]
    assert review["entry"][0]["changes"][0] == {"field": "message_template_status_update", "value": {
        "event": "APPROVED", "message_template_id": int(created.json["id"]), "message_template_name": "order_ready",
        "message_template_language": "en_US", "reason": "NONE", "message_template_category": "UTILITY"}}
    assert meta.call("POST", f"{CARDIO_PHONE}/messages", token, json=send).status_code == 200
    listed = meta.call("GET", f"{CARDIO_WABA}/message_templates", token,
                       query_string={"name": "order_ready", "fields": "name,status,language"}).json["data"]
    assert listed == [{"name": "order_ready", "status": "APPROVED", "language": "en_US", "id": created.json["id"]}]
    assert _error(meta.call("POST", f"{CARDIO_WABA}/message_templates", token, json=ORDER_READY))["code"] == 100
    assert meta.call("DELETE", f"{CARDIO_WABA}/message_templates", token,
                     query_string={"name": "order_ready"}).json == {"success": True}
    assert _error(meta.call("POST", f"{CARDIO_PHONE}/messages", token, json=send))["code"] == 132001


@pytest.mark.parametrize("change", [
    {"name": "Order Ready"}, {"name": "order-ready"}, {"language": "klingon"}, {"category": "PROMO"},
    {"components": []},
    {"components": [{"type": "FOOTER", "text": "x"}]},  # no BODY
    {"components": [{"type": "BODY", "text": "Hi {{1}}"}]},  # a variable without an example
    {"components": [{"type": "BODY", "text": "Hi"}, {"type": "HEADER", "format": "GIF"}]},
    {"components": [{"type": "BODY", "text": "Hi"}, {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Go"}]}]},
])
def test_templates_meta_refuses(meta, change):
    body = ORDER_READY | change
    assert _error(meta.call("POST", f"{CARDIO_WABA}/message_templates", meta.token_for(CARDIO), json=body))["code"] == 100


def test_templates_of_another_business_are_out_of_reach(meta):
    assert _error(meta.call("GET", f"{CARDIO_WABA}/message_templates", meta.token_for(FLEX)))["code"] == 200


# --- business profile ---------------------------------------------------------------------------

def test_business_profile_read_and_update(meta):
    token = meta.token_for(CARDIO)
    path = f"{CARDIO_PHONE}/whatsapp_business_profile"
    assert meta.call("POST", path, token, json={"messaging_product": "whatsapp", "about": "Heart care",
                                                "vertical": "HEALTH"}).json == {"success": True}
    answer = meta.call("GET", path, token, query_string={"fields": "about,vertical"}).json
    assert answer == {"data": [{"about": "Heart care", "vertical": "HEALTH"}]}
    assert _error(meta.call("POST", path, token, json={"messaging_product": "whatsapp", "vertical": "SPACE"}))["code"] == 100
    assert _error(meta.call("GET", path, token, query_string={"fields": "mood"}))["code"] == 100


# --- webhook shapes -----------------------------------------------------------------------------

def test_hidden_number_customer_has_only_a_bsuid(box, recorder):
    box.world.subscribe(CARDIO_WABA, box.app_id, on=True)
    box.customer_writes(CARDIO_PHONE, HIDDEN, "text", text="Hi")
    value = recorder.payloads()[0]["entry"][0]["changes"][0]["value"]
    bsuid = box.world.customer(CARDIO_PHONE, HIDDEN).user_id
    assert value["contacts"] == [{"profile": {"name": "Elena Quispe", "username": "elena.q"}, "user_id": bsuid}]
    assert "from" not in value["messages"][0] and value["messages"][0]["from_user_id"] == bsuid


def test_statuses_name_the_recipient_and_a_reaction_gets_only_sent(meta, box, recorder):
    box.world.subscribe(CARDIO_WABA, box.app_id, on=True)
    token = meta.token_for(CARDIO)
    said, _ = customer_says(box, CARDIO_PHONE, ANA)
    meta.call("POST", f"{CARDIO_PHONE}/messages", token, json={
        "messaging_product": "whatsapp", "to": ANA, "type": "reaction",
        "reaction": {"message_id": said["id"], "emoji": "👍"}})
    meta.call("POST", f"{CARDIO_PHONE}/messages", token, json={
        "messaging_product": "whatsapp", "to": ANA, "text": {"body": "Hi"}})
    recorder.posts.clear()
    box.dispatcher.flush()
    statuses = [p["entry"][0]["changes"][0]["value"] for p in recorder.payloads()]
    assert [v["statuses"][0]["status"] for v in statuses] == ["sent", "sent", "delivered", "read"]
    bsuid = box.world.customer(CARDIO_PHONE, ANA).user_id
    assert statuses[0]["contacts"] == [{"wa_id": ANA, "user_id": bsuid}]  # no profile on `sent`
    assert statuses[0]["statuses"][0]["recipient_user_id"] == bsuid
    assert statuses[3]["contacts"][0]["profile"] == {"name": "Ana Rojas"}


def test_reaction_removal_omits_emoji(box, recorder):
    box.world.subscribe(CARDIO_WABA, box.app_id, on=True)
    customer_says(box, CARDIO_PHONE, ANA)
    message, _ = box.customer_writes(CARDIO_PHONE, ANA, "reaction", emoji="")
    assert "emoji" not in message["reaction"] and message["reaction"]["message_id"]


def test_legacy_shape_is_wa_id_only(sandbox_config, clock, recorder):
    app = create_app(sandbox_config | {"SANDBOX_WEBHOOK_SHAPE": "legacy"})
    legacy = app.extensions["sandbox"]
    legacy.world.clock = clock
    legacy.world.subscribe(CARDIO_WABA, legacy.app_id, on=True)
    message, _ = legacy.customer_writes(CARDIO_PHONE, HIDDEN, "text", text="Hi")
    value = json.loads(recorder.posts[-1][1])["entry"][0]["changes"][0]["value"]
    assert value["contacts"] == [{"profile": {"name": "Elena Quispe"}, "wa_id": HIDDEN}]
    assert value["messages"][0]["from"] == HIDDEN and "from_user_id" not in value["messages"][0]
    legacy.after_send(legacy.world.phones[CARDIO_PHONE], legacy.world.customer(CARDIO_PHONE, HIDDEN), "wamid.X")
    legacy.dispatcher.flush()
    status_value = json.loads(recorder.posts[-1][1])["entry"][0]["changes"][0]["value"]
    assert "contacts" not in status_value
    assert status_value["statuses"][0]["recipient_id"] == HIDDEN
    assert "recipient_user_id" not in status_value["statuses"][0]
