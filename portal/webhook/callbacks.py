"""Meta's app callbacks: deauthorize and data deletion (signed_request), and the deletion status page.

Both find the accounts by the Meta user who connected them (whatsapp_accounts.meta_user_id),
across every product. Deauthorize wipes their tokens and marks them as needing reconnect.
Data deletion does the same and then deletes those account rows, which is everything the
portal holds about that Meta user (their id, their tokens). Conversations and messages
stay with their products: they are the product's exchanges with its customers, not data
about the Meta user who linked the number, and deleting them would let one person erase
a whole team's inbox.
"""
from __future__ import annotations

import secrets

from flask import current_app, jsonify, render_template, request, url_for
from sqlalchemy import select

from .. import audit
from ..labels import N_
from ..errors import render_error
from ..extensions import db
from ..meta.signatures import SignatureError, parse_signed_request
from ..models import DataDeletionRequest, WhatsAppAccount
from ..models.base import utcnow
from . import bp

# Stored in English, translated where shown (N_ only marks it for the catalog).
DEAUTHORIZED = N_("The Meta user who connected this number removed the app: connect again.")


def _meta_user_id():
    """The verified user_id of the signed_request, or an error response."""
    signed = request.form.get("signed_request")
    if not signed:
        return None, render_error(400, "Bad Request", "signed_request is missing.")
    try:
        payload = parse_signed_request(signed, current_app.config["META_APP_SECRET"])
    except SignatureError as error:
        return None, render_error(403, "Forbidden", str(error))
    return str(payload["user_id"])[:64], None


def _revoke(meta_user_id: str, action: str) -> list[WhatsAppAccount]:
    """Wipe the tokens of every account this Meta user connected, in every product."""
    found = list(db.session.execute(
        select(WhatsAppAccount).where(WhatsAppAccount.meta_user_id == meta_user_id).execution_options(all_products=True)
    ).scalars())
    for account in found:
        account.access_token = ""
        account.oauth_access_token = None
        account.oauth_refresh_token = None
        account.mark_needs_reconnect(DEAUTHORIZED)
        audit.record(action, product_id=account.product_id, user_id=None, phone_number_id=account.phone_number_id)
    return found


@bp.post("/meta/deauthorize")
def deauthorize():
    meta_user_id, error = _meta_user_id()
    if error:
        return error
    found = _revoke(meta_user_id, "meta.deauthorized")
    db.session.commit()
    return jsonify(accounts_revoked=len(found))


@bp.post("/meta/data-deletion")
def data_deletion():
    meta_user_id, error = _meta_user_id()
    if error:
        return error
    found = _revoke(meta_user_id, "meta.data_deleted")
    for account in found:
        db.session.delete(account)
    code = secrets.token_hex(10)
    db.session.add(DataDeletionRequest(
        confirmation_code=code, meta_user_id=meta_user_id, accounts_affected=len(found), completed_at=utcnow(),
    ))
    db.session.commit()
    return jsonify(url=url_for("webhook.deletion_status", code=code, _external=True), confirmation_code=code)


@bp.get("/meta/data-deletion/<code>")
def deletion_status(code: str):
    """A page a person can read: what was deleted for this confirmation code."""
    found = db.session.execute(
        select(DataDeletionRequest).where(DataDeletionRequest.confirmation_code == code[:64])
    ).scalar_one_or_none()
    return render_template("webhook/deletion_status.html", request_=found, code=code[:64]), (200 if found else 404)
