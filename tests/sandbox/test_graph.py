"""Graph objects and the Cloud API: Meta's shapes, paging, permissions, appsecret_proof, the window."""
from __future__ import annotations

import base64
import hashlib

import pytest

from .conftest import (ACME, ACME_UNREGISTERED, ACME_WABAS, ANA, BRUNO, CARDIO, CARDIO_PHONE, CARDIO_WABA, FLEX,
                       FLEX_PHONES, FLEX_WABA, customer_says)


def _error(response, status: int | None = None) -> dict:
    assert response.status_code >= 400 and response.status_code != 500, response.json
    if status is not None:
        assert response.status_code == status
    return response.json["error"]


def _send(meta, token, phone_id, to=ANA, **message):
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
            "text": {"body": "Hello from the business", "preview_url": False}}
    body.update(message)
    return meta.call("POST", f"{phone_id}/messages", token, json=body)


# --- tokens and appsecret_proof -------------------------------------------------

def test_me_answers_who_authorised(meta):
    token = meta.token_for(CARDIO)
    assert meta.call("GET", "me", token).json == {"id": "5100000000000001", "name": "Marta Salinas"}


def test_access_token_query_parameter_works_too(meta):
    token = meta.token_for(CARDIO)
    assert meta.call("GET", "me", None, query_string={"access_token": token}).status_code == 200


def test_wrong_appsecret_proof_is_refused(meta):
    token = meta.token_for(CARDIO)
    response = meta.call("GET", "me", token, with_proof=False, query_string={"appsecret_proof": "0" * 64})
    error = _error(response)
    assert (error["code"], error["type"]) == (100, "GraphMethodException")
    assert "appsecret_proof" in error["message"]


def test_proof_of_another_token_is_refused(meta):
    cardio, flex = meta.token_for(CARDIO), meta.token_for(FLEX)
    from .conftest import proof
    response = meta.call("GET", "me", cardio, with_proof=False, query_string={"appsecret_proof": proof(flex)})
    assert _error(response)["code"] == 100


def test_missing_and_garbage_tokens(meta):
    assert _error(meta.call("GET", "me", None), status=401)["code"] == 104
    response = meta.call("GET", "me", "EAAgarbage")
    assert response.status_code == 401
    assert response.json["error"]["code"] == 190


def test_expired_and_revoked_tokens_answer_190(meta, box):
    cardio, flex = meta.token_for(CARDIO), meta.token_for(FLEX)
    box.world.expire_tokens(CARDIO)
    box.world.revoke_tokens(FLEX)
    expired, revoked = _error(meta.call("GET", "me", cardio)), _error(meta.call("GET", "me", flex))
    assert (expired["code"], expired["error_subcode"]) == (190, 463)
    assert (revoked["code"], revoked["error_subcode"]) == (190, 458)
    assert meta.token_for(CARDIO) != cardio  # reconnecting gives a fresh, working token
    assert meta.call("GET", "me", meta.token_for(CARDIO)).status_code == 200


# --- businesses, accounts and numbers ----------------------------------------------

def _all_pages(meta, token, path) -> list[dict]:
    items, response = [], meta.call("GET", path, token)
    while True:
        assert response.status_code == 200, response.json
        items += response.json["data"]
        next_url = response.json.get("paging", {}).get("next")
        if not next_url:
            return items
        assert "access_token" not in next_url
        response = meta.call("GET", next_url, token)


def test_businesses_and_owned_accounts(meta):
    token = meta.token_for(ACME)
    businesses = meta.call("GET", "me/businesses", token).json["data"]
    assert businesses == [{"id": ACME, "name": "Acme Support"}]
    wabas = _all_pages(meta, token, f"{ACME}/owned_whatsapp_business_accounts")
    assert [w["id"] for w in wabas] == list(ACME_WABAS)
    # Meta's default field set for a WABA (no `fields`): no currency unless asked for.
    assert set(wabas[0]) == {"id", "name", "timezone_id", "message_template_namespace"}
    asked = meta.call("GET", f"{ACME}/owned_whatsapp_business_accounts", token, query_string={"fields": "currency"})
    assert asked.json["data"] == [{"id": ACME_WABAS[0], "currency": "USD"}]


def test_phone_numbers_page_by_page(meta):
    token = meta.token_for(FLEX)
    first = meta.call("GET", f"{FLEX_WABA}/phone_numbers", token).json
    assert len(first["data"]) == 1
    assert "next" in first["paging"]
    numbers = _all_pages(meta, token, f"{FLEX_WABA}/phone_numbers")
    assert [n["id"] for n in numbers] == list(FLEX_PHONES)
    # Meta's default set for a listed number (`status` is required by its schema; name_status only when asked).
    assert set(numbers[0]) == {"id", "display_phone_number", "verified_name", "quality_rating", "status",
                               "code_verification_status", "platform_type", "throughput"}


def test_fields_select_what_comes_back(meta):
    token = meta.token_for(FLEX)
    waba = meta.call("GET", FLEX_WABA, token, query_string={"fields": "name,currency"}).json
    assert waba == {"id": FLEX_WABA, "name": "Flex 60", "currency": "USD"}
    numbers = meta.call("GET", f"{FLEX_WABA}/phone_numbers", token,
                        query_string={"fields": "display_phone_number", "limit": 5}).json["data"]
    assert numbers == [{"id": FLEX_PHONES[0], "display_phone_number": "+1 555-010-2001"},
                       {"id": FLEX_PHONES[1], "display_phone_number": "+1 555-010-2002"}]


def test_bad_paging_cursor_is_a_400(meta):
    response = meta.call("GET", f"{FLEX_WABA}/phone_numbers", meta.token_for(FLEX), query_string={"after": "!!"})
    assert _error(response)["code"] == 100


@pytest.mark.parametrize("method, path", [
    ("GET", CARDIO_WABA),
    ("GET", f"{CARDIO_WABA}/phone_numbers"),
    ("POST", f"{CARDIO_WABA}/subscribed_apps"),
    ("DELETE", f"{CARDIO_WABA}/subscribed_apps"),
    ("GET", f"{CARDIO}/owned_whatsapp_business_accounts"),
])
def test_another_business_objects_answer_the_permission_error(meta, method, path):
    error = _error(meta.call(method, path, meta.token_for(FLEX)))
    assert (error["code"], error["message"]) == (200, "(#200) Permissions error")


def test_sending_from_another_business_number_is_refused(meta, box):
    customer_says(box, CARDIO_PHONE, ANA)
    error = _error(_send(meta, meta.token_for(FLEX), CARDIO_PHONE))
    assert error["code"] == 10
    assert not [m for m in box.world.conversation(CARDIO_PHONE, ANA) if not m["inbound"]]


def test_unknown_objects_and_paths(meta):
    token = meta.token_for(FLEX)
    error = _error(meta.call("GET", "9999999999", token))
    assert (error["code"], error["error_subcode"]) == (100, 33)
    assert _error(meta.call("GET", "9999/some_edge", token))["code"] == 2500


def test_subscribed_apps_post_get_delete(meta, box):
    token = meta.token_for(FLEX)
    assert meta.call("GET", f"{FLEX_WABA}/subscribed_apps", token).json == {"data": []}
    assert meta.call("POST", f"{FLEX_WABA}/subscribed_apps", token).json == {"success": True}
    listed = meta.call("GET", f"{FLEX_WABA}/subscribed_apps", token).json["data"]
    assert listed[0]["whatsapp_business_api_data"]["id"] == box.app_id
    assert meta.call("DELETE", f"{FLEX_WABA}/subscribed_apps", token).json == {"success": True}
    assert meta.call("GET", f"{FLEX_WABA}/subscribed_apps", token).json == {"data": []}


def test_register_moves_a_number_to_the_cloud_api(meta, box):
    token = meta.token_for(ACME)
    customer_says(box, ACME_UNREGISTERED, ANA)
    assert _error(_send(meta, token, ACME_UNREGISTERED))["code"] == 133010
    bad = meta.call("POST", f"{ACME_UNREGISTERED}/register", token, json={"messaging_product": "whatsapp", "pin": "12"})
    assert _error(bad)["code"] == 100
    good = meta.call("POST", f"{ACME_UNREGISTERED}/register", token,
                     json={"messaging_product": "whatsapp", "pin": "123456"})
    assert good.json == {"success": True}
    fields = {"fields": "platform_type,host_platform,status"}
    assert meta.call("GET", ACME_UNREGISTERED, token, query_string=fields).json == {
        "id": ACME_UNREGISTERED, "platform_type": "CLOUD_API", "host_platform": "CLOUD_API", "status": "LINKED"}
    assert _send(meta, token, ACME_UNREGISTERED).status_code == 200


# --- sending ---------------------------------------------------------------------------

def test_send_outside_the_window_is_131047(meta, box):
    response = _send(meta, meta.token_for(CARDIO), CARDIO_PHONE)
    error = _error(response)
    assert error["code"] == 131047
    assert "24 hours" in error["error_data"]["details"]


def test_window_closes_24_hours_after_the_customer_wrote(meta, box, clock):
    token = meta.token_for(CARDIO, scope=None, config_id="555")  # a business token: it outlives the day
    customer_says(box, CARDIO_PHONE, ANA)
    clock.advance(23 * 3600)
    assert _send(meta, token, CARDIO_PHONE).status_code == 200
    clock.advance(3600)
    assert _error(_send(meta, token, CARDIO_PHONE))["code"] == 131047
    assert _error(_send(meta, token, CARDIO_PHONE, to=BRUNO))["code"] == 131047  # per customer


def test_template_may_be_sent_outside_the_window(meta):
    response = _send(meta, meta.token_for(CARDIO), CARDIO_PHONE, type="template",
                     template={"name": "hello_world", "language": {"code": "en_US"}})
    assert response.status_code == 200
    assert response.json["messages"][0]["message_status"] == "accepted"


def test_send_returns_meta_shape(meta, box):
    said, _ = customer_says(box, CARDIO_PHONE, ANA)
    response = _send(meta, meta.token_for(CARDIO), CARDIO_PHONE, to="+1 555 123 0001",
                     context={"message_id": said["id"]})
    assert response.status_code == 200
    body = response.json
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+1 555 123 0001", "wa_id": ANA}]
    assert body["messages"][0]["id"].startswith("wamid.")


@pytest.mark.parametrize("change, code", [
    ({"messaging_product": None}, 100),
    ({"to": ""}, 100),
    ({"type": "hologram"}, 100),
    ({"text": {"body": ""}}, 100),
    ({"text": {"body": "x" * 4097}}, 100),
    ({"text": "not an object"}, 100),
])
def test_bad_sends_are_refused_with_100(meta, box, change, code):
    customer_says(box, CARDIO_PHONE, ANA)
    assert _error(_send(meta, meta.token_for(CARDIO), CARDIO_PHONE, **change))["code"] == code


def test_mark_as_read(meta, box):
    message, _ = customer_says(box, CARDIO_PHONE, ANA)
    token = meta.token_for(CARDIO)
    read = meta.call("POST", f"{CARDIO_PHONE}/messages", token,
                     json={"messaging_product": "whatsapp", "status": "read", "message_id": message["id"]})
    assert read.json == {"success": True}
    unknown = meta.call("POST", f"{CARDIO_PHONE}/messages", token,
                        json={"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"})
    assert _error(unknown)["code"] == 100


def test_send_needs_the_messaging_scope(meta, box):
    customer_says(box, CARDIO_PHONE, ANA)
    token = meta.token_for(CARDIO, scope="whatsapp_business_management")
    assert _error(_send(meta, token, CARDIO_PHONE))["code"] == 10


# --- media -------------------------------------------------------------------------------

def test_media_url_and_download_need_the_owning_business_token(meta, box):
    message, _ = box.customer_writes(CARDIO_PHONE, ANA, "image", caption="my knee")
    media_id = message["image"]["id"]
    token = meta.token_for(CARDIO)
    info = meta.call("GET", media_id, token).json
    assert set(info) == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
    assert info["mime_type"] == "image/png" and info["id"] == media_id
    download = meta.call("GET", info["url"], token)
    assert download.status_code == 200
    assert download.data.startswith(b"\x89PNG")
    assert str(len(download.data)) == info["file_size"]  # a string, as in Meta's retrieveMediaUrl example
    assert base64.b64encode(hashlib.sha256(download.data).digest()).decode() == info["sha256"]
    assert message["image"]["sha256"] == info["sha256"]

    other = meta.token_for(FLEX)
    assert _error(meta.call("GET", media_id, other))["code"] == 10
    assert _error(meta.call("GET", info["url"], other))["code"] == 10
    assert _error(meta.call("GET", info["url"], None), status=401)["code"] == 104
