"""The sandbox's message templates: Graph's list (paged), create and delete with a part of Meta's
validation, the review control that sends `message_template_status_update` (Meta's webhook
reference shape), and template sends checked like Meta's (132001, 132015, 132000) and shown
rendered on the customer's phone."""
from __future__ import annotations

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
