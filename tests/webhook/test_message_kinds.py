"""Every kind Meta sends, stored and shown as a person expects (issue 14).

Each payload is shaped as Meta's webhook reference documents it (developers.facebook.com,
"Messages webhook reference" pages named in each docstring) or as a library's recorded fixture.
The page checks go through the real inbox (thread, feed, conversation list) after a signed POST.
"""
from __future__ import annotations

import json
import re

from sqlalchemy import select

from portal.extensions import db
from portal.models import Contact, Conversation, Message, WhatsAppAccount
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, WABA_A

BSUID = "US.13491208655302741918"


def post(client, *messages, contacts=None, field=None, value=None):
    if field is not None:
        body = p.envelope(p.field_change(field, value))
    else:
        body = p.envelope(p.messages_change(NUMBER_A, list(messages), contacts=contacts))
    answer = p.post_signed(client, body)
    assert answer.status_code == 200
    return answer


def rows(product):
    return list(db.session.execute(select(Message).where(Message.product_id == product.id)
                                   .order_by(Message.created_at, Message.id)).scalars())


def conversation_of(product) -> Conversation:
    return db.session.execute(select(Conversation).where(Conversation.product_id == product.id)).scalar_one()


def thread_html(client, auth, product, logged_in=[]):
    if product.id not in logged_in:
        auth.as_member(product)
        logged_in.append(product.id)
    conversation = conversation_of(product)
    return client.get(f"/p/{product.id}/conversations/{conversation.id}").get_data(as_text=True)


def login(auth, product):
    auth.as_member(product)


def page(client, product, path):
    return client.get(f"/p/{product.id}{path}").get_data(as_text=True)


def thread(client, product):
    return page(client, product, f"/conversations/{conversation_of(product).id}")


def thread_messages(html):
    """The thread's messages only (the conversation list beside them previews the latest one)."""
    return html[html.index('id="thread-messages"'):]


# --- one test per kind --------------------------------------------------------------

def test_flow_reply_shows_the_answers_as_label_value_pairs(client, auth, two_products):
    """interactive.nfm_reply, shaped as Meta's "Interactive messages webhook reference" (Flows
    response) and pywa's tests/data/updates/flow_completion.json: response_json is a JSON string."""
    cardio, _ = two_products
    answers = {"flow_token": "unused", "full_name": "Kerry Fisher", "delivery_date": "2026-12-05", "sizes": ["M", "L"]}
    post(client, p.inbound("wamid.F1", "interactive", {"type": "nfm_reply", "nfm_reply": {
        "name": "flow", "body": "Sent", "response_json": json.dumps(answers)}}))
    login(auth, cardio)
    html = thread(client, cardio)
    assert "Form · flow" in html
    assert re.search(r"<dt>Full name</dt><dd>Kerry Fisher</dd>", html)
    assert re.search(r"<dt>Delivery date</dt><dd>2026-12-05</dd>", html) and "<dd>M, L</dd>" in html
    assert "flow_token" not in html and "unused" not in html
    assert conversation_of(cardio).last_message_preview.startswith("Full name: Kerry Fisher")


def test_call_permission_reply_says_the_answer(client, auth, two_products):
    """interactive.call_permission_reply {response, expiration_timestamp}, as in Meta's "Calling:
    call permission reply webhook" reference."""
    cardio, _ = two_products
    post(client, p.inbound("wamid.C1", "interactive", {"type": "call_permission_reply", "call_permission_reply": {
        "response": "accept", "is_permanent": False, "expiration_timestamp": 1796083200, "response_source": "user_action"}}))
    login(auth, cardio)
    assert "Allowed WhatsApp calls until 2026-12-01 00:00 UTC" in thread(client, cardio)


def test_list_reply_keeps_its_description(client, auth, two_products):
    """interactive.list_reply {id, title, description}: Meta's interactive webhook reference example."""
    cardio, _ = two_products
    post(client, p.inbound("wamid.L1", "interactive", {"type": "list_reply", "list_reply": {
        "id": "priority_express", "title": "Express Shipping", "description": "Next Day to 2 Days"}}))
    login(auth, cardio)
    html = thread(client, cardio)
    assert "Express Shipping" in html and "Next Day to 2 Days" in html
    assert conversation_of(cardio).last_message_preview == "Express Shipping — Next Day to 2 Days"


def test_interactive_with_no_body_is_not_a_bare_button(client, auth, two_products):
    """An interactive object whose sub-object Meta left out (seen in Chatwoot's specs)."""
    cardio, _ = two_products
    post(client, p.inbound("wamid.I0", "interactive", {"type": "button_reply"}))
    login(auth, cardio)
    html = thread(client, cardio)
    assert "Interactive reply" in html and "(no text)" in html


def test_order_lists_items_quantities_prices_and_total(client, auth, two_products):
    """type "order" {catalog_id, text, product_items[]}: Meta's "Order messages webhook reference"."""
    cardio, _ = two_products
    post(client, p.inbound("wamid.O1", "order", {"catalog_id": "4210998764132231", "text": "Before Friday please",
                                                  "product_items": [
        {"product_retailer_id": "shirt-blue-m", "quantity": 2, "item_price": 19.5, "currency": "USD"},
        {"product_retailer_id": "cap-red", "quantity": "1", "item_price": "12", "currency": "USD"}]}))
    login(auth, cardio)
    html = thread(client, cardio)
    assert "shirt-blue-m" in html and "cap-red" in html and "19.50 USD" in html
    assert re.search(r"Total</th><td>51.00 USD", html) and "Before Friday please" in html
    assert conversation_of(cardio).last_message_preview == "Order: 3 items, 51.00 USD — Before Friday please"


def test_system_change_of_number_in_words(client, auth, two_products):
    """type "system" user_changed_number {body, new_wa_id, type}: Meta's "System messages webhook
    reference" (no contacts array)."""
    cardio, _ = two_products
    post(client, p.text_message("wamid.S0", "hi"))
    body = {"type": "system", "id": "wamid.S1", "from": p.CUSTOMER, "timestamp": "1700000000",
            "system": {"body": f"User Kerry changed from {p.CUSTOMER} to 16315559999", "new_wa_id": "16315559999",
                       "type": "user_changed_number"}}
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [body], contacts=[])))
    login(auth, cardio)
    assert f"User Kerry changed from {p.CUSTOMER} to 16315559999" in thread(client, cardio)
    [contact] = db.session.execute(select(Contact).where(Contact.product_id == cardio.id)).scalars()
    assert contact.wa_id == "16315559999"  # the one contact now answers to the new number


def test_request_welcome_in_words(client, auth, two_products):
    """type "request_welcome" (no content object): Meta's "Welcome message webhook reference"."""
    cardio, _ = two_products
    post(client, p.inbound("wamid.W1", "request_welcome", None))
    login(auth, cardio)
    assert "The customer opened the chat for the first time." in thread(client, cardio)
    assert "Unsupported" not in thread(client, cardio)


def test_contact_card_shows_phones_and_emails(client, auth, two_products):
    """type "contacts": the card of Meta's "Contacts messages webhook reference" (tests/webhook/payloads.py)."""
    cardio, _ = two_products
    post(client, p.contacts_message("wamid.K1"))
    login(auth, cardio)
    html = thread(client, cardio)
    assert "Barbara J. Johnson" in html and "+1 (940) 555-1234" in html


def test_click_to_whatsapp_ad_shows_the_ad(client, auth, two_products):
    """`referral` {source_url, source_id, source_type, headline, body, media_type, ctwa_clid}:
    Meta's "Text messages webhook reference", message from an ad."""
    cardio, _ = two_products
    message = p.text_message("wamid.A1", "Is it still on sale?")
    message["referral"] = {"source_url": "https://fb.me/3cr4Wqqkv", "source_id": "120226305854810726",
                           "source_type": "ad", "body": "Only this week", "headline": "Winter sale",
                           "media_type": "image", "image_url": "https://scontent.xx.fbcdn.net/v/t45.1",
                           "ctwa_clid": "Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4_0NiNhEgpGo0AHemvuSoifXaytfTzcchptiErTKCqTrJ5nW1h7IHYeYymGb5K5J5iSENC"}
    post(client, message)
    login(auth, cardio)
    html = thread(client, cardio)
    assert "From an ad (ad)" in html and "Winter sale" in html and 'href="https://fb.me/3cr4Wqqkv"' in html


def test_group_message_shows_the_group(client, auth, two_products):
    """`group_id` on a message (Meta's "Groups webhooks reference")."""
    cardio, _ = two_products
    message = p.text_message("wamid.G1", "hello team")
    message["group_id"] = "120363021234567890"
    post(client, message)
    login(auth, cardio)
    assert "In group 120363021234567890" in thread(client, cardio)
    assert "in group 120363021234567890" in page(client, cardio, "/feed")


def test_unsupported_shows_metas_own_error_title(client, auth, two_products):
    """type "unsupported" with errors[] {code 131051, title, error_data.details}: Meta's
    "Unsupported messages webhook reference"."""
    cardio, _ = two_products
    post(client, p.unsupported_message("wamid.U1"))
    login(auth, cardio)
    assert "Message type unknown: Message type is currently not supported." in thread(client, cardio)


def test_reaction_removal_removes_the_badge_and_is_no_bubble(client, auth, two_products):
    """type "reaction" {message_id, emoji}; an empty emoji removes it (Meta's "Reaction messages
    webhook reference")."""
    cardio, _ = two_products
    post(client, p.text_message("wamid.R0", "the message"))
    post(client, p.reaction_message("wamid.R1", "wamid.R0", "👍", timestamp=1700000001))
    login(auth, cardio)
    html = thread(client, cardio)
    assert 'class="msg-reaction"' in html and html.count('class="msg msg-in') == 1
    assert html.count('class="msg-reply"') == 1  # the reaction has no Reply link of its own
    post(client, p.reaction_message("wamid.R2", "wamid.R0", "", timestamp=1700000002))
    html = thread(client, cardio)
    assert 'class="msg-reaction"' not in html
    assert "Removed a reaction" in page(client, cardio, "/feed")


# --- edits and deletions --------------------------------------------------------------

def edit(wamid: str, original: str, body: str, timestamp=None) -> dict:
    """type "edit" {original_message_id, message: {type, text}}: Meta's "Edit messages webhook reference"."""
    return p.inbound(wamid, "edit", {"original_message_id": original,
                                     "message": {"type": "text", "text": {"body": body}}}, timestamp=timestamp)


def revoke(wamid: str, original: str, timestamp=None) -> dict:
    """type "revoke" {original_message_id}: Meta's "Revoke messages webhook reference"."""
    return p.inbound(wamid, "revoke", {"original_message_id": original}, timestamp=timestamp)


def test_edit_changes_the_original_and_keeps_it_for_the_audit(client, auth, two_products):
    cardio, _ = two_products
    post(client, p.text_message("wamid.E0", "see you at 5", timestamp=1700000000))
    post(client, edit("wamid.E1", "wamid.E0", "see you at 6", timestamp=1700000060))
    post(client, edit("wamid.E1", "wamid.E0", "see you at 6", timestamp=1700000060))  # redelivered: no-op
    original = db.session.execute(select(Message).where(Message.wamid == "wamid.E0")).scalar_one()
    db.session.refresh(original)
    assert (original.text, original.original_text) == ("see you at 6", "see you at 5")
    assert original.edited_at is not None
    assert len(rows(cardio)) == 2
    login(auth, cardio)
    html = thread(client, cardio)
    assert "see you at 6" in html and ">edited<" in html and "see you at 5" not in html
    assert conversation_of(cardio).last_message_preview == "see you at 6"
    assert html.count('class="msg msg-in') == 1


def test_revoke_replaces_the_message_with_words(client, auth, two_products):
    cardio, _ = two_products
    post(client, p.text_message("wamid.V0", "my card number is 1234", timestamp=1700000000))
    post(client, revoke("wamid.V1", "wamid.V0", timestamp=1700000030))
    original = db.session.execute(select(Message).where(Message.wamid == "wamid.V0")).scalar_one()
    db.session.refresh(original)
    assert original.revoked_at is not None and original.text == "my card number is 1234"  # kept for the audit
    login(auth, cardio)
    html = thread(client, cardio)
    # The deleted words, not a bare "1234": random ids and tokens in the page may hold those digits.
    assert "This message was deleted" in html and "card number" not in html
    assert conversation_of(cardio).last_message_preview == "This message was deleted"
    assert "card number" not in page(client, cardio, "/conversations")
    assert "card number" not in page(client, cardio, "/feed")


def test_edit_and_revoke_that_arrive_before_their_message_apply_when_it_comes(client, two_products):
    cardio, _ = two_products
    post(client, edit("wamid.X1", "wamid.X0", "new words", timestamp=1700000060))
    post(client, revoke("wamid.Y1", "wamid.Y0", timestamp=1700000060))
    post(client, p.text_message("wamid.X0", "old words", timestamp=1700000000),
         p.text_message("wamid.Y0", "gone", timestamp=1700000000))
    by_wamid = {m.wamid: m for m in rows(cardio)}
    assert by_wamid["wamid.X0"].text == "new words" and by_wamid["wamid.X0"].original_text == "old words"
    assert by_wamid["wamid.Y0"].revoked_at is not None
    assert conversation_of(cardio).last_message_preview in ("new words", "This message was deleted")
    assert "old words" not in conversation_of(cardio).last_message_preview


# --- order within a delivery --------------------------------------------------------------

def test_a_burst_of_20_in_one_delivery_is_shown_in_order(client, auth, two_products):
    """20 messages of one second in one `messages` change (Meta batches a burst this way)."""
    cardio, _ = two_products
    burst = [p.text_message(f"wamid.B{n:02d}{'zyxwvutsrqponmlkjihgfedcba'[n]}", f"burst message {n}", timestamp=1700000000)
             for n in range(20)]
    burst = [dict(m, id=f"wamid.{h}") for m, h in zip(burst, ["q", "c", "x", "a", "m", "z", "b", "r", "e", "y",
                                                               "k", "d", "u", "f", "w", "g", "p", "h", "s", "i"])]
    post(client, *burst)
    assert [m.text for m in rows(cardio)] == [f"burst message {n}" for n in range(20)]
    assert conversation_of(cardio).last_message_preview == "burst message 19"
    login(auth, cardio)
    html = thread_messages(thread(client, cardio))
    shown = [int(n) for n in re.findall(r"burst message (\d+)", html)]
    assert shown == list(range(20))
    feed = [int(n) for n in re.findall(r"burst message (\d+)", page(client, cardio, "/feed"))]
    assert feed == list(range(19, -1, -1))  # newest first
    assert "burst message 19" in page(client, cardio, "/conversations")


# --- contacts by phone or BSUID -----------------------------------------------------------

def test_bsuid_only_customer_then_the_same_with_a_phone(client, auth, two_products):
    """2026 shapes (Meta's "Business-scoped user IDs" guide): contacts[].user_id and username,
    messages[].from_user_id, no `from` / `wa_id` while the customer hides the number; later both."""
    cardio, _ = two_products
    first = {"from_user_id": BSUID, "id": "wamid.U1", "timestamp": "1700000000", "type": "text", "text": {"body": "hi from my username"}}
    post(client, first, contacts=[{"profile": {"name": "Kerry"}, "user_id": BSUID, "username": "kerry_f"}])
    [contact] = db.session.execute(select(Contact).where(Contact.product_id == cardio.id)).scalars()
    assert (contact.wa_id, contact.user_id, contact.username) == (None, BSUID, "kerry_f")
    login(auth, cardio)
    listing = page(client, cardio, "/conversations")
    assert "Kerry" in listing and "+US" not in listing and BSUID not in listing
    assert "No phone number shared" in thread(client, cardio)
    # The same customer, now with the phone number too: one contact, one conversation, one history.
    second = {"from": p.CUSTOMER, "from_user_id": BSUID, "id": "wamid.U2", "timestamp": "1700000100", "type": "text",
              "text": {"body": "now with my number"}}
    post(client, second, contacts=[{"profile": {"name": "Kerry"}, "wa_id": p.CUSTOMER, "user_id": BSUID}])
    [contact] = db.session.execute(select(Contact).where(Contact.product_id == cardio.id)).scalars()
    db.session.refresh(contact)
    assert (contact.wa_id, contact.user_id) == (p.CUSTOMER, BSUID)
    conversation = conversation_of(cardio)
    assert {m.conversation_id for m in rows(cardio)} == {conversation.id}
    assert f"+{p.CUSTOMER}" in thread(client, cardio)


def test_one_delivery_with_the_bsuid_alone_then_with_both_ids_is_one_conversation(client, two_products):
    """Two changes of one POST: a message with only from_user_id, then one with `from` too."""
    cardio, _ = two_products
    alone = p.messages_change(NUMBER_A, [{"from_user_id": BSUID, "id": "wamid.D1", "timestamp": "1700000000",
                                          "type": "text", "text": {"body": "first"}}],
                              contacts=[{"profile": {"name": "Kerry"}, "user_id": BSUID}])
    both = p.messages_change(NUMBER_A, [{"from": p.CUSTOMER, "from_user_id": BSUID, "id": "wamid.D2", "timestamp": "1700000000",
                                         "type": "text", "text": {"body": "second"}}],
                             contacts=[{"profile": {"name": "Kerry"}, "wa_id": p.CUSTOMER, "user_id": BSUID}])
    assert p.post_signed(client, p.envelope(alone, both)).status_code == 200
    [contact] = db.session.execute(select(Contact).where(Contact.product_id == cardio.id)).scalars()
    assert (contact.wa_id, contact.user_id) == (p.CUSTOMER, BSUID)
    conversation = conversation_of(cardio)
    assert [(m.text, m.conversation_id) for m in rows(cardio)] == [("first", conversation.id), ("second", conversation.id)]
    assert conversation.unread_count == 2 and conversation.last_message_preview == "second"


def test_message_without_from_belongs_to_the_only_contact(client, two_products):
    """A message with no `from` and no `from_user_id`: the id only in contacts[].user_id."""
    cardio, _ = two_products
    post(client, {"id": "wamid.N1", "timestamp": "1700000000", "type": "text", "text": {"body": "who am I"}},
         contacts=[{"profile": {"name": "Nameless"}, "user_id": BSUID}])
    [message] = rows(cardio)
    assert message.conversation_id is not None and conversation_of(cardio).contact.user_id == BSUID


def test_two_contacts_of_one_customer_are_joined(client, two_products):
    """A phone-only contact and a BSUID-only contact, then a message carrying both ids: one contact
    with both conversations' messages."""
    cardio, _ = two_products
    post(client, p.text_message("wamid.J1", "by phone", timestamp=1700000000))
    post(client, {"from_user_id": BSUID, "id": "wamid.J2", "timestamp": "1700000050", "type": "text",
                  "text": {"body": "by username"}}, contacts=[{"profile": {"name": "Kerry"}, "user_id": BSUID}])
    assert len(db.session.execute(select(Contact).where(Contact.product_id == cardio.id)).scalars().all()) == 2
    post(client, {"from": p.CUSTOMER, "from_user_id": BSUID, "id": "wamid.J3", "timestamp": "1700000100", "type": "text",
                  "text": {"body": "both"}}, contacts=[{"profile": {"name": "Kerry"}, "wa_id": p.CUSTOMER, "user_id": BSUID}])
    [contact] = db.session.execute(select(Contact).where(Contact.product_id == cardio.id)).scalars()
    db.session.refresh(contact)
    assert (contact.wa_id, contact.user_id) == (p.CUSTOMER, BSUID)
    conversation = conversation_of(cardio)
    db.session.refresh(conversation)
    assert [m.text for m in rows(cardio)] == ["by phone", "by username", "both"]
    assert {m.conversation_id for m in rows(cardio)} == {conversation.id} and conversation.unread_count == 3


def test_changed_user_id_system_message_moves_the_contact(client, two_products):
    """system user_changed_user_id {previous_user_id, user_id} (Meta changelog, Aug 11 2026)."""
    cardio, _ = two_products
    post(client, {"from_user_id": BSUID, "id": "wamid.I1", "timestamp": "1700000000", "type": "text",
                  "text": {"body": "hi"}}, contacts=[{"profile": {"name": "Kerry"}, "user_id": BSUID}])
    new = "US.99991208655302741918"
    body = {"from_user_id": new, "id": "wamid.I2", "timestamp": "1700000100", "type": "system",
            "system": {"body": "User's id changed", "type": "user_changed_user_id", "previous_user_id": BSUID, "user_id": new}}
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [body], contacts=[])))
    [contact] = db.session.execute(select(Contact).where(Contact.product_id == cardio.id)).scalars()
    db.session.refresh(contact)
    assert contact.user_id == new
    assert len({m.conversation_id for m in rows(cardio)}) == 1


def test_reply_to_a_bsuid_only_customer_uses_recipient(client, auth, two_products):
    """Sending to a BSUID: `recipient` instead of `to` (../shared/meta-reference.md, "Business-scoped
    user ids": some partners report silent drops with a BSUID in `to`)."""
    import time

    import responses

    from tests.conftest import TEST_GRAPH_URL

    cardio, _ = two_products
    post(client, {"from_user_id": BSUID, "id": "wamid.P1", "timestamp": str(int(time.time())),
                  "type": "text", "text": {"body": "hi"}}, contacts=[{"profile": {"name": "Kerry"}, "user_id": BSUID}])
    login(auth, cardio)
    conversation = conversation_of(cardio)
    with responses.RequestsMock() as mock:
        mock.post(f"{TEST_GRAPH_URL}/v25.0/{NUMBER_A}/messages",
                  json={"messaging_product": "whatsapp", "contacts": [{"input": BSUID, "wa_id": BSUID}],
                        "messages": [{"id": "wamid.out.P"}]})
        answer = client.post(f"/p/{cardio.id}/conversations/{conversation.id}/messages", data={"body": "Hello Kerry"},
                             headers={"HX-Request": "true", "X-CSRFToken": auth.csrf_token()})
        assert answer.status_code == 200
        sent = json.loads(mock.calls[0].request.body)
    assert sent["recipient"] == BSUID and "to" not in sent


# --- coexistence: echoes and history -------------------------------------------------------

def test_echo_is_an_outbound_message_from_the_business_app(client, auth, two_products):
    """field smb_message_echoes, value.message_echoes[] {from, to, id, timestamp, type, text}:
    Meta's "smb_message_echoes webhook reference"."""
    cardio, _ = two_products
    post(client, p.text_message("wamid.H0", "do you open today?", timestamp=1700000000))
    value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": p.DISPLAY_NUMBER, "phone_number_id": NUMBER_A},
             "message_echoes": [{"from": p.DISPLAY_NUMBER, "to": p.CUSTOMER, "id": "wamid.H1", "timestamp": "1700000060",
                                 "type": "text", "text": {"body": "Yes, until 8pm"}}]}
    post(client, field="smb_message_echoes", value=value)
    post(client, field="smb_message_echoes", value=value)  # redelivered: stored once
    echo = db.session.execute(select(Message).where(Message.wamid == "wamid.H1")).scalar_one()
    assert (echo.direction, echo.origin, echo.conversation_id) == ("out", "business_app", conversation_of(cardio).id)
    conversation = conversation_of(cardio)
    assert conversation.unread_count == 1 and conversation.last_message_preview == "Yes, until 8pm"
    login(auth, cardio)
    html = thread(client, cardio)
    assert "Sent from the WhatsApp Business app" in html and "Yes, until 8pm" in html
    # An edit of the echo, echoed too, changes it.
    value["message_echoes"] = [{"from": p.DISPLAY_NUMBER, "to": p.CUSTOMER, "id": "wamid.H2", "timestamp": "1700000090",
                                "type": "edit", "edit": {"original_message_id": "wamid.H1",
                                                         "message": {"type": "text", "text": {"body": "Yes, until 9pm"}}}}]
    post(client, field="smb_message_echoes", value=value)
    assert "Yes, until 9pm" in thread(client, cardio)


def test_history_is_imported_as_past_messages_without_unread(client, auth, two_products):
    """field history: history[{metadata: {phase, chunk_order, progress}, threads: [{id, messages:
    [{from, to?, id, timestamp, type, text, history_context: {status}}]}]}]: Meta's "history
    webhook reference"."""
    cardio, _ = two_products
    post(client, p.text_message("wamid.NOW", "a message of today"))
    login(auth, cardio)
    cursor = re.search(r'feed\?after=([0-9a-f.\-]+)', page(client, cardio, "/feed")).group(1)
    value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": p.DISPLAY_NUMBER, "phone_number_id": NUMBER_A},
             "history": [{"metadata": {"phase": 0, "chunk_order": 1, "progress": 100}, "threads": [{"id": p.CUSTOMER, "messages": [
                 {"from": p.CUSTOMER, "id": "wamid.OLD1", "timestamp": "1690000000", "type": "text", "text": {"body": "old question"},
                  "history_context": {"status": "READ"}},
                 {"from": p.DISPLAY_NUMBER, "to": p.CUSTOMER, "id": "wamid.OLD2", "timestamp": "1690000060", "type": "text",
                  "text": {"body": "old answer"}, "history_context": {"status": "READ"}}]}]}]}
    before = conversation_of(cardio).unread_count
    post(client, field="history", value=value)
    conversation = conversation_of(cardio)
    db.session.refresh(conversation)
    assert conversation.unread_count == before  # no unread, no notification
    assert conversation.last_message_preview == "a message of today"  # the past stays in the past
    by_wamid = {m.wamid: m for m in rows(cardio)}
    assert (by_wamid["wamid.OLD1"].direction, by_wamid["wamid.OLD2"].direction) == ("in", "out")
    assert [m.wamid for m in rows(cardio)] == ["wamid.OLD1", "wamid.OLD2", "wamid.NOW"]
    assert client.get(f"/p/{cardio.id}/feed?after={cursor}", headers={"HX-Request": "true"}).status_code == 204
    html = thread_messages(thread(client, cardio))
    assert html.index("old question") < html.index("old answer") < html.index("a message of today")
    assert "From the chat history" in html


def test_declined_history_is_said_on_the_number(client, auth, two_products):
    """history with errors [{code 2593109, ...}] when the business declines (Meta's history reference)."""
    cardio, _ = two_products
    value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": p.DISPLAY_NUMBER, "phone_number_id": NUMBER_A},
             "history": [{"errors": [{"code": 2593109, "title": "History sharing declined",
                                      "message": "History sharing declined",
                                      "error_data": {"details": "The business declined to share chat history."}}]}]}
    post(client, field="history", value=value)
    login(auth, cardio)
    assert "History sharing declined: The business declined to share chat history. (code 2593109)" in page(client, cardio, "/channels")


# --- account alerts and value-level errors ----------------------------------------------------

ALERT_CASES = [
    ({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE", "waba_ban_date": "April 17, 2025"}},
     "banned", "disabled (banned) this WhatsApp account for a policy violation on April 17, 2025"),
    ({"event": "ACCOUNT_RESTRICTION", "restriction_info": [{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                                                            "expiration": 1796083200}]},
     "restricted", "restricted this WhatsApp account: starting conversations until 2026-12-01 00:00 (UTC)"),
    ({"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "ADULT"}}, None, "policy violation (adult)"),
    ({"event": "ACCOUNT_OFFBOARDED"}, "offboarded", "offboarded this WhatsApp account"),
    ({"event": "PARTNER_REMOVED"}, "removed from the app", "stopped sharing this WhatsApp account"),
    ({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "REINSTATE", "waba_ban_date": "April 18, 2025"}},
     None, "Meta reinstated this WhatsApp account (April 18, 2025)."),
]


def test_each_account_alert_is_on_the_dashboard_in_words(client, auth, two_products):
    """account_update events shaped as Meta's "account_update webhook reference" examples (entry.id =
    the WABA id, no phone_number_id); each replaces what the dashboard says about the number."""
    cardio, flex = two_products
    login(auth, cardio)
    for value, badge, words in ALERT_CASES:
        assert p.post_signed(client, p.envelope(p.entry(WABA_A, p.field_change("account_update", value)))).status_code == 200
        html = page(client, cardio, "/channels")
        assert words in html, value["event"]
        assert "Meta said so on" in html
        if badge:
            assert f'<span class="badge badge-danger">{badge}</span>' in html
    account = db.session.execute(select(WhatsAppAccount).where(WhatsAppAccount.phone_number_id == NUMBER_A)).scalar_one()
    assert account.alert_level == "ok"  # reinstated last
    other = db.session.execute(select(WhatsAppAccount).where(WhatsAppAccount.product_id == flex.id)).scalar_one()
    assert other.alert_text is None  # another WABA's number is untouched


def test_an_account_alert_is_said_in_each_readers_language_and_zone(client, auth, two_products):
    """The account keeps Meta's event, so a Spanish reader in La Paz reads the alert in Spanish with
    La Paz time, while the text stored for logs, the API and outgoing webhooks stays English."""
    cardio, _ = two_products
    cardio.timezone = "America/La_Paz"
    db.session.commit()
    value = {"event": "ACCOUNT_RESTRICTION", "restriction_info": [
        {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 1796083200}]}
    assert p.post_signed(client, p.envelope(p.entry(WABA_A, p.field_change("account_update", value)))).status_code == 200
    login(auth, cardio)
    spanish = client.get(f"/p/{cardio.id}/channels", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Meta restringió esta cuenta de WhatsApp: iniciar conversaciones hasta 2026-11-30 20:00 (GMT-4)." in spanish
    account = db.session.execute(select(WhatsAppAccount).where(WhatsAppAccount.phone_number_id == NUMBER_A)).scalar_one()
    assert account.alert_text == ("Meta restricted this WhatsApp account: starting conversations until "
                                  "2026-12-01 00:00 UTC.")
    assert account.alert_value == value


def test_value_level_errors_are_shown_on_the_number(client, auth, two_products):
    """A messages change with value.errors [{code, title, message, error_data: {details}}] instead of
    messages: Meta's "messages webhook reference", errors object."""
    cardio, _ = two_products
    value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": p.DISPLAY_NUMBER, "phone_number_id": NUMBER_A},
             "errors": [{"code": 131000, "title": "Something went wrong", "message": "Something went wrong",
                         "error_data": {"details": "Unable to process the message."}}]}
    post(client, field="messages", value=value)
    login(auth, cardio)
    assert "Meta reported an error for this number: Something went wrong: Unable to process the message. (code 131000)" \
        in page(client, cardio, "/channels")


def test_value_level_errors_are_said_in_each_readers_language(client, auth, two_products):
    """The number keeps the errors Meta sent (value.errors, shaped as in Meta's "messages webhook
    reference", errors object): a Spanish reader reads the portal's words in Spanish around Meta's
    own, unchanged; the text stored for logs stays English."""
    cardio, _ = two_products
    errors = [{"code": 131000, "title": "Something went wrong", "message": "Something went wrong",
               "error_data": {"details": "Unable to process the message."}}]
    value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": p.DISPLAY_NUMBER, "phone_number_id": NUMBER_A},
             "errors": errors}
    post(client, field="messages", value=value)
    login(auth, cardio)
    spanish = client.get(f"/p/{cardio.id}/channels", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert ("Meta informó un error para este número: Something went wrong: Unable to process the message. "
            "(código 131000)") in spanish
    english = client.get(f"/p/{cardio.id}/channels", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert ("Meta reported an error for this number: Something went wrong: Unable to process the message. "
            "(code 131000)") in english
    account = db.session.execute(select(WhatsAppAccount).where(WhatsAppAccount.phone_number_id == NUMBER_A)).scalar_one()
    assert account.webhook_error == "Something went wrong: Unable to process the message. (code 131000)"
    assert account.webhook_error_value == errors


def test_a_webhook_error_stored_before_keeps_its_text(client, auth, two_products):
    """A number whose error was stored with its text only (before the errors were kept) shows that text."""
    cardio, _ = two_products
    account = db.session.execute(select(WhatsAppAccount).where(WhatsAppAccount.phone_number_id == NUMBER_A)).scalar_one()
    account.webhook_error, account.webhook_error_at = "Something went wrong (code 131000)", account.created_at
    db.session.commit()
    login(auth, cardio)
    spanish = client.get(f"/p/{cardio.id}/channels", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Meta informó un error para este número: Something went wrong (code 131000)" in spanish


def test_odd_value_level_errors_are_kept_only_as_far_as_they_are_metas(client, auth, two_products):
    """errors that are not Meta's shape (strings, a code that is no number, huge words) never fail
    the page: the account keeps what can be said."""
    cardio, _ = two_products
    value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": p.DISPLAY_NUMBER, "phone_number_id": NUMBER_A},
             "errors": [{"code": "x", "title": "T" * 5000, "error_data": "nope"}, "junk", {"code": True}]}
    post(client, field="messages", value=value)
    login(auth, cardio)
    response = client.get(f"/p/{cardio.id}/channels", headers={"Accept-Language": "es"})
    assert response.status_code == 200 and "Meta informó un error para este número: " + "T" * 255 in response.get_data(as_text=True)
    account = db.session.execute(select(WhatsAppAccount).where(WhatsAppAccount.phone_number_id == NUMBER_A)).scalar_one()
    assert account.webhook_error_value == [{"title": "T" * 512}]


def test_an_unsupported_messages_errors_are_said_in_the_readers_language(client, auth, two_products):
    """The thread's note about an unsupported message (Meta's "Unsupported messages webhook
    reference": errors [{code, title, message, error_data: {details}}]) is the portal's sentence in
    the reader's language around Meta's title and details, which stay as Meta wrote them."""
    cardio, _ = two_products
    post(client, p.unsupported_message("wamid.U2"))
    login(auth, cardio)
    url = f"/p/{cardio.id}/conversations/{conversation_of(cardio).id}"
    spanish = client.get(url, headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert ("WhatsApp no pudo transmitir este mensaje: Message type unknown: Message type is currently not "
            "supported. Abre WhatsApp en el teléfono para verlo.") in spanish
    english = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert ("WhatsApp could not pass this message on: Message type unknown: Message type is currently not "
            "supported. Open WhatsApp on the phone to see it.") in english  # one full stop, not Meta's and ours
    feed = client.get(f"/p/{cardio.id}/feed", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Mensaje no compatible: Message type unknown: Message type is currently not supported." in feed


def test_an_ad_link_that_is_not_a_web_link_is_not_a_link(client, auth, two_products):
    """A referral whose source_url is not http(s) (never seen from Meta; a signed body can still hold it)."""
    cardio, _ = two_products
    message = p.text_message("wamid.A2", "hi")
    message["referral"] = {"source_url": "javascript:alert(1)", "source_type": "ad", "headline": "Odd ad"}
    post(client, message)
    login(auth, cardio)
    html = thread(client, cardio)
    assert "Odd ad" in html and "javascript:alert" not in html
