"""Delivery statuses only move forward; early statuses wait for their message."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from portal.extensions import db
from portal.models import Message, PendingStatus
from portal.webhook.statuses import apply_pending_statuses
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, NUMBER_B


def outbound(product, wamid="wamid.OUT1", status="sent") -> Message:
    message = Message(product_id=product.id, phone_number_id=NUMBER_A, contact_wa_id=p.CUSTOMER, wamid=wamid,
                      direction="out", type="text", text="Your order shipped", status=status)
    db.session.add(message)
    db.session.commit()
    return message


def send_statuses(client, *items, number=NUMBER_A):
    answer = p.post_signed(client, p.envelope(p.messages_change(number, statuses=list(items))))
    assert answer.status_code == 200
    db.session.expire_all()
    return answer


def test_statuses_move_forward_and_late_delivered_changes_nothing(client, two_products):
    cardio, _ = two_products
    message = outbound(cardio)
    send_statuses(client, p.status("wamid.OUT1", "delivered", timestamp=1700000010))
    assert db.session.get(Message, message.id).status == "delivered"
    send_statuses(client, p.status("wamid.OUT1", "read", timestamp=1700000020))
    send_statuses(client, p.status("wamid.OUT1", "delivered", timestamp=1700000015))
    send_statuses(client, p.status("wamid.OUT1", "sent", timestamp=1700000005))
    row = db.session.get(Message, message.id)
    assert row.status == "read"
    assert row.status_at == datetime(2023, 11, 14, 22, 13, 40)


def test_statuses_in_one_batch_in_any_order_end_on_the_furthest(client, two_products):
    cardio, _ = two_products
    message = outbound(cardio)
    send_statuses(client, p.status("wamid.OUT1", "read"), p.status("wamid.OUT1", "sent"), p.status("wamid.OUT1", "delivered"))
    assert db.session.get(Message, message.id).status == "read"


def test_failed_keeps_metas_error(client, two_products):
    cardio, _ = two_products
    message = outbound(cardio)
    send_statuses(client, p.status("wamid.OUT1", "failed", error=(131047, "Re-engagement message")))
    row = db.session.get(Message, message.id)
    assert (row.status, row.error_code, row.error_title) == ("failed", 131047, "Re-engagement message")
    send_statuses(client, p.status("wamid.OUT1", "delivered"))
    assert db.session.get(Message, message.id).status == "failed"


def test_status_before_its_message_is_kept_then_applied(client, two_products):
    cardio, _ = two_products
    send_statuses(client, p.status("wamid.EARLY", "delivered"), p.status("wamid.EARLY", "read"))
    send_statuses(client, p.status("wamid.EARLY", "read"))  # a redelivery is kept once
    kept = db.session.execute(select(PendingStatus.status).where(PendingStatus.wamid == "wamid.EARLY")).scalars().all()
    assert sorted(kept) == ["delivered", "read"]
    # The inbox stores its outbound message with the wamid Meta returned, then applies what was kept.
    message = outbound(cardio, wamid="wamid.EARLY")
    assert apply_pending_statuses(cardio.id, "wamid.EARLY") == 2
    db.session.commit()
    assert db.session.get(Message, message.id).status == "read"
    assert db.session.execute(select(PendingStatus)).first() is None


def test_status_never_touches_another_products_message(client, two_products):
    """A status routed to Flex 60's number does not move Cardio Plus's message with that wamid."""
    cardio, flex = two_products
    message = outbound(cardio, wamid="wamid.SHARED")
    send_statuses(client, p.status("wamid.SHARED", "read"), number=NUMBER_B)
    assert db.session.get(Message, message.id).status == "sent"
    [kept] = db.session.execute(select(PendingStatus)).scalars().all()
    assert kept.product_id == flex.id


def test_status_does_not_apply_to_an_inbound_message(client, two_products):
    cardio, _ = two_products
    p.post_signed(client, p.envelope(p.messages_change(NUMBER_A, [p.text_message("wamid.IN")])))
    send_statuses(client, p.status("wamid.IN", "read"))
    inbound = db.session.execute(select(Message).where(Message.wamid == "wamid.IN")).scalar_one()
    assert inbound.status is None


def test_apply_pending_statuses_with_nothing_kept(app, two_products):
    cardio, _ = two_products
    assert apply_pending_statuses(cardio.id, "wamid." + uuid.uuid4().hex) == 0
