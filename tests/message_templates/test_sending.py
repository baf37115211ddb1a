"""Sending a template: the exact `components` Meta expects (Meta's "Send message templates"
guide and the send examples of ../shared/meta-openapi: POST /{Phone-Number-ID}/messages with
type template), the picker when the 24-hour window is closed, a new conversation, errors in words."""
from __future__ import annotations

import json
from datetime import timedelta

import responses
from sqlalchemy import select

from portal.extensions import db
from portal.models import Contact, Conversation, Message, utcnow

from .conftest import G, NUMBER_A

SENT = {"messaging_product": "whatsapp", "contacts": [{"input": "15551230001", "wa_id": "15551230001"}],
        "messages": [{"id": "wamid.HBgLMTU1NTEyMzAwMDEVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA", "message_status": "accepted"}]}
RICH = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{order}}"},
    {"type": "BODY", "text": "Hi {{first_name}}, your order {{order}} ships {{day}}."},
    {"type": "FOOTER", "text": "Thanks for shopping"},
    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop"},
                                    {"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}"},
                                    {"type": "COPY_CODE", "text": "Copy offer code"}]},
]


def _closed():
    return utcnow() - timedelta(hours=30)


def _send_url(product, conversation):
    return f"/p/{product.id}/conversations/{conversation.id}/template"


def test_closed_window_turns_the_reply_box_into_a_template_picker(client, auth, tenants, make_template, make_conversation):
    cardio, flex = tenants
    approved = make_template(cardio, name="order_update")
    make_template(cardio, name="still_pending", status="PENDING")
    make_template(flex, name="flex_template", waba_id="102290129340777")
    conversation = make_conversation(cardio, last_inbound_at=_closed())
    auth.as_member(cardio, role="agent")
    page = client.get(f"/p/{cardio.id}/conversations/{conversation.id}").get_data(as_text=True)
    assert "The 24-hour window is closed" in page
    assert '<details class="template-picker card" id="template-picker" open>' in page
    assert f'value="{approved.id}"' in page and "still_pending" not in page and "flex_template" not in page
    # With the window open the picker is still there, folded.
    open_conversation = make_conversation(cardio, wa_id="15551230002")
    page = client.get(f"/p/{cardio.id}/conversations/{open_conversation.id}").get_data(as_text=True)
    assert '<details class="template-picker card" id="template-picker" >' in page


def test_send_with_every_kind_of_variable_sends_metas_exact_components(client, auth, tenants, make_template,
                                                                        make_conversation, graph):
    cardio, _ = tenants
    template = make_template(cardio, name="order_ready", components=RICH, parameter_format="NAMED")
    conversation = make_conversation(cardio, last_inbound_at=_closed())
    graph.add(responses.POST, f"{G}/{NUMBER_A}/messages", json=SENT)
    auth.as_member(cardio, role="agent")
    fill = client.get(_send_url(cardio, conversation) + f"?template_id={template.id}").get_data(as_text=True)
    for field in ("header", "body_first_name", "body_order", "body_day", "button_1", "button_2"):
        assert f'name="{field}"' in fill
    response = client.post(_send_url(cardio, conversation), data={
        "csrf_token": auth.csrf_token(), "template_id": str(template.id), "header": "A-17", "body_first_name": "Ana",
        "body_order": "A-17", "body_day": "tomorrow", "button_1": "A-17", "button_2": "SAVE10"})
    assert response.status_code == 303
    sent = json.loads(graph.calls[0].request.body)
    assert sent == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "15551230001", "type": "template",
        "template": {"name": "order_ready", "language": {"code": "en_US"}, "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "A-17", "parameter_name": "order"}]},
            {"type": "body", "parameters": [
                {"type": "text", "text": "Ana", "parameter_name": "first_name"},
                {"type": "text", "text": "A-17", "parameter_name": "order"},
                {"type": "text", "text": "tomorrow", "parameter_name": "day"}]},
            {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "A-17"}]},
            {"type": "button", "sub_type": "copy_code", "index": "2",
             "parameters": [{"type": "coupon_code", "coupon_code": "SAVE10"}]},
        ]}}
    message = db.session.execute(select(Message)).scalar_one()
    assert (message.type, message.status, message.wamid) == ("template", "sent", SENT["messages"][0]["id"])
    assert message.text == "Order A-17\nHi Ana, your order A-17 ships tomorrow.\nThanks for shopping\n[Stop] · [Track] · [Copy offer code]"
    thread = client.get(f"/p/{cardio.id}/conversations/{conversation.id}").get_data(as_text=True)
    assert "Hi Ana, your order A-17 ships tomorrow." in thread and ">template</span>" in thread


def test_positional_template_with_a_media_header_by_link_or_id(client, auth, tenants, make_template, make_conversation, graph):
    cardio, _ = tenants
    template = make_template(cardio, name="receipt", components=[
        {"type": "HEADER", "format": "DOCUMENT"}, {"type": "BODY", "text": "Thank you {{1}}! Order {{2}} attached."}])
    conversation = make_conversation(cardio)
    graph.add(responses.POST, f"{G}/{NUMBER_A}/messages", json=SENT)
    auth.as_member(cardio, role="agent")
    for media, expected in (("https://files.example/r.pdf", {"link": "https://files.example/r.pdf"}), ("1031624385238871", {"id": "1031624385238871"})):
        client.post(_send_url(cardio, conversation), data={
            "csrf_token": auth.csrf_token(), "template_id": str(template.id), "header_media": media,
            "body_1": "Mark", "body_2": "860198-230332"})
        components = json.loads(graph.calls[-1].request.body)["template"]["components"]
        assert components == [{"type": "header", "parameters": [{"type": "document", "document": expected}]},
                              {"type": "body", "parameters": [{"type": "text", "text": "Mark"}, {"type": "text", "text": "860198-230332"}]}]


def test_missing_values_and_unapproved_templates_are_refused_in_words(client, auth, tenants, make_template,
                                                                     make_conversation, graph):
    cardio, flex = tenants
    template = make_template(cardio)
    pending = make_template(cardio, name="not_yet", status="PENDING")
    conversation = make_conversation(cardio)
    auth.as_member(cardio, role="agent")
    token = auth.csrf_token()
    response = client.post(_send_url(cardio, conversation), data={"csrf_token": token, "template_id": str(template.id), "body_1": "Ana"})
    assert response.status_code == 422 and "Fill in {{2}}." in response.get_data(as_text=True)
    response = client.post(_send_url(cardio, conversation), data={"csrf_token": token, "template_id": str(pending.id),
                                                                  "body_1": "a", "body_2": "b"})
    assert response.status_code == 422 and "Only approved templates can be sent" in response.get_data(as_text=True)
    other = make_template(flex, waba_id="102290129340777", name="theirs")
    assert client.post(_send_url(cardio, conversation), data={"csrf_token": token, "template_id": str(other.id)}).status_code == 404
    assert len(graph.calls) == 0 and db.session.execute(select(Message)).first() is None


def test_metas_template_errors_are_said_in_words_and_a_rate_limit_can_be_retried(client, auth, tenants, make_template,
                                                                                make_conversation, graph):
    cardio, _ = tenants
    template = make_template(cardio)
    conversation = make_conversation(cardio, last_inbound_at=_closed())
    auth.as_member(cardio, role="agent")
    graph.add(responses.POST, f"{G}/{NUMBER_A}/messages", status=400, json={"error": {
        "message": "(#132001) Template name does not exist in the translation", "type": "OAuthException", "code": 132001,
        "error_data": {"messaging_product": "whatsapp", "details": "template name (order_update) does not exist in en_US"},
        "fbtrace_id": "AbC"}})
    response = client.post(_send_url(cardio, conversation), data={
        "csrf_token": auth.csrf_token(), "template_id": str(template.id), "body_1": "Ana", "body_2": "A-17"}, follow_redirects=True)
    assert "This template does not exist at Meta in this language" in response.get_data(as_text=True)
    failed = db.session.execute(select(Message)).scalar_one()
    assert (failed.status, failed.error_code) == ("failed", 132001)
    graph.reset()
    graph.add(responses.POST, f"{G}/{NUMBER_A}/messages", status=400, json={"error": {
        "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429, "fbtrace_id": "AbD"}})
    graph.add(responses.POST, f"{G}/{NUMBER_A}/messages", json=SENT)
    client.post(_send_url(cardio, conversation), data={
        "csrf_token": auth.csrf_token(), "template_id": str(template.id), "body_1": "Bo", "body_2": "B-2"})
    limited = db.session.execute(select(Message).where(Message.error_code == 130429)).scalar_one()
    retry = client.post(f"/p/{cardio.id}/conversations/{conversation.id}/messages/{limited.id}/retry",
                        data={"csrf_token": auth.csrf_token()})
    assert retry.status_code in (200, 303)
    assert json.loads(graph.calls[0].request.body) == json.loads(graph.calls[1].request.body)  # the same template again
    db.session.expire_all()
    assert db.session.get(Message, limited.id).status == "sent"


def test_new_conversation_with_a_template_to_an_e164_number(client, auth, tenants, make_template, graph):
    cardio, flex = tenants
    template = make_template(cardio)
    graph.add(responses.POST, f"{G}/{NUMBER_A}/messages", json=SENT)
    auth.as_member(cardio, role="agent")
    assert "New conversation with a template" in client.get(f"/p/{cardio.id}/conversations").get_data(as_text=True)
    form = client.get(f"/p/{cardio.id}/conversations/new?number={NUMBER_A}&template_id={template.id}").get_data(as_text=True)
    assert 'name="body_1"' in form and 'name="phone"' in form
    data = {"csrf_token": auth.csrf_token(), "number": NUMBER_A, "template_id": str(template.id), "body_1": "Ana", "body_2": "A-1"}
    bad = client.post(f"/p/{cardio.id}/conversations/new", data=dict(data, phone="5551230001"))
    assert bad.status_code == 422 and "international format" in bad.get_data(as_text=True)
    assert len(graph.calls) == 0
    response = client.post(f"/p/{cardio.id}/conversations/new", data=dict(data, phone="+1 555 123 0001"))
    assert response.status_code == 303
    conversation = db.session.execute(select(Conversation)).scalar_one()
    contact = db.session.get(Contact, conversation.contact_id)
    assert (conversation.product_id, conversation.phone_number_id, contact.wa_id) == (cardio.id, NUMBER_A, "15551230001")
    assert json.loads(graph.calls[0].request.body)["to"] == "15551230001"
    assert response.headers["Location"].endswith(f"/conversations/{conversation.id}")
    # With a conversation open (the thread pane no longer shows its link; a phone shows one pane),
    # the list still offers a new conversation.
    thread = client.get(f"/p/{cardio.id}/conversations/{conversation.id}").get_data(as_text=True)
    assert f'href="/p/{cardio.id}/conversations/new"' in thread and "New conversation with a template" in thread
    # A second template to the same number goes to the same conversation.
    client.post(f"/p/{cardio.id}/conversations/new", data=dict(data, phone="+15551230001"))
    assert db.session.execute(select(Conversation)).scalars().all() == [conversation]
    # Flex's template cannot be used from Cardio's page.
    theirs = make_template(flex, waba_id="102290129340777", name="theirs")
    assert client.post(f"/p/{cardio.id}/conversations/new", data=dict(data, template_id=str(theirs.id),
                                                                     phone="+15551230001")).status_code == 404


def test_preview_renders_the_values_typed(client, auth, tenants, make_template):
    cardio, _ = tenants
    template = make_template(cardio)
    auth.as_member(cardio, role="agent")
    html = client.post(f"/p/{cardio.id}/templates/{template.id}/preview",
                       data={"csrf_token": auth.csrf_token(), "body_1": "<b>Ana</b>"}).get_data(as_text=True)
    assert "Hello &lt;b&gt;Ana&lt;/b&gt;, your order {{2}} shipped." in html
