"""Fixtures for webhook tests: linked numbers of two products."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import WhatsAppAccount

NUMBER_A = "106540352242922"
NUMBER_B = "106540352242999"
WABA_A = "102290129340398"
WABA_B = "102290129340777"


@pytest.fixture
def link_number(app):
    """Link a phone_number_id to a product, as the connect flow does."""

    def link(product, phone_number_id: str, waba_id: str = WABA_A, meta_user_id: str = "10158000000000001",
             phone_number: str = "+1 555-078-3881") -> WhatsAppAccount:
        account = WhatsAppAccount(
            product_id=product.id, phone_number_id=phone_number_id, business_account_id=waba_id,
            meta_user_id=meta_user_id, access_token="EAAG-test-token", oauth_access_token="EAAG-user-token",
            phone_number=phone_number, display_name="Test number",
        )
        db.session.add(account)
        db.session.commit()
        return account

    return link


@pytest.fixture
def two_products(make_product, link_number):
    """Cardio Plus owns NUMBER_A (WABA_A), Flex 60 owns NUMBER_B (WABA_B)."""
    cardio, flex = make_product("Cardio Plus"), make_product("Flex 60")
    link_number(cardio, NUMBER_A, WABA_A, phone_number="+1 555-078-3881")
    link_number(flex, NUMBER_B, WABA_B, meta_user_id="10158000000000002", phone_number="+591 2222 2222")
    return cardio, flex
