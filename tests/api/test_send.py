"""POST /api/v1/messages: text in the window, a template to a new customer in one call, media, the
window and template errors, and Idempotency-Key (also under two concurrent identical POSTs).

Graph requests and answers as Meta documents them (Cloud API "Messages" reference: text, template
with body parameters, media by link; error 131047 re-engagement, 132001 template does not exist)."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import responses
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Contact, Conversation, IdempotentRequest, Message, utcnow
from tests.api.conftest import GRAPH, graph_sent


def _all(model):
    return db.session.execute(select(model).execution_options(all_products=True)).scalars().all()


def _count(model):
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@responses.activate
def test_text_inside_the_window_is_sent_with_the_products_token(client, api_tenants):
    a, b = api_tenants
    graph_sent(a, "wamid.TEXT1")
    answer = client.post("/api/v1/messages", headers=a.headers, json={"to": f"+{a.contact.wa_id}", "text": "Your booking is confirmed"})
    assert answer.status_code == 202, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["status"] == "sent" and set(body) == {"id", "status"}
    [call] = responses.calls
    assert call.request.headers["Authorization"] == f"Bearer {a.account.access_token}"
    assert json.loads(call.request.body) == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": a.contact.wa_id,
        "type": "text", "text": {"body": "Your booking is confirmed", "preview_url": False}}
    got = client.get(f"/api/v1/messages/{body['id']}", headers=a.headers).get_json()
    assert (got["wamid"], got["status"], got["direction"], got["conversation_id"]) == (
        "wamid.TEXT1", "sent", "out", str(a.conversation.id))


@responses.activate
def test_a_template_to_a_new_customer_is_one_call(client, api_tenants):
    a, _ = api_tenants
    graph_sent(a, "wamid.TPL1")
    answer = client.post("/api/v1/messages", headers={**a.headers, "Idempotency-Key": "booking-42"}, json={
        "to": "+591 7123 4567", "template": {"name": "booking_confirmed", "language": "es",
                                             "parameters": ["Ana", "martes 10:00"]}})
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert answer.get_json()["status"] == "sent"
    assert json.loads(responses.calls[0].request.body) == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "59171234567", "type": "template",
        "template": {"name": "booking_confirmed", "language": {"code": "es"},
                     "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"},
                                                                     {"type": "text", "text": "martes 10:00"}]}]}}
    contact = db.session.execute(select(Contact).where(Contact.wa_id == "59171234567")).scalar_one()
    assert contact.product_id == a.product.id
    conversation = db.session.execute(select(Conversation).where(Conversation.contact_id == contact.id)).scalar_one()
    assert conversation.phone_number_id == a.account.phone_number_id
    message = db.session.get(Message, uuid.UUID(answer.get_json()["id"]))
    assert (message.type, message.conversation_id, message.wamid) == ("template", conversation.id, "wamid.TPL1")


@responses.activate
def test_text_to_a_customer_outside_the_window_is_refused_before_anything_is_stored(client, api_tenants):
    a, _ = api_tenants
    before = (_count(Message), _count(Contact), _count(Conversation))
    new = client.post("/api/v1/messages", headers=a.headers, json={"to": "59170000999", "text": "hi"})
    assert new.status_code == 422
    error = new.get_json()["error"]
    assert error["code"] == "window_closed" and "24-hour" in error["message"] and "template" in error["message"]
    a.conversation.last_inbound_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    old = client.post("/api/v1/messages", headers=a.headers, json={"to": str(a.contact.id), "media": {
        "type": "image", "link": "https://cdn.example.com/x.png"}})
    assert old.status_code == 422 and old.get_json()["error"]["code"] == "window_closed"
    assert (_count(Message), _count(Contact), _count(Conversation)) == before
    assert len(responses.calls) == 0


@responses.activate
def test_media_by_link_and_by_id(client, api_tenants):
    a, _ = api_tenants
    graph_sent(a, "wamid.M1")
    graph_sent(a, "wamid.M2")
    first = client.post("/api/v1/messages", headers=a.headers, json={"to": a.contact.wa_id, "media": {
        "type": "document", "link": "https://cdn.example.com/invoice.pdf", "caption": "March", "filename": "invoice.pdf"}})
    second = client.post("/api/v1/messages", headers=a.headers, json={"to": a.contact.wa_id, "media": {
        "type": "image", "id": "1003383421387256"}})
    assert (first.status_code, second.status_code) == (202, 202)
    assert json.loads(responses.calls[0].request.body)["document"] == {
        "link": "https://cdn.example.com/invoice.pdf", "caption": "March", "filename": "invoice.pdf"}
    assert json.loads(responses.calls[1].request.body)["image"] == {"id": "1003383421387256"}


def test_bad_requests_are_clear_4xx(client, api_tenants):
    a, _ = api_tenants
    cases = [
        ({"to": a.contact.wa_id}, "invalid"),
        ({"to": a.contact.wa_id, "text": "x", "template": {"name": "a", "language": "en"}}, "invalid"),
        ({"to": "call me", "text": "x"}, "invalid_to"),
        ({"to": a.contact.wa_id, "template": {"name": "Bad Name!", "language": "en"}}, "invalid"),
        ({"to": a.contact.wa_id, "template": {"name": "ok", "language": "english please"}}, "invalid"),
        ({"to": a.contact.wa_id, "template": {"name": "ok", "language": "en", "parameters": [1, {"x": 2}]}}, "invalid"),
        ({"to": a.contact.wa_id, "media": {"type": "image"}}, "invalid"),
        ({"to": a.contact.wa_id, "media": {"type": "audio", "id": "1", "caption": "no"}}, "invalid"),
        ({"to": a.contact.wa_id, "text": "x" * 4097}, "invalid"),
        ({"to": a.contact.wa_id, "text": "x", "from": "999"}, "unknown_from"),
    ]
    for payload, code in cases:
        answer = client.post("/api/v1/messages", headers=a.headers, json=payload)
        assert answer.status_code == 422, (payload, answer.status_code)
        assert answer.get_json()["error"]["code"] == code, payload
    for raw, content_type in ((b"not json", "application/json"), (b"[1, 2]", "application/json"), (b"to=1", "text/plain")):
        answer = client.post("/api/v1/messages", headers=a.headers, data=raw, content_type=content_type)
        assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "invalid_json"
    assert _count(Message) == 2


@responses.activate
def test_a_template_meta_rejects_is_stored_failed_with_the_reason(client, api_tenants):
    a, _ = api_tenants
    responses.post(f"{GRAPH}/{a.account.phone_number_id}/messages", status=404, json={"error": {
        "message": "(#132001) Template name does not exist in the translation", "type": "OAuthException",
        "code": 132001, "error_data": {"messaging_product": "whatsapp", "details": "template name (nope) does not exist in es"},
        "fbtrace_id": "AbCd"}})
    answer = client.post("/api/v1/messages", headers=a.headers, json={
        "to": "59170001111", "template": {"name": "nope", "language": "es"}})
    assert answer.status_code == 202
    body = answer.get_json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "template_rejected" and "132001" in body["error"]["message"]
    assert db.session.get(Message, uuid.UUID(body["id"])).status == "failed"


@responses.activate
def test_meta_saying_the_window_closed_is_reported(client, api_tenants):
    a, _ = api_tenants
    responses.post(f"{GRAPH}/{a.account.phone_number_id}/messages", status=400, json={"error": {
        "message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047, "fbtrace_id": "X"}})
    body = client.post("/api/v1/messages", headers=a.headers, json={"to": a.contact.wa_id, "text": "hi"}).get_json()
    assert body["status"] == "failed" and body["error"]["code"] == "window_closed"


@responses.activate
def test_a_retried_post_answers_as_the_first_and_sends_once(client, api_tenants):
    a, _ = api_tenants
    graph_sent(a, "wamid.ONCE")
    headers = {**a.headers, "Idempotency-Key": "order-1001"}
    payload = {"to": a.contact.wa_id, "text": "Order shipped"}
    first = client.post("/api/v1/messages", headers=headers, json=payload)
    again = client.post("/api/v1/messages", headers=headers, json=payload)
    assert first.status_code == again.status_code == 202
    assert first.get_json() == again.get_json()
    assert len(responses.calls) == 1
    reused = client.post("/api/v1/messages", headers=headers, json={**payload, "text": "Something else"})
    assert reused.status_code == 422 and reused.get_json()["error"]["code"] == "idempotency_key_reused"
    # A refusal is kept too: the same retry gets the same answer.
    closed = {**a.headers, "Idempotency-Key": "order-1002"}
    refusals = [client.post("/api/v1/messages", headers=closed, json={"to": "59170000998", "text": "x"}) for _ in range(2)]
    assert [r.status_code for r in refusals] == [422, 422]
    assert len(responses.calls) == 1


@responses.activate
def test_the_same_key_in_two_products_is_two_requests(client, api_tenants):
    a, b = api_tenants
    graph_sent(a, "wamid.A")
    graph_sent(b, "wamid.B")
    for tenant in (a, b):
        answer = client.post("/api/v1/messages", headers={**tenant.headers, "Idempotency-Key": "same"},
                             json={"to": tenant.contact.wa_id, "text": "hi"})
        assert answer.status_code == 202
    assert len(responses.calls) == 2


@responses.activate
def test_a_retry_while_the_first_is_still_sending_is_409_and_nothing_twice(app, api_tenants):
    """The second POST arrives while the first one waits for Meta: its INSERT of the key fails on the
    unique constraint, it answers 409 in progress; a retry after the first finished gets its answer."""
    a, _ = api_tenants
    first_at_meta, second_done = threading.Event(), threading.Event()

    def meta(request):
        first_at_meta.set()
        assert second_done.wait(10)
        return 200, {}, json.dumps({"messages": [{"id": "wamid.SLOW"}]})

    responses.add_callback(responses.POST, f"{GRAPH}/{a.account.phone_number_id}/messages", callback=meta)
    headers = {**a.headers, "Idempotency-Key": "slow-1"}
    payload = {"to": a.contact.wa_id, "text": "One and only"}
    results = {}

    def first():
        results["first"] = app.test_client().post("/api/v1/messages", headers=headers, json=payload)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_at_meta.wait(10)
    second = app.test_client().post("/api/v1/messages", headers=headers, json=payload)
    second_done.set()
    thread.join(10)
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "idempotency_in_progress"
    assert second.headers["Retry-After"] == "1"
    assert results["first"].status_code == 202
    third = app.test_client().post("/api/v1/messages", headers=headers, json=payload)
    assert third.status_code == 202 and third.get_json() == results["first"].get_json()
    assert len(responses.calls) == 1
    assert len(_all(IdempotentRequest)) == 1


@responses.activate
def test_two_concurrent_identical_posts_send_once(app, api_tenants):
    a, _ = api_tenants
    graph_sent(a, "wamid.RACE")
    headers = {**a.headers, "Idempotency-Key": "race-1"}
    payload = {"to": a.contact.wa_id, "text": "Exactly once"}
    start = threading.Barrier(2)
    answers = []

    def post():
        client = app.test_client()
        start.wait(10)
        answers.append(client.post("/api/v1/messages", headers=headers, json=payload))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(r.status_code for r in answers)
    assert statuses in ([202, 202], [202, 409]), statuses
    accepted = [r.get_json() for r in answers if r.status_code == 202]
    assert all(body == accepted[0] for body in accepted)
    assert len(responses.calls) == 1
    outbound = [m for m in _all(Message) if m.direction == "out"]
    assert len(outbound) == 1


@responses.activate
def test_idempotency_keys_are_forgotten_after_a_day(client, api_tenants):
    from portal.api.idempotency import forget_old_keys

    a, _ = api_tenants
    graph_sent(a, "wamid.K1")
    graph_sent(a, "wamid.K2")
    headers = {**a.headers, "Idempotency-Key": "daily-1"}
    first = client.post("/api/v1/messages", headers=headers, json={"to": a.contact.wa_id, "text": "x"}).get_json()
    [record] = _all(IdempotentRequest)
    record.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    forget_old_keys()
    assert _all(IdempotentRequest) == []
    again = client.post("/api/v1/messages", headers=headers, json={"to": a.contact.wa_id, "text": "x"}).get_json()
    assert again["id"] != first["id"] and len(responses.calls) == 2


@responses.activate
def test_a_refusal_is_answered_in_english_as_before(client, api_tenants):
    """The reply keeps Meta's own words (pages say them in each reader's language); the API still
    answers the whole English sentence, whatever language the request asks for. Graph's error
    envelope as Meta's Cloud API "Error codes" page documents it."""
    a, _ = api_tenants
    responses.post(f"{GRAPH}/{a.account.phone_number_id}/messages", status=400, json={"error": {
        "message": "(#131009) Parameter value is not valid", "type": "OAuthException", "code": 131009,
        "error_data": {"messaging_product": "whatsapp", "details": "Parameter value is not valid"},
        "fbtrace_id": "AbCd"}})
    answer = client.post("/api/v1/messages", headers={**a.headers, "Accept-Language": "es"},
                         json={"to": f"+{a.contact.wa_id}", "text": "hola"})
    assert answer.status_code == 202
    body = answer.get_json()
    words = "Meta refused the message: (#131009) Parameter value is not valid (code 131009)"
    assert body["status"] == "failed" and body["error"] == {"code": "meta_refused", "message": words}
    stored = db.session.get(Message, uuid.UUID(body["id"]))
    assert (stored.error_code, stored.error_title) == (131009, "(#131009) Parameter value is not valid")
    got = client.get(f"/api/v1/messages/{body['id']}", headers={**a.headers, "Accept-Language": "es"}).get_json()
    assert (got["error_code"], got["error_title"]) == (131009, words)


def test_a_reply_refused_before_reads_as_it_was_stored(client, api_tenants):
    """A row stored with the whole English sentence is answered with it unchanged."""
    a, _ = api_tenants
    words = "Meta refused the message: (#100) Invalid parameter (code 100)"
    message = Message(product_id=a.product.id, conversation_id=a.conversation.id, phone_number_id=a.account.phone_number_id,
                      contact_wa_id=a.message.contact_wa_id, direction="out", type="text", text="hola", status="failed",
                      status_at=utcnow(), created_at=utcnow(), error_code=100, error_title=words)
    db.session.add(message)
    db.session.commit()
    got = client.get(f"/api/v1/messages/{message.id}", headers=a.headers).get_json()
    assert (got["status"], got["error_code"], got["error_title"]) == ("failed", 100, words)
