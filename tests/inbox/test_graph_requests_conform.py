"""The portal's own Graph requests checked against Meta's OpenAPI document (facebook/openapi
business-messaging-api_v23.0.yaml, read by portal/sandbox/openapi.py with its errata): the reply and
read-receipt bodies it builds, and the `fields` discovery asks for."""
from __future__ import annotations

import json

import responses
from sqlalchemy import update

from portal.extensions import db
from portal.meta import discovery
from portal.models import Message
from portal.sandbox import openapi
from tests.conftest import TEST_GRAPH_URL

from .test_conversations import conv_url
from .test_sending import graph_ok, post

GRAPH = f"{TEST_GRAPH_URL}/v25.0"


def _sent_bodies() -> list[dict]:
    return [json.loads(call.request.body) for call in responses.calls if call.request.body]


@responses.activate
def test_reply_bodies_conform_to_meta_send_schema(client, auth, inbox, two_products):
    tenant = two_products[0]
    for n in range(3):
        graph_ok(tenant, wamid=f"wamid.SENT{n}")
    auth.as_member(tenant.product)
    assert post(client, auth, tenant, body="Hello there").status_code == 200
    quoted = inbox.message(tenant.conversation, text="earlier", wamid="wamid.EARLIER")
    assert post(client, auth, tenant, body="About that", reply_to=str(quoted.id)).status_code == 200
    bsuid_only = inbox.conversation(tenant.account, user_id="US.13491208655302741918", name="Elena")
    tenant.conversation = bsuid_only
    assert post(client, auth, tenant, body="Hi Elena").status_code == 200
    bodies = _sent_bodies()
    assert len(bodies) == 3
    for body in bodies:
        assert openapi.request_problems(openapi.SEND, "POST", body) == [], body
    assert bodies[2]["recipient"] == "US.13491208655302741918" and "to" not in bodies[2]


@responses.activate
def test_read_receipt_conforms(app, client, auth, two_products):
    cardio = two_products[0]
    app.config["META_SEND_READ_RECEIPTS"] = True
    responses.post(f"{GRAPH}/{cardio.account.phone_number_id}/messages", json={"success": True})
    db.session.execute(update(Message).values(read_at=None).execution_options(all_products=True))
    cardio.conversation.unread_count = 1
    db.session.commit()
    auth.as_member(cardio.product)
    client.get(conv_url(cardio))
    [body] = _sent_bodies()
    assert openapi.request_problems(openapi.SEND, "POST", body) == []


def _fields_of(path: str) -> set[str]:
    """The fields an operation's answer (or its list items) can hold, per Meta's document."""
    schema = openapi.operation(path, "GET")["responses"]["200"]["content"]["application/json"]["schema"]
    schemas = openapi.mended()["components"]["schemas"]
    node = schemas[schema["$ref"].rsplit("/", 1)[1]]
    if "data" in node.get("properties", {}):
        node = schemas[node["properties"]["data"]["items"]["$ref"].rsplit("/", 1)[1]]
    return set(node["properties"])


@responses.activate
def test_discovery_asks_only_for_fields_meta_has(app):
    responses.get(f"{GRAPH}/3100/phone_numbers", json={"data": [{"id": "4100", "display_phone_number": "+1 555"}]})
    responses.get(f"{GRAPH}/3100", json={"id": "3100", "name": "Cardio"})
    with app.app_context():
        discovery.phone_numbers("token", "3100")
        discovery.business_account_name("token", "3100")
    asked = {call.request.url.split("?")[0].rsplit("/", 1)[1]: call.request.params["fields"].split(",")
             for call in responses.calls}
    assert set(asked["phone_numbers"]) <= _fields_of(openapi.PHONE_NUMBERS)
    assert set(asked["3100"]) <= _fields_of(openapi.WABA)
