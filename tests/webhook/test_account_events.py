"""Other fields are kept per product as account events; some change the account."""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import NEEDS_RECONNECT, AccountEvent, AuditEvent, UnroutedChange, WhatsAppAccount
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, NUMBER_B, WABA_A, WABA_B


def account(number) -> WhatsAppAccount:
    db.session.expire_all()
    return db.session.execute(select(WhatsAppAccount).where(WhatsAppAccount.phone_number_id == number)).scalar_one()


def events_of(product):
    return list(db.session.execute(select(AccountEvent).where(AccountEvent.product_id == product.id)).scalars())


def test_template_status_update_is_kept_once_for_the_wabas_product(client, two_products):
    cardio, flex = two_products
    change = p.field_change("message_template_status_update", {
        "event": "APPROVED", "message_template_id": 1280542053127935, "message_template_name": "order_shipped",
        "message_template_language": "en_US", "reason": "NONE"})
    body = p.envelope(p.entry(WABA_A, change))
    assert p.post_signed(client, body).json["events"] == 1
    assert p.post_signed(client, body).json["events"] == 0  # redelivered: kept once
    [event] = events_of(cardio)
    assert event.field == "message_template_status_update" and event.business_account_id == WABA_A
    assert event.payload["change"] == change
    assert events_of(flex) == []


def test_quality_update_changes_the_numbers_quality(client, two_products):
    cardio, _ = two_products
    flagged = p.field_change("phone_number_quality_update", {
        "display_phone_number": "15550783881", "event": "FLAGGED", "current_limit": "TIER_10K"})
    p.post_signed(client, p.envelope(p.entry(WABA_A, flagged)))
    assert account(NUMBER_A).quality_rating == "RED"
    assert account(NUMBER_B).quality_rating is None
    unflagged = p.field_change("phone_number_quality_update", {
        "display_phone_number": "15550783881", "event": "UNFLAGGED", "current_limit": "TIER_10K"})
    p.post_signed(client, p.envelope(p.entry(WABA_A, unflagged)))
    assert account(NUMBER_A).quality_rating == "GREEN"
    assert len(events_of(cardio)) == 2


def test_partner_app_uninstalled_marks_the_accounts_for_reconnect(client, two_products):
    cardio, _ = two_products
    change = p.field_change("account_update", {"event": "PARTNER_APP_UNINSTALLED"})
    p.post_signed(client, p.envelope(p.entry(WABA_A, change)))
    assert account(NUMBER_A).state == NEEDS_RECONNECT
    assert account(NUMBER_B).state != NEEDS_RECONNECT
    audit = db.session.execute(select(AuditEvent).where(AuditEvent.product_id == cardio.id)).scalar_one()
    assert audit.action == "whatsapp.needs_reconnect" and audit.detail["event"] == "PARTNER_APP_UNINSTALLED"


def test_account_deleted_marks_reconnect(client, two_products):
    change = p.field_change("account_update", {"phone_number": "59122222222", "event": "ACCOUNT_DELETED"})
    p.post_signed(client, p.envelope(p.entry(WABA_B, change)))
    assert account(NUMBER_B).state == NEEDS_RECONNECT
    assert account(NUMBER_A).state != NEEDS_RECONNECT


def test_other_field_with_a_phone_number_id_routes_by_it(client, two_products):
    _, flex = two_products
    change = p.field_change("message_echoes", {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "x", "phone_number_id": NUMBER_B}})
    p.post_signed(client, p.envelope(p.entry(WABA_A, change)))
    [event] = events_of(flex)
    assert event.phone_number_id == NUMBER_B


def test_change_with_errors_is_kept_as_an_event(client, two_products):
    cardio, _ = two_products
    change = p.messages_change(NUMBER_A)
    change["value"]["errors"] = [{"code": 131000, "title": "Something went wrong", "message": "Something went wrong"}]
    p.post_signed(client, p.envelope(change))
    [event] = events_of(cardio)
    assert event.payload["change"]["value"]["errors"][0]["code"] == 131000


def test_event_for_an_unknown_waba_is_kept_unrouted(client, two_products):
    change = p.field_change("account_alerts", {"entity_type": "WABA", "entity_id": "999", "alert_info": {"alert_severity": "WARNING"}})
    p.post_signed(client, p.envelope(p.entry("999000999", change)))
    [kept] = db.session.execute(select(UnroutedChange)).scalars().all()
    assert kept.business_account_id == "999000999" and kept.field == "account_alerts"
