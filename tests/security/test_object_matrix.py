"""Every route with an object of product A in its URL: a member of product B gets 404, every method.

Routes and their id parameters come from app.url_map; each id parameter name
needs a factory below, so a new kind of object in a URL fails this test until
it is covered.
"""
import re
import uuid
from datetime import timedelta

import pytest

from portal import create_app
from portal.extensions import db
from portal.api.keys import create_key
from portal.models import (
    CannedReply, Contact, Conversation, ConversationNote, Invitation, Membership, Message, MessageTemplate,
    OutgoingDelivery, WhatsAppAccount, utcnow,
)
from portal.outgoing import events as outgoing_events
from portal.outgoing.endpoints import add_endpoint
from tests.conftest import _test_config


def _objects_of(product, owner_membership):
    """One object of each kind that appears in product URLs, all belonging to `product`."""
    suffix = uuid.uuid4().hex[:8]
    account = WhatsAppAccount(product_id=product.id, phone_number_id=f"pn-{suffix}", business_account_id="waba-a",
                              access_token="EAAobjectmatrixtoken" + suffix, phone_number="+591 1", display_name="A")
    contact = Contact(product_id=product.id, wa_id="59170000001", profile_name="Customer A")
    db.session.add_all([account, contact])
    db.session.flush()
    conversation = Conversation(product_id=product.id, phone_number_id=account.phone_number_id, contact_id=contact.id,
                                last_message_at=utcnow(), last_inbound_at=utcnow() - timedelta(minutes=5))
    db.session.add(conversation)
    db.session.flush()
    message = Message(product_id=product.id, conversation_id=conversation.id, phone_number_id=account.phone_number_id,
                      contact_wa_id=contact.wa_id, wamid=f"wamid.{suffix}", direction="in", type="image",
                      media_id="media-1", media_mime_type="image/png", sent_at=utcnow())
    canned = CannedReply(product_id=product.id, shortcut=f"hours{suffix}", body="8 to 18")
    conversation.status, conversation.assignee_user_id = "pending", owner_membership.user_id
    invitation = Invitation(product_id=product.id, token_hash=uuid.uuid4().hex * 2, role="admin",
                            expires_at=utcnow() + timedelta(days=1))
    template = MessageTemplate(product_id=product.id, business_account_id="waba-a", meta_id=f"tpl-{suffix}",
                               name="order_update", language="en_US", category="UTILITY", status="APPROVED",
                               components=[{"type": "BODY", "text": "Hello {{1}}, thanks"}])
    db.session.add_all([message, canned, invitation, template])
    api_key, _key = create_key(product.id, "CRM")
    endpoint = add_endpoint(product.id, "https://crm.example.com/hook", ["account.alert"])
    endpoint.paused_at = utcnow()  # the delivery waits: nothing is sent from this test
    db.session.commit()
    outgoing_events.record(product.id, "account.alert", {"field": "test"})
    db.session.commit()
    delivery = db.session.query(OutgoingDelivery).filter_by(product_id=product.id).one()
    return {
        "api_key_id": api_key.id,
        "endpoint_id": endpoint.id,
        "delivery_id": delivery.id,
        "membership_id": owner_membership.id,
        "account_id": account.id,
        "conversation_id": conversation.id,
        "message_id": message.id,
        "contact_id": contact.id,
        "canned_reply_id": canned.id,
        "invitation_id": invitation.id,
        "template_id": template.id,
    }


def fill_rule(rule: str, product_id, objects: dict) -> str:
    """A product route's URL with `product_id` and the ids of `objects` (from _objects_of) filled in."""
    url = rule.replace("<uuid:product_id>", str(product_id))
    for match in re.findall(r"<(?:\w+:)?(\w+)>", url):
        url = re.sub(rf"<(?:\w+:)?{match}>", str(objects[match]), url)
    return url


def _routes_with_objects():
    app = create_app(_test_config("sqlite://"))
    for rule in app.url_map.iter_rules():
        extra = sorted(set(rule.arguments) - {"product_id"})
        if rule.rule.startswith("/p/<uuid:product_id>") and extra:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.rule, method, tuple(extra)


ROUTES = sorted(set(_routes_with_objects()))


def test_there_are_object_routes():
    assert ROUTES


@pytest.mark.parametrize(("rule", "method", "params"), ROUTES)
def test_member_of_other_product_gets_404_for_its_objects(client, auth, make_product, rule, method, params):
    product_a = make_product("Cardio Plus")
    owner_a = db.session.query(Membership).filter_by(product_id=product_a.id).one()
    objects = _objects_of(product_a, owner_a)
    missing = [p for p in params if p not in objects]
    assert not missing, f"add a factory for {missing} in {__file__}"

    product_b = make_product("Flex 60")
    auth.as_member(product_b, role="owner")
    token = auth.csrf_token()
    # B's own product id with A's object ids, and A's product id outright.
    for product_id in (product_b.id, product_a.id):
        url = rule.replace("<uuid:product_id>", str(product_id))
        for name in params:
            url = url.replace(f"<uuid:{name}>", str(objects[name])).replace(f"<{name}>", str(objects[name]))
        response = client.open(url, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token})
        assert response.status_code == 404, (url, response.status_code)
    # Nothing of A changed.
    db.session.expire_all()
    assert db.session.get(WhatsAppAccount, objects["account_id"]).access_token.startswith("EAAobjectmatrixtoken")
    assert db.session.get(Membership, objects["membership_id"]).role == "owner"
    assert db.session.get(Message, objects["message_id"]) is not None
    conversation = db.session.get(Conversation, objects["conversation_id"])
    assert (conversation.status, conversation.assignee_user_id) == ("pending", owner_a.user_id)
    assert db.session.get(CannedReply, objects["canned_reply_id"]) is not None
    assert db.session.query(ConversationNote).count() == 0
    assert db.session.get(Invitation, objects["invitation_id"]).revoked_at is None
    assert db.session.get(MessageTemplate, objects["template_id"]).status == "APPROVED"
    from portal.models import ApiKey, OutgoingEndpoint

    assert db.session.get(ApiKey, objects["api_key_id"]).revoked_at is None
    assert db.session.get(OutgoingEndpoint, objects["endpoint_id"]) is not None
    assert db.session.get(OutgoingDelivery, objects["delivery_id"]).status == "paused"
