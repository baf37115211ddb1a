"""The sandbox's message templates: Graph's list (paged), create and delete with a part of Meta's
validation, the review control that sends `message_template_status_update` (Meta's webhook
reference shape), and template sends checked like Meta's (132001, 132015, 132000) and shown
rendered on the customer's phone."""
from __future__ import annotations

import pytest

from .conftest import ANA, CARDIO, CARDIO_PHONE, CARDIO_WABA, FLEX, FLEX_WABA, csrf_from, customer_says

GOOD = {"name": "order_update", "language": "en_US", "category": "UTILITY", "components": [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["A-17"]}},
    {"type": "BODY", "text": "Hi {{1}}, order {{2}} shipped.", "example": {"body_text": [["Ana", "A-17"]]}},
    {"type": "FOOTER", "text": "Thanks"}]}


def _create(meta, token, waba=CARDIO_WABA, **changes):
    return meta.call("POST", f"{waba}/message_templates", token, json=dict(GOOD, **changes))


def _send(meta, token, components, name="order_update"):
    return meta.call("POST", f"{CARDIO_PHONE}/messages", token, json={
        "messaging_product": "whatsapp", "to": ANA, "type": "template",
        "template": {"name": name, "language": {"code": "en_US"}, "components": components}})


@pytest.fixture
def sandbox_config(sandbox_config):
    """Templates wait for the review on the sandbox's page (as in the demo), not Meta's automatic one."""
    return dict(sandbox_config, SANDBOX_TEMPLATE_REVIEW="manual")


FILLED = [{"type": "header", "parameters": [{"type": "text", "text": "A-17"}]},
          {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "A-17"}]}]


def test_create_list_pages_and_delete(meta):
    token = meta.token_for(CARDIO)
    created = _create(meta, token)
    assert created.status_code == 200 and created.json["status"] == "PENDING" and created.json["category"] == "UTILITY"
    _create(meta, token, name="second_one")
    names, ids, page = [], {}, meta.call("GET", f"{CARDIO_WABA}/message_templates", token, query_string={"fields": "name,status"})
    while True:  # one per page (SANDBOX_PAGE_SIZE=1): paging.next to the end
        names += [t["name"] for t in page.json["data"]]
        ids.update({t["name"]: t["id"] for t in page.json["data"]})
        if "next" not in page.json["paging"]:
            break
        page = meta.call("GET", page.json["paging"]["next"], token)
    assert names == ["hello_world", "order_update", "second_one"]  # every new WABA has Meta's hello_world
    duplicate = _create(meta, token)
    assert duplicate.status_code == 400 and duplicate.json["error"]["error_subcode"] == 2388024
    deleted = meta.call("DELETE", f"{CARDIO_WABA}/message_templates", token,
                        query_string={"name": "second_one", "hsm_id": ids["second_one"]})
    assert deleted.json == {"success": True}
    assert meta.call("DELETE", f"{CARDIO_WABA}/message_templates", token, query_string={"name": "second_one"}).status_code == 400


def test_metas_rules_and_permissions(meta):
    token = meta.token_for(CARDIO)
    assert "lowercase" in _create(meta, token, name="Bad Name").json["error"]["error_data"]["details"]
    assert _create(meta, token, category="PROMO").status_code == 400
    start = _create(meta, token, components=[{"type": "BODY", "text": "{{1}} shipped", "example": {"body_text": [["a"]]}}])
    assert start.json["error"]["error_subcode"] == 2388299
    # Another business's WABA is refused, as Meta does.
    assert _create(meta, token, waba=FLEX_WABA).json["error"]["code"] == 200
    listing = meta.call("GET", f"{FLEX_WABA}/message_templates", meta.token_for(FLEX), query_string={"limit": 10})
    assert [t["name"] for t in listing.json["data"]] == ["hello_world"]


def test_review_sends_the_status_webhook_and_sends_are_checked(meta, box, sbx, recorder, sandbox_app):
    token = meta.token_for(CARDIO)
    meta.call("POST", f"{CARDIO_WABA}/subscribed_apps", token)
    template_id = _create(meta, token).json["id"]
    assert _send(meta, token, FILLED).json["error"]["code"] == 132001  # still pending
    page = sbx.get("/controls/templates")
    assert "order_update" in page.get_data(as_text=True)
    sbx.post(f"/controls/templates/{template_id}", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                         "event": "APPROVED"})
    [body] = [b for b in recorder.payloads() if b["entry"][0]["changes"][0]["field"] == "message_template_status_update"]
    assert body["entry"][0]["id"] == CARDIO_WABA
    assert body["entry"][0]["changes"][0]["value"] == {
        "event": "APPROVED", "message_template_id": int(template_id), "message_template_name": "order_update",
        "message_template_language": "en_US", "reason": "NONE", "message_template_category": "UTILITY"}
    wrong = _send(meta, token, FILLED[1:] + [{"type": "header", "parameters": []}])
    assert wrong.json["error"]["code"] == 132000
    assert _send(meta, token, FILLED).status_code == 200
    customer_says(box, CARDIO_PHONE, ANA)  # the phone's history
    phone = sbx.get(f"/phone?number={CARDIO_PHONE}&customer={ANA}").get_data(as_text=True)
    assert "Hi Ana, order A-17 shipped." in phone
    response = sbx.post(f"/api/templates/{template_id}/review", json={"event": "PAUSED"})
    assert response.json["delivered"] is True
    assert _send(meta, token, FILLED).json["error"]["code"] == 132015


def test_review_api_rejects_pauses_and_disables_with_metas_webhook_fields(meta, sbx, recorder):
    """Meta's message_template_status_update webhook reference: the category always, the reason
    when rejected, `other_info` when paused, `disable_info` when disabled."""
    token = meta.token_for(CARDIO)
    meta.call("POST", f"{CARDIO_WABA}/subscribed_apps", token)
    template_id = _create(meta, token).json["id"]
    refused = sbx.post(f"/api/templates/{template_id}/review", json={"event": "REJECTED", "reason": "BECAUSE"})
    assert refused.status_code == 400 and "INVALID_FORMAT" in refused.json["error"]
    assert sbx.post("/api/templates/404/review", json={"event": "APPROVED"}).status_code == 400
    assert sbx.post(f"/api/templates/{template_id}/review", json={"event": "ARCHIVED"}).status_code == 400
    for event, reason in (("REJECTED", "SCAM"), ("APPROVED", ""), ("PAUSED", ""), ("DISABLED", "")):
        answer = sbx.post(f"/api/templates/{template_id}/review", json={"event": event, "reason": reason})
        assert answer.json["delivered"] is True and answer.json["template"]["status"] == event
    values = [b["entry"][0]["changes"][0]["value"] for b in recorder.payloads()
              if b["entry"][0]["changes"][0]["field"] == "message_template_status_update"]
    assert [(v["event"], v["reason"], v["message_template_category"]) for v in values] == [
        ("REJECTED", "SCAM", "UTILITY"), ("APPROVED", "NONE", "UTILITY"), ("PAUSED", "NONE", "UTILITY"),
        ("DISABLED", "NONE", "UTILITY")]
    assert set(values[2]["other_info"]) == {"title", "description"} and "disable_info" in values[3]
    listed = meta.call("GET", f"{CARDIO_WABA}/message_templates", token,
                       query_string={"name": "order_update", "fields": "status,quality_score,rejected_reason"})
    [row] = listed.json["data"]
    assert row["status"] == "DISABLED" and row["quality_score"]["score"] == "RED" and row["rejected_reason"] == "NONE"
    assert _send(meta, token, FILLED).json["error"]["code"] == 132016


def test_authentication_and_named_templates(meta, box, sbx):
    """Meta's authentication templates (Meta writes the text; an OTP button) and named parameters
    (`body_text_named_params` samples; sends name each value with `parameter_name`)."""
    token = meta.token_for(CARDIO)
    otp = _create(meta, token, name="login_code", category="AUTHENTICATION", components=[
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]}])
    assert otp.status_code == 200, otp.json
    no_button = _create(meta, token, name="login_two", category="AUTHENTICATION",
                        components=[{"type": "BODY", "add_security_recommendation": True}])
    assert no_button.status_code == 400
    named = _create(meta, token, name="named_one", parameter_format="NAMED", components=[
        {"type": "BODY", "text": "Hi {{first_name}}, your class is on {{day}} at the gym.",
         "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ana"},
                                                {"param_name": "day", "example": "Friday"}]}}])
    assert named.status_code == 200, named.json
    positional_samples = _create(meta, token, name="named_two", parameter_format="NAMED", components=[
        {"type": "BODY", "text": "Hi {{first_name}}, see you.", "example": {"body_text": [["Ana"]]}}])
    assert positional_samples.status_code == 400
    [login] = meta.call("GET", f"{CARDIO_WABA}/message_templates", token,
                        query_string={"name": "login_code", "fields": "components"}).json["data"]
    assert login["components"][0]["text"].startswith("{{1}} is your verification code.")
    for template_id in (otp.json["id"], named.json["id"]):
        sbx.post(f"/api/templates/{template_id}/review", json={"event": "APPROVED"})
    sent = _send(meta, token, [{"type": "body", "parameters": [
        {"type": "text", "parameter_name": "day", "text": "Monday"},
        {"type": "text", "parameter_name": "first_name", "text": "Ana"}]}], name="named_one")
    assert sent.status_code == 200
    customer_says(box, CARDIO_PHONE, ANA)
    phone = sbx.get(f"/phone?number={CARDIO_PHONE}&customer={ANA}").get_data(as_text=True)
    assert "Hi Ana, your class is on Monday at the gym." in phone
