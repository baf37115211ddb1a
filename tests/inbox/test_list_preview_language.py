"""The conversation list says each conversation's latest message in the reader's language: it names
that message (conversations.last_message_id, migration 0023) and renders it as the feed does; the
stored preview stays English, for the API and for conversations stored before the list named it."""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Conversation, Message
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, two_products, link_number  # noqa: F401

ES = {"Accept-Language": "es"}
EN = {"Accept-Language": "en"}


def _conversation(product) -> Conversation:
    db.session.expire_all()
    return db.session.execute(select(Conversation).where(Conversation.product_id == product.id)).scalar_one()


def _list(client, product, headers) -> str:
    page = client.get(f"/p/{product.id}/conversations", headers=headers).get_data(as_text=True)
    return page[page.index('id="conversation-list"'):]


def test_a_photo_and_an_unsupported_message_are_previewed_in_each_readers_language(client, auth, two_products):
    cardio, _ = two_products
    # An image message as Meta's webhook reference shows it (Cloud API, "Image messages").
    assert p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.image_message("wamid.LP1")]))).status_code == 200
    auth.as_member(cardio)
    conversation = _conversation(cardio)
    photo = db.session.execute(select(Message).where(Message.wamid == "wamid.LP1")).scalar_one()
    assert conversation.last_message_id == photo.id
    assert conversation.last_message_preview == "Photo: Our new office"  # stored in English
    assert "Foto: Our new office" in _list(client, cardio, ES)
    assert "Photo: Our new office" in _list(client, cardio, EN)
    # An unsupported message (Meta's "unsupported" type with its errors) becomes the latest.
    unsupported = p.unsupported_message("wamid.LP2", timestamp=int(photo.sent_at.timestamp()) + 60)
    assert p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [unsupported]))).status_code == 200
    spanish = _list(client, cardio, ES)
    assert "Mensaje no compatible" in spanish and "Foto:" not in spanish
    assert 'data-preview="Mensaje no compatible' in spanish  # what a notification says, too
    assert "Unsupported message" in _list(client, cardio, EN)
    # The API answers machines with the stored line, in English whatever the reader's language.
    assert _conversation(cardio).last_message_preview.startswith("Unsupported message")


def test_an_older_message_delivered_late_does_not_take_the_preview(client, auth, two_products):
    cardio, _ = two_products
    later = p.text_message("wamid.LP3", "Hola", timestamp=1_800_000_000)
    earlier = p.image_message("wamid.LP4", timestamp=1_700_000_000)  # Meta delivers out of order
    for message in (later, earlier):
        assert p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [message]))).status_code == 200
    conversation = _conversation(cardio)
    hola = db.session.execute(select(Message).where(Message.wamid == "wamid.LP3")).scalar_one()
    assert (conversation.last_message_id, conversation.last_message_preview) == (hola.id, "Hola")


def test_a_conversation_stored_before_the_list_named_its_message_shows_its_stored_line(client, auth, two_products):
    cardio, _ = two_products
    assert p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.image_message("wamid.LP5")]))).status_code == 200
    conversation = _conversation(cardio)
    conversation.last_message_id = None  # as migration 0023 leaves the conversations it finds
    db.session.commit()
    auth.as_member(cardio)
    assert "Photo: Our new office" in _list(client, cardio, ES)


def test_a_conversation_naming_another_products_message_shows_its_own_stored_line(client, auth, two_products):
    """The list reads the named messages through the product scope: an id of another product's message
    (never written by the portal, but a column is only a column) shows nothing of that message."""
    cardio, flex = two_products
    from tests.webhook.conftest import NUMBER_B

    assert p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.LP6", "Hola")]))).status_code == 200
    theirs = p.envelope(p.messages_change(NUMBER_B, [p.text_message("wamid.LP7", "Flex secret plan")]))
    assert p.post_signed(client, theirs).status_code == 200
    flex_message = db.session.execute(select(Message).where(Message.wamid == "wamid.LP7")
                                      .execution_options(all_products=True)).scalar_one()
    conversation = _conversation(cardio)
    conversation.last_message_id = flex_message.id
    db.session.commit()
    auth.as_member(cardio)
    listed = _list(client, cardio, EN)
    assert "Flex secret plan" not in listed and "Hola" in listed
