"""The callback's work after the state is checked: token, discovery, subscription, one write.

Everything Meta is asked happens before anything is written, so a failure at
any step leaves the database as it was. The write is one transaction: all the
product's numbers of this grant, or none.
"""
from __future__ import annotations

import logging
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..extensions import db
from ..meta import discovery
from ..meta.graph import GraphError
from ..meta.oauth import exchange_code
from ..models import CONNECTED, WhatsAppAccount, utcnow

log = logging.getLogger(__name__)

STEPS = {  # shown to people on the failure page (translated when the error is made, in the callback's request)
    "exchange": _l("Exchanging Meta's authorization code for a token"),
    "long_lived": _l("Making the token long-lived"),
    "debug": _l("Checking the token with Meta (debug_token)"),
    "businesses": _l("Finding your WhatsApp Business Accounts"),
    "waba": _l("Reading the WhatsApp Business Account %(waba_id)s"),
    "phone_numbers": _l("Reading the phone numbers of WhatsApp Business Account %(waba_id)s"),
    "subscribe": _l("Subscribing the app to the webhooks of WhatsApp Business Account %(waba_id)s"),
}


class ConnectError(Exception):
    """A step with Meta failed; nothing was written. Safe to show: no token in it."""

    def __init__(self, step: str, message: str, fbtrace_id: str | None = None, **labels):
        super().__init__(message)
        self.step = step
        self.step_label = str(STEPS[step]) % labels if labels else str(STEPS[step])
        self.message = message
        self.fbtrace_id = fbtrace_id


class MissingWhatsAppAccess(Exception):
    """The grant holds no WhatsApp Business Account (the permission was not given)."""


class NoPhoneNumbers(Exception):
    """The granted accounts have no phone number yet."""


class NumberTaken(Exception):
    """A number of the grant is linked to another product (which is never named)."""

    def __init__(self, phone_numbers: list[str]):
        super().__init__("number linked to another product")
        self.phone_numbers = phone_numbers


@dataclass
class Linked:
    """What a successful connection linked."""

    numbers: list[discovery.PhoneNumber]
    business_accounts: list[discovery.BusinessAccount]
    reconnected: bool

    @property
    def phone_number_ids(self) -> list[str]:
        return [n.phone_number_id for n in self.numbers]


@dataclass
class Grant:
    """The token and what Meta says about it."""

    token: str
    info: discovery.TokenInfo
    expires_at: datetime | None

    def __repr__(self) -> str:
        return f"Grant(token=<hidden>, user_id={self.info.user_id!r})"


def link_product(product_id: uuid.UUID, user_id: uuid.UUID, code: str, redirect_uri: str,
                 embedded_signup: bool) -> Linked:
    """Steps 3-6 of the callback. Raises ConnectError, MissingWhatsAppAccess, NoPhoneNumbers or NumberTaken."""
    grant = obtain_token(code, redirect_uri, embedded_signup)
    accounts = discover_accounts(grant)
    numbers = [n for account in accounts for n in account.numbers]
    taken = numbers_linked_elsewhere(product_id, [n.phone_number_id for n in numbers])
    if taken:
        raise NumberTaken([n.display_phone_number or n.phone_number_id for n in numbers if n.phone_number_id in taken])
    for account in accounts:
        with step("subscribe", grant.token, waba_id=account.waba_id):
            discovery.subscribe_app(grant.token, account.waba_id)
    return write_accounts(product_id, user_id, grant, accounts)


def obtain_token(code: str, redirect_uri: str, embedded_signup: bool) -> Grant:
    """Code -> token (long-lived for a user login) -> debug_token of the final token."""
    with step("exchange"):
        code_grant = exchange_code(code, redirect_uri)
    token, expires_in = code_grant.access_token, code_grant.expires_in
    if not embedded_signup:
        # A Facebook Login user token lives about an hour; Login for Business
        # (config_id) gives a business token that is kept as it is.
        with step("long_lived", token):
            token, expires_in = discovery.exchange_for_long_lived(token)
    with step("debug", token):
        info = discovery.debug_token(token)
    if not info.is_valid:
        raise ConnectError("debug", _("Meta says the token it just issued is not valid."))
    if info.app_id != str(current_app.config["META_APP_ID"]):
        raise ConnectError("debug", _("The token was issued to a different Meta app."))
    expires_at = info.expires_at if info.expires_at_given else discovery.expiry_from_seconds(expires_in)
    return Grant(token=token, info=info, expires_at=expires_at)


def discover_accounts(grant: Grant) -> list[discovery.BusinessAccount]:
    """The granted WhatsApp Business Accounts, named, with their phone numbers."""
    waba_ids = list(grant.info.waba_ids or [])
    if not waba_ids:
        if grant.info.scopes and discovery.WABA_SCOPE not in grant.info.scopes:
            raise MissingWhatsAppAccess()
        with step("businesses", grant.token, permission_means_missing=True):
            waba_ids = discovery.businesses_waba_ids(grant.token)
    if not waba_ids:
        raise MissingWhatsAppAccess()
    accounts, seen = [], set()
    for waba_id in waba_ids:
        with step("waba", grant.token, waba_id=waba_id):
            name = discovery.business_account_name(grant.token, waba_id)
        with step("phone_numbers", grant.token, waba_id=waba_id):
            numbers = [n for n in discovery.phone_numbers(grant.token, waba_id) if n.phone_number_id not in seen]
        seen.update(n.phone_number_id for n in numbers)
        if numbers:
            accounts.append(discovery.BusinessAccount(waba_id=waba_id, name=name, numbers=numbers))
    if not accounts:
        raise NoPhoneNumbers()
    return accounts


def numbers_linked_elsewhere(product_id: uuid.UUID, phone_number_ids: list[str]) -> set[str]:
    """Which of these numbers another product has linked.

    Crosses products on purpose (all_products): it answers only "taken or not",
    never which product holds a number.
    """
    if not phone_number_ids:
        return set()
    rows = db.session.execute(
        select(WhatsAppAccount.phone_number_id)
        .where(WhatsAppAccount.phone_number_id.in_(phone_number_ids), WhatsAppAccount.product_id != product_id)
        .execution_options(all_products=True)
    ).scalars()
    return set(rows)


def write_accounts(product_id: uuid.UUID, user_id: uuid.UUID, grant: Grant,
                   accounts: list[discovery.BusinessAccount]) -> Linked:
    """One transaction: insert or update one row per number, plus the audit entry."""
    now = utcnow()
    numbers = [n for account in accounts for n in account.numbers]
    ids = [n.phone_number_id for n in numbers]
    # Product scope is on (the callback entered it): only this product's rows come back.
    existing = {
        row.phone_number_id: row
        for row in db.session.execute(select(WhatsAppAccount).where(WhatsAppAccount.phone_number_id.in_(ids))).scalars()
    }
    for account in accounts:
        for number in account.numbers:
            row = existing.get(number.phone_number_id)
            if row is None:
                row = WhatsAppAccount(product_id=product_id, phone_number_id=number.phone_number_id)
                db.session.add(row)
            row.meta_app_id = str(current_app.config["META_APP_ID"])
            row.meta_user_id = grant.info.user_id
            row.business_account_id = account.waba_id
            row.business_account_name = account.name
            row.access_token = grant.token
            row.phone_number = number.display_phone_number
            row.display_name = number.verified_name
            row.quality_rating = number.quality_rating
            row.status = CONNECTED
            row.status_reason = None
            row.token_expires_at = grant.expires_at
            row.webhooks_subscribed_at = now
            row.connected_by_user_id = user_id
            row.last_checked_at = now
    reconnected = bool(existing)
    audit.record(
        "meta.reconnected" if reconnected else "meta.connected", product_id=product_id, user_id=user_id,
        numbers=", ".join(n.display_phone_number or n.phone_number_id for n in numbers),
        phone_number_ids=", ".join(ids), business_accounts=", ".join(a.waba_id for a in accounts),
        meta_user_id=grant.info.user_id,
    )
    try:
        db.session.commit()
    except IntegrityError:
        # Another product linked one of these numbers between our check and this write.
        db.session.rollback()
        taken = numbers_linked_elsewhere(product_id, ids)
        raise NumberTaken([n.display_phone_number or n.phone_number_id for n in numbers
                           if n.phone_number_id in taken] or ["one of the numbers"]) from None
    return Linked(numbers=numbers, business_accounts=accounts, reconnected=reconnected)


@contextmanager
def step(name: str, *hidden: str, permission_means_missing: bool = False, **labels):
    """Turn a GraphError inside a step into a ConnectError naming the step.

    Meta's messages never hold tokens, but the tokens in flight are scrubbed
    anyway: the page and the log must never show one.
    """
    try:
        yield
    except GraphError as error:
        if permission_means_missing and discovery.is_permission_error(error):
            raise MissingWhatsAppAccess() from None
        message = str(error)
        for secret in (*hidden, current_app.config["META_APP_SECRET"]):
            if secret:
                message = message.replace(secret, "[hidden]")
        log.warning("connect step %s failed: kind=%s code=%s fbtrace_id=%s", name, error.kind, error.code,
                    error.fbtrace_id)
        raise ConnectError(name, message, error.fbtrace_id, **labels) from None
