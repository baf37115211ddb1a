"""Inbox fixtures: rows inserted directly through the models, as the webhook feature stores them.

Tests run outside product scope, so every row names its product explicitly.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import Contact, Conversation, Message, Product, WhatsAppAccount, utcnow

_serial = itertools.count(1)


@dataclass
class Inbox:
    """Makes accounts, conversations and messages for tests."""

    def account(self, product: Product, phone_number_id: str | None = None, token: str | None = None,
                **fields) -> WhatsAppAccount:
        n = next(_serial)
        account = WhatsAppAccount(
            product_id=product.id, phone_number_id=phone_number_id or f"10{n:06d}",
            business_account_id=f"20{n:06d}", access_token=token or f"EAAG-token-{n}",
            phone_number=fields.pop("phone_number", f"+591 7000{n:04d}"), **fields,
        )
        db.session.add(account)
        db.session.commit()
        return account

    def conversation(self, account: WhatsAppAccount, wa_id: str | None = None, name: str | None = "Ana",
                     last_inbound_at="now", user_id: str | None = None) -> Conversation:
        """A conversation with a new contact: by phone number (`wa_id`, made up when not given), or
        by business-scoped user id only (`user_id`, no phone number)."""
        contact = Contact(product_id=account.product_id, profile_name=name, user_id=user_id,
                          wa_id=None if user_id and not wa_id else wa_id or f"5917{next(_serial):07d}")
        db.session.add(contact)
        db.session.flush()
        conversation = Conversation(
            product_id=account.product_id, phone_number_id=account.phone_number_id, contact_id=contact.id,
            last_inbound_at=utcnow() if last_inbound_at == "now" else last_inbound_at,
        )
        db.session.add(conversation)
        db.session.commit()
        return conversation

    def message(self, conversation: Conversation, text: str | None = "hello", direction: str = "in",
                created_at=None, **fields) -> Message:
        n = next(_serial)
        now = created_at or utcnow()
        message = Message(
            product_id=conversation.product_id, conversation_id=conversation.id,
            phone_number_id=conversation.phone_number_id, contact_wa_id=conversation.contact.wa_id,
            wamid=fields.pop("wamid", f"wamid.{n:010d}"), direction=direction, type=fields.pop("type", "text"),
            text=text, created_at=now, sent_at=fields.pop("sent_at", now if direction == "in" else None), **fields,
        )
        if direction == "out" and "status" not in fields:
            message.status = "sent"
        db.session.add(message)
        conversation.last_message_at = now
        conversation.last_message_preview = (text or message.type)[:200]
        if direction == "in":
            conversation.unread_count += 1
        db.session.commit()
        return message


@pytest.fixture
def inbox(app):
    return Inbox()


@dataclass
class Tenant:
    product: Product
    account: WhatsAppAccount
    conversation: Conversation


@pytest.fixture
def two_products(app, make_product, inbox):
    """Two products, each with a number and a conversation, and interleaved traffic."""
    tenants = []
    for name in ("Cardio Plus", "Flex 60"):
        product = make_product(name)
        account = inbox.account(product)
        tenants.append(Tenant(product, account, inbox.conversation(account, name=f"Customer of {name}")))
    start = utcnow() - timedelta(minutes=10)
    for i in range(6):
        tenant = tenants[i % 2]
        inbox.message(tenant.conversation, text=f"{tenant.product.name} message {i}", created_at=start + timedelta(seconds=i))
    return tenants


def feed_url(product, **query) -> str:
    from urllib.parse import urlencode

    return f"/p/{product.id}/feed" + ("?" + urlencode(query) if query else "")
