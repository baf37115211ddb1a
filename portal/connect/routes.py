"""Views: start the dialog, Meta's callback, the status partial and its buttons."""
from __future__ import annotations

import logging
import secrets

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import audit, signals
from ..extensions import db
from ..models import MANAGER_ROLES, WhatsAppAccount
from ..meta.oauth import authorization_url
from ..pages import htmx_response, is_fragment_request, render_page_or_fragment
from ..tenancy import current_product, enter_product_as_member, get_or_404, require_role
from . import bp, callback_bp, overlap
from .attempts import StateError, consume_attempt, start_attempt
from .linking import ConnectError, MissingWhatsAppAccess, NoPhoneNumbers, NumberTaken, link_product
from .status import check_account, disconnect_account

log = logging.getLogger(__name__)

REFUSALS = {
    "user_denied": _l("You cancelled the Meta dialog, so nothing was linked."),
    "access_denied": _l("Meta did not grant access, so nothing was linked."),
}


def _redirect_uri() -> str:
    """The callback URL registered with Meta; dialog and code exchange must send the same one."""
    return url_for("meta_oauth.callback", _external=True)


@bp.route("/meta/connect", methods=["POST"])
@require_role(*MANAGER_ROLES)
def start():
    """Connect (or reconnect): a fresh state, then off to Meta's dialog."""
    # The login sets the sid; an older session gets one now so the state can be bound to it.
    session_id = session.setdefault("sid", secrets.token_urlsafe(24))
    state = start_attempt(
        current_product().id, current_user.id, session_id,
        embedded_signup=bool(current_app.config.get("META_LOGIN_CONFIG_ID")),
    )
    db.session.commit()
    url = authorization_url(state, _redirect_uri())
    if is_fragment_request():
        return htmx_response(redirect=url)
    return redirect(url, 303)


@callback_bp.route("/meta-oauth-callback")
def callback():
    """Meta sends the browser back here with `code` and `state` (or `error`)."""
    try:
        attempt = consume_attempt(
            request.args.get("state"),
            current_user.id if current_user.is_authenticated else None,
            session.get("sid"),
        )
    except StateError as error:
        log.info("meta callback refused: state %s", error.reason)
        return _page("connect/problem.html", 400, title=_("This sign-in cannot be used"), message=error.message)

    membership = enter_product_as_member(attempt.product_id)
    if membership is None:
        return _page("connect/problem.html", 404, title=_("Not Found"), message=_("That product does not exist."))
    if not membership.can_manage:
        return _page("connect/problem.html", 403, title=_("Forbidden"),
                     message=_("Only owners and admins of the product can connect it to Meta."))

    if request.args.get("error"):
        reason = request.args.get("error_reason") or request.args.get("error")
        flash(str(REFUSALS.get(reason, _("Meta did not complete the connection, so nothing was linked. You can try again."))),
              "warning")
        return redirect(url_for("product.dashboard"))
    code = request.args.get("code")
    if not code or len(code) > 2048:
        return _problem(400, _("Meta sent no authorization code"), _("Nothing was linked. Start again with Connect with Meta."))
    return _link(code, attempt.embedded_signup)


def _link(code: str, embedded_signup: bool):
    product = current_product()
    try:
        linked = link_product(product.id, current_user.id, code, _redirect_uri(), embedded_signup)
    except ConnectError as error:
        return _page("connect/failed.html", 502, error=error)
    except MissingWhatsAppAccess:
        return _problem(
            403, _("No WhatsApp Business Account was shared"),
            _("Meta's answer gives this portal no WhatsApp Business Account. Connect again and, in Meta's dialog, "
              "allow the permission whatsapp_business_management and select your WhatsApp Business Account. "
              "Nothing was linked."),
        )
    except NoPhoneNumbers:
        return _problem(
            409, _("No phone number to link"),
            _("The WhatsApp Business Account you shared has no phone number yet. Add one in WhatsApp Manager, "
              "then connect again. Nothing was linked."),
        )
    except NumberTaken as error:
        audit.record("meta.connect_refused", product_id=product.id, reason="number linked to another product",
                     numbers=", ".join(error.phone_numbers))
        db.session.commit()
        return _problem(
            409, _("Number already linked elsewhere"),
            _("%(numbers)s is already linked to another product in this portal. "
              "A number can belong to one product only; it must be disconnected there first. Nothing was linked.",
              numbers=", ".join(error.phone_numbers)),
        )
    _announce(product.id, linked.phone_number_ids)
    described = ", ".join(
        f"{n.display_phone_number or n.phone_number_id}" + (f" ({n.verified_name})" if n.verified_name else "")
        for n in linked.numbers
    )
    flash(_("Reconnected to Meta: %(numbers)s.", numbers=described) if linked.reconnected
          else _("Linked to Meta: %(numbers)s.", numbers=described), "success")
    shared = overlap.shared_links()
    if shared:
        flash(overlap.warning_text(shared), "warning")
    return redirect(url_for("product.dashboard"))


def _announce(product_id, phone_number_ids) -> None:
    """Tell other features, after the commit, which numbers were linked (the webhook replays kept events).

    The numbers are linked whatever a receiver does: its failure is logged, not shown as a failed connection.
    """
    try:
        signals.numbers_linked.send(current_app._get_current_object(), product_id=product_id,
                                    phone_number_ids=phone_number_ids)
    except Exception:
        db.session.rollback()
        log.exception("a numbers_linked receiver failed for product %s", product_id)


@bp.route("/meta/status")
def status():
    return render_page_or_fragment("connect/status.html", "connect/_status.html")


@bp.route("/meta/accounts/<uuid:account_id>/check", methods=["POST"])
@require_role(*MANAGER_ROLES)
def check(account_id):
    return _answer(check_account(get_or_404(WhatsAppAccount, account_id)))


@bp.route("/meta/accounts/<uuid:account_id>/disconnect", methods=["POST"])
@require_role(*MANAGER_ROLES)
def disconnect(account_id):
    return _answer(disconnect_account(get_or_404(WhatsAppAccount, account_id)))


def _answer(notice):
    """htmx gets the status partial with the notice; a plain form post goes back to the dashboard."""
    if is_fragment_request():
        response = htmx_response(render_template("connect/_status.html", status_notice=notice))
        response.vary.add("HX-Request")
        return response
    flash(notice.text, notice.category)
    return redirect(url_for("product.dashboard"), 303)


def _problem(code: int, title: str, message: str):
    return _page("connect/problem.html", code, title=title, message=message)


def _page(template: str, code: int, **context):
    return render_template(template, **context), code
