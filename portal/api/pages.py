"""The product's API keys page: owners and admins create (the key is shown once), list (with
last use) and revoke keys. Agents do not see keys at all."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import MANAGER_ROLES, ApiKey
from ..tenancy import current_product, get_or_404, product_blueprint, require_role
from .keys import create_key, revoke

bp = product_blueprint("api_keys", __name__)


def _page(new_key: str | None = None, error: str | None = None, status: int = 200):
    keys = db.session.execute(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())).scalars().all()
    return render_template("api/keys.html", keys=keys, new_key=new_key, error=error), status


@bp.route("/api-keys")
@require_role(*MANAGER_ROLES)
def index():
    return _page()


@bp.route("/api-keys", methods=["POST"])
@require_role(*MANAGER_ROLES)
def create():
    try:
        api_key, key = create_key(current_product().id, request.form.get("name", ""), current_user.id)
    except ValueError as error:
        return _page(error=_(str(error)), status=422)
    db.session.flush()
    audit.record("api_key.created", product_id=api_key.product_id, key_id=str(api_key.id), name=api_key.name)
    db.session.commit()
    # Shown on this answer only (not through a redirect or flash: the key never enters the session cookie).
    return _page(new_key=key)


@bp.route("/api-keys/<uuid:api_key_id>/revoke", methods=["POST"])
@require_role(*MANAGER_ROLES)
def revoke_key(api_key_id):
    api_key = get_or_404(ApiKey, api_key_id)
    revoke(api_key)
    audit.record("api_key.revoked", product_id=api_key.product_id, key_id=str(api_key.id), name=api_key.name)
    db.session.commit()
    flash(_("Key %(prefix)s… revoked: it stops working at once.", prefix=api_key.prefix), "success")
    return redirect(url_for(".index"), 303)
