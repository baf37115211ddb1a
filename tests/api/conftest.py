"""API fixtures: products with a number, a conversation and a key; a client that sends the key."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from portal.api.keys import create_key
from portal.extensions import db
from portal.models import Contact, Conversation, Message, Product, WhatsAppAccount
from tests.conftest import TEST_GRAPH_URL
from tests.inbox.conftest import Inbox

GRAPH = f"{TEST_GRAPH_URL}/v25.0"


@dataclass
class ApiTenant:
    product: Product
    account: WhatsAppAccount
    conversation: Conversation
    message: Message
    key: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def contact(self) -> Contact:
        return self.conversation.contact


def make_api_tenant(make_product, name: str) -> ApiTenant:
    inbox = Inbox()
    product = make_product(name)
    account = inbox.account(product)
    conversation = inbox.conversation(account, name=f"Customer of {name}")
    message = inbox.message(conversation, text=f"hello {name}")
    api_key, key = create_key(product.id, "CRM")
    db.session.commit()
    return ApiTenant(product, account, conversation, message, key)


@pytest.fixture
def api_tenants(app, make_product):
    """Two products (Cardio Plus, Flex 60), each with a number, an open conversation, a message and a key."""
    return make_api_tenant(make_product, "Cardio Plus"), make_api_tenant(make_product, "Flex 60")


def graph_sent(tenant: ApiTenant, wamid: str = "wamid.API1"):
    import responses

    responses.post(f"{GRAPH}/{tenant.account.phone_number_id}/messages",
                   json={"messaging_product": "whatsapp", "contacts": [{"input": "x", "wa_id": "x"}],
                         "messages": [{"id": wamid}]})
