"""Scheduled health checks of every linked number, on the job engine.

Every few minutes each product's grants are checked with Meta: the token
(`debug_token`: still valid, still ours, when it expires) and each account's
webhook subscription (`subscribed_apps`). A revoked or expired token shows
"needs reconnect" on the dashboard within minutes, not when an agent's reply
fails. A grant is one token: all numbers that share it change together. A lost
subscription is repaired when the token allows it (no webhook would reach us
otherwise), and the number needs a reconnect when it does not. Meta being
unreachable changes nothing: the job is retried with backoff.
"""
from __future__ import annotations

import logging
from collections import defaultdict

from flask import current_app
from sqlalchemy import distinct, select

from ..extensions import db
from ..jobs import crontab, enqueue, job, periodic
from ..meta import discovery
from ..meta.graph import GraphError
from ..models import CONNECTED, NEEDS_RECONNECT, WhatsAppAccount, utcnow
from ..labels import N_

log = logging.getLogger(__name__)


@periodic(crontab(minute="*/5"))
def check_every_product() -> None:
    """One check job per product with linked numbers (each runs in its product's scope)."""
    product_ids = db.session.execute(
        select(distinct(WhatsAppAccount.product_id)).execution_options(all_products=True)).scalars().all()
    for product_id in product_ids:
        enqueue(check_product, product_id)


class MetaUnreachable(Exception):
    """Meta could not answer now: the job is retried, nothing changed."""


@job(retries=5, retry_delay=30, backoff=2.0, product_job=True)
def check_product(product_id) -> None:
    """Check every grant (token) of the product in scope and its accounts' webhook subscriptions."""
    by_token: dict[str, list[WhatsAppAccount]] = defaultdict(list)
    for account in db.session.execute(select(WhatsAppAccount)).scalars():
        if account.status != NEEDS_RECONNECT:
            by_token[account.access_token].append(account)
    for token, accounts in by_token.items():
        _check_grant(token, accounts)
        db.session.commit()


def _check_grant(token: str, accounts: list[WhatsAppAccount]) -> None:
    now = utcnow()
    if not token:
        return _needs_reconnect(accounts, N_("No token is stored: connect again."))
    try:
        info = discovery.debug_token(token)
    except GraphError as error:
        if error.token_invalid:
            return _needs_reconnect(accounts, N_("Meta refused the token."))
        raise MetaUnreachable(f"debug_token: {error.kind} {error.code}") from None
    if not info.is_valid or info.app_id != str(current_app.config["META_APP_ID"]):
        return _needs_reconnect(accounts, N_("Meta says the token is no longer valid."))
    if info.expires_at is not None and info.expires_at <= now:
        return _needs_reconnect(accounts, N_("The token has expired."))
    for account in accounts:
        account.last_checked_at = now
        if info.expires_at_given:
            account.token_expires_at = info.expires_at
    for waba_id in sorted({a.business_account_id for a in accounts}):
        _check_subscription(token, waba_id, [a for a in accounts if a.business_account_id == waba_id])


def _check_subscription(token: str, waba_id: str, accounts: list[WhatsAppAccount]) -> None:
    try:
        if discovery.app_is_subscribed(token, waba_id):
            return
        log.warning("webhooks of account %s were unsubscribed; subscribing again", waba_id)
        discovery.subscribe_app(token, waba_id)
    except GraphError as error:
        if error.token_invalid or discovery.is_permission_error(error):
            return _needs_reconnect(accounts, N_("Webhooks are no longer subscribed and could not be again: reconnect."))
        raise MetaUnreachable(f"subscribed_apps: {error.kind} {error.code}") from None
    for account in accounts:
        account.webhooks_subscribed_at = utcnow()


def _needs_reconnect(accounts: list[WhatsAppAccount], reason: str) -> None:
    for account in accounts:
        if account.status == CONNECTED:
            log.info("number %s needs a reconnect: %s", account.phone_number_id, reason)
        account.mark_needs_reconnect(reason)
        account.last_checked_at = utcnow()
