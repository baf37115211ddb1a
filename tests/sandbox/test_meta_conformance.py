"""The sandbox checked against Meta's own description of the API (its OpenAPI document,
facebook/openapi business-messaging-api_v23.0.yaml, in portal/sandbox/meta_openapi/):
Meta's request examples are accepted, a set of invalid requests is refused with
Meta's codes, and Graph's rules on fields, tokens and versions hold."""
from __future__ import annotations

import copy

import pytest

from portal.sandbox import openapi
from portal.sandbox.media import sample_png

from .conftest import ANA, BRUNO, CARDIO, CARDIO_PHONE, CARDIO_WABA, FLEX, customer_says


def _error(response, status: int | None = None) -> dict:
    assert 400 <= response.status_code < 500, response.get_json()
    if status is not None:
        assert response.status_code == status
    return response.json["error"]


def _upload(meta, token, phone=CARDIO_PHONE, data=None, mime="image/png"):
    import io

    return meta.call("POST", f"{phone}/media", token, data={
        "messaging_product": "whatsapp", "type": mime, "file": (io.BytesIO(data or sample_png()), "x.png", mime)},
        content_type="multipart/form-data")


def _placeholders(node, wamid: str, media_id: str):
    """Meta's example placeholders replaced by this world's: a customer, a message, an uploaded media id."""
    if isinstance(node, list):
        return [_placeholders(item, wamid, media_id) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("to",):
            out[key] = ANA
        elif key == "message_id":
            out[key] = wamid
        elif key == "id" and isinstance(value, str) and value.startswith("<"):
            out[key] = media_id
        else:
            out[key] = _placeholders(value, wamid, media_id)
    return out


def _template_for(box, example: dict) -> None:
    """The approved template an example sends: one placeholder per parameter it gives."""
    template = example["template"]
    components = []
    for part in template.get("components") or []:
        kind = part["type"].upper()
        if kind not in ("HEADER", "BODY"):
            continue
        params = part.get("parameters") or []
        if kind == "HEADER" and params and params[0].get("type") != "text":
            components.append({"type": "HEADER", "format": params[0]["type"].upper()})
        else:
            components.append({"type": kind, "text": " ".join(f"{{{{{i + 1}}}}}" for i in range(len(params))) or "x"})
    if not any(c["type"] == "BODY" for c in components):
        components.append({"type": "BODY", "text": "Hello"})
    box.world.add_template(CARDIO_WABA, template["name"], template["language"]["code"], "UTILITY", components)


SEND_EXAMPLES = {name: body for name, body in openapi.request_examples(openapi.SEND, "POST").items()
                 if name not in openapi.BROKEN_EXAMPLES}


def test_the_document_has_the_examples_replayed():
    assert len(SEND_EXAMPLES) >= 45
    assert set(openapi.BROKEN_EXAMPLES) <= set(openapi.request_examples(openapi.SEND, "POST"))


@pytest.mark.parametrize("name", sorted(SEND_EXAMPLES))
def test_meta_send_examples_are_accepted(meta, box, name):
    """Each of Meta's `sendMessage` request examples (the OpenAPI document), placeholders filled in."""
    token = meta.token_for(CARDIO)
    said, _ = customer_says(box, CARDIO_PHONE, ANA)
    media_id = _upload(meta, token).json["id"]
    body = _placeholders(copy.deepcopy(SEND_EXAMPLES[name]), said["id"], media_id)
    if body.get("type") == "template":
        _template_for(box, body)
    response = meta.call("POST", f"{CARDIO_PHONE}/messages", token, json=body)
    assert response.status_code == 200, response.json
    if body.get("status") == "read":
        assert response.json == {"success": True}
    else:
        assert response.json["messages"][0]["id"].startswith("wamid.")


@pytest.mark.parametrize("path", [openapi.REGISTER, openapi.PROFILE])
def test_other_meta_examples_are_accepted(meta, box, path):
    token = meta.token_for(CARDIO)
    for name, body in openapi.request_examples(path, "POST").items():
        if path == openapi.PROFILE:
            body = {k: v for k, v in body.items() if k != "profile_picture_handle"}
        response = meta.call("POST", path.replace("/{Version}/{Phone-Number-ID}", CARDIO_PHONE), token, json=body)
        assert response.status_code == 200 and response.json == {"success": True}, (name, response.json)


def _approved(box, name, body_text, status="APPROVED"):
    return box.world.add_template(CARDIO_WABA, name, "en_US", "UTILITY", [{"type": "BODY", "text": body_text}],
                                  status=status)


INVALID_SENDS = [
    ("template without language", {"type": "template", "template": {"name": "hello_world"}}, 100),
    ("unknown template", {"type": "template", "template": {"name": "nope", "language": {"code": "en_US"}}}, 132001),
    ("template in another language", {"type": "template",
                                      "template": {"name": "hello_world", "language": {"code": "es"}}}, 132001),
    ("template parameters missing", {"type": "template",
                                     "template": {"name": "order_ready", "language": {"code": "en_US"}}}, 132000),
    ("paused template", {"type": "template", "template": {"name": "paused_one", "language": {"code": "en_US"}}},
     132015),
    ("disabled template", {"type": "template",
                           "template": {"name": "disabled_one", "language": {"code": "en_US"}}}, 132016),
    ("media with neither id nor link", {"type": "image", "image": {"caption": "x"}}, 100),
    ("unknown media id", {"type": "image", "image": {"id": "7199999999999999"}}, 100),
    ("empty interactive", {"type": "interactive", "interactive": {}}, 100),
    ("group recipient for a phone", {"recipient_type": "group", "text": {"body": "hi"}}, 100),
    ("reaction to an unknown message", {"type": "reaction",
                                        "reaction": {"message_id": "wamid.unknown", "emoji": "👍"}}, 100),
    ("reply to an unknown message", {"text": {"body": "hi"}, "context": {"message_id": "wamid.unknown"}}, 100),
    ("a BSUID in to", {"to": "US.13491208655302741918", "text": {"body": "hi"}}, 100),
    ("unknown BSUID recipient", {"to": None, "recipient": "US.00000000000000000001", "text": {"body": "hi"}}, 100),
    ("contacts not an array", {"type": "contacts", "contacts": {"name": {"formatted_name": "X"}}}, 100),
]


@pytest.mark.parametrize("label, change, code", INVALID_SENDS, ids=[c[0] for c in INVALID_SENDS])
def test_sends_meta_refuses_are_refused_with_its_codes(meta, box, label, change, code):
    token = meta.token_for(CARDIO)
    customer_says(box, CARDIO_PHONE, ANA)
    _approved(box, "order_ready", "Order {{1}} is ready")
    _approved(box, "paused_one", "Hi", status="PAUSED")
    _approved(box, "disabled_one", "Hi", status="DISABLED")
    body = {"messaging_product": "whatsapp", "to": ANA, "type": "text"} | change
    body = {k: v for k, v in body.items() if v is not None}
    assert _error(meta.call("POST", f"{CARDIO_PHONE}/messages", token, json=body))["code"] == code


def test_contact_cards_and_bsuid_recipients_are_accepted(meta, box):
    token = meta.token_for(CARDIO)
    customer_says(box, CARDIO_PHONE, BRUNO)
    bsuid = box.world.customer(CARDIO_PHONE, BRUNO).user_id
    card = {"name": {"formatted_name": "Ana Rojas", "first_name": "Ana"}, "phones": [{"phone": "+1 555 123 0001"}]}
    sent = meta.call("POST", f"{CARDIO_PHONE}/messages", token, json={
        "messaging_product": "whatsapp", "recipient": bsuid, "type": "contacts", "contacts": [card]})
    assert sent.status_code == 200, sent.json
    assert sent.json["contacts"] == [{"input": bsuid, "user_id": bsuid, "wa_id": BRUNO}]


# --- Graph's rules -------------------------------------------------------------------------

def test_unknown_fields_are_refused_as_meta_does(meta):
    token = meta.token_for(FLEX)
    error = _error(meta.call("GET", CARDIO_PHONE, meta.token_for(CARDIO), query_string={"fields": "id,colour"}))
    assert error["code"] == 100
    assert error["message"] == "(#100) Tried accessing nonexisting field (colour) on node type (WhatsAppBusinessPhoneNumber)"
    listed = meta.call("GET", "3100000000000002/phone_numbers", token, query_string={"fields": "platform"})
    assert _error(listed)["code"] == 100


def test_default_field_sets_are_meta_s(meta):
    token = meta.token_for(CARDIO)
    assert set(meta.call("GET", CARDIO_PHONE, token).json) == {"id", "display_phone_number", "verified_name",
                                                                "quality_rating"}
    assert set(meta.call("GET", "me", token).json) == {"id", "name"}


def test_unknown_versions_are_refused(meta):
    token = meta.token_for(CARDIO)
    response = meta.client.get("/v99.0/me", headers={"Authorization": f"Bearer {token}"})
    assert _error(response)["code"] == 2500
    assert meta.client.get("/v26.0/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_missing_token_is_401_104(meta):
    error = _error(meta.call("GET", CARDIO_PHONE, None), status=401)
    assert error["code"] == 104 and error["type"] == "OAuthException"


def test_client_credentials_app_token(meta):
    from .conftest import APP_ID, APP_SECRET

    answer = meta.client.get("/v25.0/oauth/access_token", query_string={
        "grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET})
    assert answer.status_code == 200 and answer.json["token_type"] == "bearer"
    app_token = answer.json["access_token"]
    assert app_token.startswith(APP_ID + "|")
    user_token = meta.token_for(CARDIO)
    info = meta.client.get("/v25.0/debug_token", query_string={"input_token": user_token, "access_token": app_token})
    assert info.status_code == 200 and info.json["data"]["is_valid"] is True
    # An app token cannot act as a user.
    assert _error(meta.call("GET", "me", app_token, with_proof=False))["code"] == 2500
    wrong = meta.client.get("/v25.0/oauth/access_token", query_string={
        "grant_type": "client_credentials", "client_id": APP_ID, "client_secret": "nope"})
    assert _error(wrong)["code"] == 1


def test_an_unknown_quality_rating_still_conforms(meta, box):
    """Meta's own phone_numbers example carries UNKNOWN (an erratum the sandbox mends)."""
    box.change_quality(CARDIO_PHONE, "UNKNOWN")
    token = meta.token_for(CARDIO)
    assert meta.call("GET", CARDIO_PHONE, token).json["quality_rating"] == "UNKNOWN"
    assert meta.call("GET", f"{CARDIO_WABA}/phone_numbers", token).json["data"][0]["quality_rating"] == "UNKNOWN"
