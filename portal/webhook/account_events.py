"""What some account events change: the number's quality, or the need to reconnect.

Called only for events this transaction inserted, so a redelivered event
does not act twice.
"""
from __future__ import annotations

import re

from sqlalchemy import select

from .. import audit
from . import alerts
from ..extensions import db
from ..labels import N_
from ..models import WhatsAppAccount

# Meta's phone_number_quality_update says FLAGGED / UNFLAGGED; newer payloads may name the rating.
QUALITY_BY_EVENT = {"FLAGGED": "RED", "UNFLAGGED": "GREEN"}
QUALITY_RATINGS = ("GREEN", "YELLOW", "RED", "UNKNOWN")
RECONNECT_EVENTS = {  # stored in English, translated where shown (N_ only marks them for the catalog)
    "PARTNER_APP_UNINSTALLED": N_("The business removed the app from its WhatsApp account: connect again."),
    "ACCOUNT_DELETED": N_("Meta reports the WhatsApp account was deleted: connect again."),
}


def apply_side_effects(rows: list[dict]) -> None:
    for row in rows:
        handler = _HANDLERS.get(row["field"])
        if handler:
            value = row["payload"]["change"].get("value")
            handler(row, value if isinstance(value, dict) else {})


def _digits(value) -> str:
    return re.sub(r"\D", "", value) if isinstance(value, str) else ""


def _accounts(row: dict, display_number=None) -> list[WhatsAppAccount]:
    """The product's accounts the event is about: its number if it names one, else its WABA's."""
    query = select(WhatsAppAccount).where(WhatsAppAccount.product_id == row["product_id"])
    if row["phone_number_id"]:
        query = query.where(WhatsAppAccount.phone_number_id == row["phone_number_id"])
    else:
        query = query.where(WhatsAppAccount.business_account_id == row["business_account_id"])
    found = list(db.session.execute(query.execution_options(all_products=True)).scalars())
    wanted = _digits(display_number)
    if wanted:
        found = [account for account in found if _digits(account.phone_number) == wanted] or (
            found if row["phone_number_id"] else []
        )
    return found


def _quality(row: dict, value: dict) -> None:
    rating = value.get("quality_rating") or QUALITY_BY_EVENT.get(value.get("event"))
    if not isinstance(rating, str) or rating.upper() not in QUALITY_RATINGS:
        return
    for account in _accounts(row, value.get("display_phone_number")):
        account.quality_rating = rating.upper()


def _account_update(row: dict, value: dict) -> None:
    event = value.get("event")
    alert = alerts.describe(value) if isinstance(event, str) else None
    if alert is not None:
        for account in _accounts(row, value.get("phone_number")) or _accounts(row):
            account.alert_event, account.alert_text, account.alert_level = alert.event, alert.text[:512], alert.level
            account.alert_value = alerts.kept(value)  # to say it again in each reader's language
            account.alert_at = row["created_at"]
            audit.record("whatsapp.account_alert", product_id=account.product_id, user_id=None,
                         phone_number_id=account.phone_number_id, event=event)
    reason = RECONNECT_EVENTS.get(event) if isinstance(event, str) else None
    if reason is None:
        return
    # An uninstall is about the whole WABA; a deletion may name one number.
    number = value.get("phone_number") if event == "ACCOUNT_DELETED" else None
    for account in _accounts(row, number) or (_accounts(row) if number else []):
        account.mark_needs_reconnect(reason)
        audit.record("whatsapp.needs_reconnect", product_id=account.product_id, user_id=None,
                     phone_number_id=account.phone_number_id, event=event)


def _history_errors(row: dict, value: dict) -> None:
    """The business declined to share its chat history (or Meta could not send it): said on the number."""
    for chunk in value.get("history") if isinstance(value.get("history"), list) else ():
        if isinstance(chunk, dict) and chunk.get("errors"):
            _value_errors(row, {"errors": chunk["errors"]})


def _value_errors(row: dict, value: dict) -> None:
    """A change that carries `errors` of its own (not of one message): shown on the number it names."""
    words = alerts.errors_words(value.get("errors"))
    if words is None:
        return
    for account in _accounts(row):
        account.webhook_error, account.webhook_error_at = words[:512], row["created_at"]
        # Meta's errors, to say them again in each reader's language (the text above stays English).
        account.webhook_error_value = alerts.kept_errors(value.get("errors"))


_HANDLERS = {"phone_number_quality_update": _quality, "account_update": _account_update,
             "messages": _value_errors, "smb_message_echoes": _value_errors, "history": _history_errors}


def register(field: str, handler) -> None:
    """Let another feature act on a field's new events (message templates do), without ingest knowing it.
    `handler(row, value)` runs in ingest's transaction, once per event ingest inserted."""
    _HANDLERS[field] = handler
