"""Meta's template webhooks update the right product's template, exactly once.

Payloads as Meta's webhook references show them
(developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/
message_template_status_update, message_template_quality_update,
message_template_components_update, template_category_update): WABA-level changes whose
entry id is the WhatsApp Business Account, with no phone_number_id.
"""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import MessageTemplate, UnroutedChange
from tests.webhook import payloads as p

from .conftest import WABA_A, WABA_B


def _both(tenants, make_template):
    """The same template name and language in each product's own WABA (and Meta id per WABA)."""
    cardio, flex = tenants
    return (make_template(cardio, WABA_A, status="PENDING", meta_id="1280542053127935"),
            make_template(flex, WABA_B, status="PENDING", meta_id="1280542053120000"))


def _fresh(template) -> MessageTemplate:
    db.session.expire_all()
    return db.session.get(MessageTemplate, template.id)


def _post(client, waba_id, field, value):
    return p.post_signed(client, p.envelope(p.entry(waba_id, p.field_change(field, value))))


def test_status_update_approves_only_the_wabas_product_template(client, tenants, make_template):
    mine, theirs = _both(tenants, make_template)
    value = {"event": "APPROVED", "message_template_id": 1280542053127935, "message_template_name": "order_update",
             "message_template_language": "en_US", "reason": "NONE", "message_template_category": "UTILITY"}
    assert _post(client, WABA_A, "message_template_status_update", value).status_code == 200
    assert _fresh(mine).status == "APPROVED" and _fresh(mine).rejected_reason is None
    assert _fresh(theirs).status == "PENDING"


def test_rejection_keeps_metas_reason_and_a_redelivery_never_undoes_a_later_status(client, tenants, make_template):
    mine, theirs = _both(tenants, make_template)
    rejected = {"event": "REJECTED", "message_template_id": 1280542053127935, "message_template_name": "order_update",
                "message_template_language": "en_US", "reason": "INCORRECT_CATEGORY"}
    _post(client, WABA_A, "message_template_status_update", rejected)
    assert (_fresh(mine).status, _fresh(mine).rejected_reason) == ("REJECTED", "INCORRECT_CATEGORY")
    paused = {"event": "PAUSED", "message_template_id": 1280542053127935, "message_template_name": "order_update",
              "message_template_language": "en_US", "reason": "NONE",
              "other_info": {"title": "FIRST_PAUSE", "description": "Your WhatsApp message template has been paused."}}
    _post(client, WABA_A, "message_template_status_update", paused)
    assert _fresh(mine).status == "PAUSED"
    assert "Your WhatsApp message template has been paused." in _fresh(mine).rejected_reason
    # Meta delivers at least once: the same REJECTED change again is stored once, not applied again.
    assert _post(client, WABA_A, "message_template_status_update", rejected).json["events"] == 0
    assert _fresh(mine).status == "PAUSED"
    assert _fresh(theirs).status == "PENDING"


def test_quality_category_and_components_updates(client, tenants, make_template):
    mine, theirs = _both(tenants, make_template)
    _post(client, WABA_A, "message_template_quality_update", {
        "previous_quality_score": "GREEN", "new_quality_score": "YELLOW", "message_template_id": 1280542053127935,
        "message_template_name": "order_update", "message_template_language": "en_US"})
    _post(client, WABA_A, "template_category_update", {
        "message_template_id": 1280542053127935, "message_template_name": "order_update",
        "message_template_language": "en_US", "previous_category": "UTILITY", "new_category": "MARKETING"})
    _post(client, WABA_A, "message_template_components_update", {
        "message_template_id": 1280542053127935, "message_template_name": "order_update",
        "message_template_language": "en_US", "message_template_element": "Hi {{1}}, order {{2}} is on its way.",
        "message_template_title": "Your order", "message_template_footer": "Reply STOP to opt out",
        "message_template_buttons": [{"message_template_button_type": "URL", "message_template_button_text": "Track",
                                      "message_template_button_url": "https://shop.example/t/{{1}}"}]})
    template = _fresh(mine)
    assert (template.quality_score, template.category) == ("YELLOW", "MARKETING")
    assert template.components == [
        {"type": "HEADER", "format": "TEXT", "text": "Your order"},
        {"type": "BODY", "text": "Hi {{1}}, order {{2}} is on its way."},
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}"}]},
    ]
    other = _fresh(theirs)
    assert (other.quality_score, other.category, other.components) == (None, "UTILITY", theirs.components)


def test_an_event_for_a_template_not_synced_yet_keeps_what_it_says(client, tenants):
    cardio, flex = tenants
    _post(client, WABA_B, "message_template_status_update", {
        "event": "APPROVED", "message_template_id": 555, "message_template_name": "welcome",
        "message_template_language": "es", "reason": "NONE", "message_template_category": "MARKETING"})
    [made] = db.session.execute(select(MessageTemplate)).scalars().all()
    assert (made.product_id, made.business_account_id, made.name, made.language, made.status, made.meta_id) == (
        flex.id, WABA_B, "welcome", "es", "APPROVED", "555")


def test_a_waba_no_product_has_is_kept_unrouted(client, tenants, make_template):
    mine, theirs = _both(tenants, make_template)
    value = {"event": "APPROVED", "message_template_id": 1280542053127935, "message_template_name": "order_update",
             "message_template_language": "en_US", "reason": "NONE"}
    assert _post(client, "999999999999999", "message_template_status_update", value).status_code == 200
    [kept] = db.session.execute(select(UnroutedChange)).scalars().all()
    assert (kept.business_account_id, kept.field) == ("999999999999999", "message_template_status_update")
    assert _fresh(mine).status == "PENDING" and _fresh(theirs).status == "PENDING"
