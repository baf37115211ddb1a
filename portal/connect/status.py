"""The connection status of the product in scope: what the panel shows, Check now, Disconnect."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from .. import audit
from ..extensions import db
from ..labels import N_
from ..meta import discovery
from ..meta.graph import GraphError
from ..models import CONNECTED, WhatsAppAccount, utcnow
from ..tenancy import current_membership, current_product_id

log = logging.getLogger(__name__)


@dataclass
class Notice:
    """A one-off line above the status (the answer to a button)."""

    category: str  # success / warning / error
    text: str


@dataclass
class ConnectionStatus:
    accounts: list[WhatsAppAccount]
    can_manage: bool


def connection_status() -> ConnectionStatus:
    """The linked numbers of the product in scope (the panel calls this)."""
    if current_product_id() is None:
        return ConnectionStatus(accounts=[], can_manage=False)
    accounts = db.session.execute(
        select(WhatsAppAccount).order_by(WhatsAppAccount.business_account_id, WhatsAppAccount.phone_number)
    ).scalars().all()
    return ConnectionStatus(accounts=list(accounts), can_manage=current_membership().can_manage)


def expiry_text(expires_at: datetime | None, now: datetime | None = None) -> str:
    """ "never", "expired", "expires in 12 days" ... for people."""
    if expires_at is None:
        return _("never")
    left = expires_at - (now or utcnow())
    seconds = int(left.total_seconds())
    if seconds <= 0:
        return _("expired")
    if seconds >= 86400:
        return ngettext("expires in %(num)d day", "expires in %(num)d days", seconds // 86400)
    if seconds >= 3600:
        return ngettext("expires in %(num)d hour", "expires in %(num)d hours", seconds // 3600)
    if seconds >= 60:
        return ngettext("expires in %(num)d minute", "expires in %(num)d minutes", seconds // 60)
    return _("expires in less than a minute")


def check_account(account: WhatsAppAccount) -> Notice:
    """Check now: re-run debug_token on the number's token and refresh the numbers of its account."""
    label = account.phone_number or account.phone_number_id
    token = account.access_token
    if not token:
        account.mark_needs_reconnect(N_("No token is stored: connect again."))
        db.session.commit()
        return Notice("warning", _("%(number)s has no token: reconnect it.", number=label))
    try:
        info = discovery.debug_token(token)
    except GraphError as error:
        log.info("check debug_token failed: kind=%s code=%s", error.kind, error.code)
        return Notice("error", _("Could not check %(number)s with Meta (%(error)s). Nothing changed; try again.",
                                  number=label, error=error))
    now = utcnow()
    account.last_checked_at = now
    if not info.is_valid or info.app_id != str(current_app.config["META_APP_ID"]):
        account.mark_needs_reconnect(N_("Meta says the token is no longer valid."))
        db.session.commit()
        return Notice("warning", _("Meta says the token of %(number)s is no longer valid: reconnect.", number=label))
    if info.expires_at_given:
        account.token_expires_at = info.expires_at
    try:
        numbers = discovery.phone_numbers(token, account.business_account_id)
    except GraphError as error:
        if error.token_invalid:
            account.mark_needs_reconnect(N_("Meta refused the token."))
            db.session.commit()
            return Notice("warning", _("Meta refused the token of %(number)s: reconnect.", number=label))
        db.session.commit()
        return Notice("error", _("The token of %(number)s is valid, but its numbers could not be read (%(error)s). Try again.",
                                  number=label, error=error))
    _refresh_numbers(numbers)
    if account.phone_number_id not in {n.phone_number_id for n in numbers}:
        account.mark_needs_reconnect(N_("The number is no longer in its WhatsApp Business Account."))
        db.session.commit()
        return Notice("warning", _("%(number)s is no longer in its WhatsApp Business Account.", number=label))
    account.status = CONNECTED
    account.status_reason = None
    db.session.commit()
    return Notice("success", _("%(number)s checked: token valid, %(expiry)s.", number=account.phone_number or label,
                               expiry=expiry_text(account.token_expires_at)))


def _refresh_numbers(numbers: list[discovery.PhoneNumber]) -> None:
    """Copy Meta's current names and quality onto this product's rows of those numbers (scoped)."""
    by_id = {n.phone_number_id: n for n in numbers}
    rows = db.session.execute(
        select(WhatsAppAccount).where(WhatsAppAccount.phone_number_id.in_(list(by_id)))
    ).scalars()
    for row in rows:
        number = by_id[row.phone_number_id]
        row.phone_number = number.display_phone_number or row.phone_number
        row.display_name = number.verified_name or row.display_name
        row.quality_rating = number.quality_rating


def disconnect_account(account: WhatsAppAccount) -> Notice:
    """Unsubscribe the app when nobody else needs the account's webhooks, then forget the number and its token.

    Messages and conversations stay: they hang on product_id + phone_number_id, not on this row.
    """
    label = account.phone_number or account.phone_number_id
    unsubscribed = False
    if account.access_token and not _account_still_used(account):
        try:
            discovery.unsubscribe_app(account.access_token, account.business_account_id)
            unsubscribed = True
        except GraphError as error:
            # A dead token cannot unsubscribe; the number is disconnected all the same.
            log.info("unsubscribe on disconnect failed: kind=%s code=%s", error.kind, error.code)
    audit.record(
        "meta.disconnected", product_id=account.product_id, number=label, phone_number_id=account.phone_number_id,
        business_account=account.business_account_id, webhooks_unsubscribed=unsubscribed,
    )
    db.session.delete(account)
    db.session.commit()
    return Notice("success", _("%(number)s is disconnected. Its message history is kept.", number=label))


def _account_still_used(account: WhatsAppAccount) -> bool:
    """Does another linked number (of any product) still rely on this account's webhook subscription?

    Crosses products on purpose (all_products) and returns only a yes/no.
    """
    others = db.session.execute(
        select(func.count()).select_from(WhatsAppAccount)
        .where(WhatsAppAccount.business_account_id == account.business_account_id, WhatsAppAccount.id != account.id)
        .execution_options(all_products=True)
    ).scalar_one()
    return others > 0
