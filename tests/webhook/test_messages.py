"""Inbound messages of every type, routed by phone_number_id, stored with their contact and conversation."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Contact, Conversation, Message
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, NUMBER_B, WABA_A, WABA_B


def stored(product, **filters):
    query = select(Message).where(Message.product_id == product.id).filter_by(**filters).order_by(Message.wamid)
    return list(db.session.execute(query).scalars())


def test_text_message_is_stored_with_contact_and_conversation(client, two_products):
    cardio, _ = two_products
    answer = p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.T1", "Hola", timestamp=1700000000)])))
    assert answer.status_code == 200
    [message] = stored(cardio)
    assert (message.direction, message.type, message.text) == ("in", "text", "Hola")
    assert message.sent_at == datetime(2023, 11, 14, 22, 13, 20)
    assert message.phone_number_id == NUMBER_A and message.contact_wa_id == p.CUSTOMER
    assert message.raw["text"] == {"body": "Hola"}
    contact = db.session.execute(select(Contact).where(Contact.product_id == cardio.id)).scalar_one()
    assert (contact.wa_id, contact.profile_name) == (p.CUSTOMER, p.CUSTOMER_NAME)
    conversation = db.session.get(Conversation, message.conversation_id)
    assert conversation.contact_id == contact.id and conversation.phone_number_id == NUMBER_A
    assert conversation.unread_count == 1
    assert conversation.last_message_preview == "Hola"
    assert conversation.last_inbound_at == conversation.last_message_at == message.sent_at


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda: p.image_message("wamid.M"), {"type": "image", "media_id": "1003383421387256", "media_mime_type": "image/jpeg", "text": "Our new office"}),
        (lambda: p.document_message("wamid.M"), {"type": "document", "media_filename": "invoice.pdf", "media_mime_type": "application/pdf", "text": "March invoice"}),
        (lambda: p.audio_message("wamid.M"), {"type": "audio", "media_id": "1003383421387257", "media_mime_type": "audio/ogg; codecs=opus"}),
        (lambda: p.video_message("wamid.M"), {"type": "video", "media_id": "1003383421387258"}),
        (lambda: p.sticker_message("wamid.M"), {"type": "sticker", "media_mime_type": "image/webp"}),
        (lambda: p.location_message("wamid.M"), {"type": "location", "latitude": 37.483307, "longitude": -122.148981, "location_name": "Philz Coffee", "location_address": "1 Hacker Way, Menlo Park, CA 94025"}),
        (lambda: p.contacts_message("wamid.M"), {"type": "contacts", "text": "Barbara J. Johnson (+1 (940) 555-1234)"}),
        (lambda: p.button_reply_message("wamid.M"), {"type": "interactive", "reply_id": "change-button", "reply_title": "Change", "context_wamid": "wamid.out.1"}),
        (lambda: p.list_reply_message("wamid.M"), {"type": "interactive", "reply_id": "priority_express", "reply_title": "Express Shipping"}),
        (lambda: p.quick_reply_button_message("wamid.M"), {"type": "button", "reply_id": "No-Button-Payload", "reply_title": "No", "context_wamid": "wamid.out.template"}),
        (lambda: p.unsupported_message("wamid.M"), {"type": "unsupported", "text": "Message type unknown: Message type is currently not supported."}),
        (lambda: p.inbound("wamid.M", "hologram", {"id": "h1", "depth": 3}), {"type": "hologram"}),
    ],
)
def test_each_message_type_is_stored(client, two_products, build, expected):
    cardio, _ = two_products
    message = build()
    assert p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [message]))).status_code == 200
    [row] = stored(cardio)
    assert {key: getattr(row, key) for key in expected} == expected
    assert row.raw == message  # the raw JSON is kept, so new types can be shown later


def test_unknown_type_previews_as_unsupported(client, two_products):
    cardio, _ = two_products
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.inbound("wamid.X", "hologram", {"id": "h"})])))
    conversation = db.session.execute(select(Conversation).where(Conversation.product_id == cardio.id)).scalar_one()
    assert conversation.last_message_preview == "Unsupported message (hologram)"


def test_forwarded_flag_and_reply_context(client, two_products):
    cardio, _ = two_products
    forwarded = p.text_message("wamid.F", "fwd", context={"forwarded": True})
    reply = p.text_message("wamid.R", "re", context={"from": p.DISPLAY_NUMBER, "id": "wamid.original"})
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [forwarded, reply])))
    rows = {m.wamid: m for m in stored(cardio)}
    assert rows["wamid.F"].forwarded is True and rows["wamid.F"].context_wamid is None
    assert rows["wamid.R"].forwarded is False and rows["wamid.R"].context_wamid == "wamid.original"


def test_reaction_attaches_to_its_message_and_empty_emoji_removes_it(client, two_products):
    cardio, _ = two_products
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.T", "hi", timestamp=1700000000)])))
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.reaction_message("wamid.R1", "wamid.T", "\U0001F44D", timestamp=1700000010)])))
    [target] = stored(cardio, wamid="wamid.T")
    assert target.reaction_emoji == "\U0001F44D"
    conversation = db.session.get(Conversation, target.conversation_id)
    assert conversation.unread_count == 1  # a reaction is not a new message to read
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.reaction_message("wamid.R2", "wamid.T", "", timestamp=1700000020)])))
    db.session.expire_all()
    assert db.session.get(Message, target.id).reaction_emoji is None
    # A late redelivery of the first reaction does not bring it back.
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.reaction_message("wamid.R1", "wamid.T", "\U0001F44D", timestamp=1700000010)])))
    db.session.expire_all()
    assert db.session.get(Message, target.id).reaction_emoji is None


def test_reactions_stored_out_of_order_show_the_latest_one(client, two_products):
    """Meta reorders (and drains store side by side): a removal, or a newer reaction, stored
    before an older reaction is not undone by it."""
    cardio, _ = two_products
    post = lambda *messages: p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, list(messages))))  # noqa: E731
    post(p.text_message("wamid.T", "hi", timestamp=1700000000))
    post(p.reaction_message("wamid.R3", "wamid.T", "\U0001F44D", timestamp=1700000030))
    post(p.reaction_message("wamid.R2", "wamid.T", "", timestamp=1700000020))  # an older removal, late
    post(p.reaction_message("wamid.R1", "wamid.T", "\U0001F600", timestamp=1700000010))  # an older reaction, later still
    [target] = stored(cardio, wamid="wamid.T")
    assert target.reaction_emoji == "\U0001F44D"
    post(p.reaction_message("wamid.R4", "wamid.T", "", timestamp=1700000040))  # the newest: a removal
    db.session.expire_all()
    assert db.session.get(Message, target.id).reaction_emoji is None


def test_a_reaction_that_comes_before_its_message_shows_once_the_message_is_stored(client, two_products):
    cardio, flex = two_products
    post = lambda number, *messages: p.post_signed(client, p.envelope(p.messages_change(number, list(messages))))  # noqa: E731
    post(NUMBER_A, p.reaction_message("wamid.R1", "wamid.late", "\U0001F600", timestamp=1700000010),
         p.reaction_message("wamid.R2", "wamid.late", "\U0001F44D", timestamp=1700000020))
    post(NUMBER_B, p.reaction_message("wamid.RB", "wamid.late", "\U0001F622", timestamp=1700000030))  # another product's
    post(NUMBER_A, p.text_message("wamid.late", "the message reacted to", timestamp=1700000000))
    [target] = stored(cardio, wamid="wamid.late")
    assert target.reaction_emoji == "\U0001F44D"  # the latest of its own product's reactions
    conversation = db.session.get(Conversation, target.conversation_id)
    assert conversation.unread_count == 1  # reactions are not messages to read
    post(NUMBER_B, p.text_message("wamid.late", "same id, other product", timestamp=1700000000))
    [other] = stored(flex, wamid="wamid.late")
    assert other.reaction_emoji == "\U0001F622"


def test_batch_of_entries_and_changes_for_two_products(client, two_products):
    """2 entries x 2 changes (pywa and Chatwoot store only the first): every product sees only its own."""
    cardio, flex = two_products
    body = p.envelope(
        p.entry(WABA_A,
                p.messages_change(NUMBER_A, [p.text_message("wamid.A1", "a1")]),
                p.messages_change(NUMBER_A, [p.text_message("wamid.A2", "a2", sender="5491100000001")])),
        p.entry(WABA_B,
                p.messages_change(NUMBER_B, [p.text_message("wamid.B1", "b1")]),
                p.messages_change(NUMBER_B, [p.text_message("wamid.B2", "b2"), p.image_message("wamid.B3")])),
    )
    answer = p.post_signed(client, body)
    assert answer.status_code == 200 and answer.json["stored"] == 5
    assert [m.wamid for m in stored(cardio)] == ["wamid.A1", "wamid.A2"]
    assert [m.wamid for m in stored(flex)] == ["wamid.B1", "wamid.B2", "wamid.B3"]
    # The same customer writing to both products is two contacts, one per product.
    assert {c.product_id for c in db.session.execute(select(Contact).where(Contact.wa_id == p.CUSTOMER)).scalars()} == {cardio.id, flex.id}
    flex_conversation = db.session.execute(select(Conversation).where(Conversation.product_id == flex.id)).scalar_one()
    assert flex_conversation.unread_count == 3


def test_routing_uses_only_phone_number_id(client, two_products):
    """The entry id (WABA) and display number of product A cannot pull B's number into A."""
    cardio, flex = two_products
    change = p.messages_change(NUMBER_B, [p.text_message("wamid.only-b")], display_number="15550783881")
    p.post_signed(client, p.envelope(p.entry(WABA_A, change)))
    assert stored(cardio) == [] and [m.wamid for m in stored(flex)] == ["wamid.only-b"]


def test_profile_name_is_updated_and_kept(client, two_products):
    cardio, _ = two_products
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.1")], name="Kerry")))
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.2")], name="Kerry F.")))
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.3")], contacts=[])))
    contact = db.session.execute(select(Contact).where(Contact.product_id == cardio.id)).scalar_one()
    assert contact.profile_name == "Kerry F."
    conversation = db.session.execute(select(Conversation).where(Conversation.product_id == cardio.id)).scalar_one()
    assert conversation.unread_count == 3


def test_older_message_does_not_replace_the_latest_preview(client, two_products):
    cardio, _ = two_products
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.new", "newest", timestamp=1700000100)])))
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.old", "older", timestamp=1700000000)])))
    conversation = db.session.execute(select(Conversation).where(Conversation.product_id == cardio.id)).scalar_one()
    assert conversation.last_message_preview == "newest"
    assert conversation.last_message_at == datetime(2023, 11, 14, 22, 15)
    assert conversation.unread_count == 2
