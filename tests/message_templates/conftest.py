"""Fixtures for templates: two products, each with a number in its own WhatsApp Business
Account, a fake Graph on `responses`, and a helper that stores templates directly."""
from __future__ import annotations

import pytest
import responses

from portal.extensions import db
from portal.models import Contact, Conversation, MessageTemplate, WhatsAppAccount, utcnow
from tests.conftest import TEST_GRAPH_URL

G = f"{TEST_GRAPH_URL}/v25.0"
WABA_A, WABA_B = "102290129340398", "102290129340777"
NUMBER_A, NUMBER_B = "106540352242922", "106540352242999"


@pytest.fixture
def graph():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def tenants(make_product):
    """Cardio Plus owns NUMBER_A in WABA_A; Flex 60 owns NUMBER_B in WABA_B."""
    cardio, flex = make_product("Cardio Plus"), make_product("Flex 60")
    for product, number, waba, token in ((cardio, NUMBER_A, WABA_A, "EAAG-cardio-token-123"),
                                         (flex, NUMBER_B, WABA_B, "EAAG-flex-token-456")):
        db.session.add(WhatsAppAccount(product_id=product.id, phone_number_id=number, business_account_id=waba,
                                       access_token=token, phone_number="+1 555-078-3881", display_name="Test"))
    db.session.commit()
    return cardio, flex


@pytest.fixture
def make_template(app):
    def make(product, waba_id=WABA_A, name="order_update", language="en_US", status="APPROVED", components=None,
             parameter_format="POSITIONAL", meta_id=None, category="UTILITY") -> MessageTemplate:
        template = MessageTemplate(
            product_id=product.id, business_account_id=waba_id, name=name, language=language, status=status,
            category=category, parameter_format=parameter_format, meta_id=meta_id,
            components=components if components is not None else [{"type": "BODY", "text": "Hello {{1}}, your order {{2}} shipped."}],
        )
        db.session.add(template)
        db.session.commit()
        return template

    return make


@pytest.fixture
def make_conversation(app):
    def make(product, number=NUMBER_A, wa_id="15551230001", last_inbound_at="now") -> Conversation:
        contact = Contact(product_id=product.id, wa_id=wa_id, profile_name="Ana")
        db.session.add(contact)
        db.session.flush()
        conversation = Conversation(product_id=product.id, phone_number_id=number, contact_id=contact.id,
                                    last_inbound_at=utcnow() if last_inbound_at == "now" else last_inbound_at)
        db.session.add(conversation)
        db.session.commit()
        return conversation

    return make
