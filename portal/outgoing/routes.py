"""The product's webhook endpoints: list and add (the secret is shown once), the delivery log
of each with "resend", remove, and resume a paused one. Owners and admins only."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import MANAGER_ROLES, OutgoingDelivery, OutgoingEndpoint
from ..tenancy import current_product, get_or_404, require_role
from . import bp
from .delivery import resend
from .endpoints import EndpointError, add_endpoint, resume
from .events import EVENT_TYPES

LOG_PAGE = 100


def _index(new_endpoint=None, error=None, status=200):
    rows = db.session.execute(select(OutgoingEndpoint).order_by(OutgoingEndpoint.created_at)).scalars().all()
    return render_template("outgoing/index.html", endpoints=rows, event_types=EVENT_TYPES,
                           new_endpoint=new_endpoint, error=error), status


@bp.route("/hooks")
@require_role(*MANAGER_ROLES)
def index():
    return _index()


@bp.route("/hooks", methods=["POST"])
@require_role(*MANAGER_ROLES)
def add():
    try:
        endpoint = add_endpoint(current_product().id, request.form.get("url", ""), request.form.getlist("events"),
                                request.form.get("description"))
    except EndpointError as error:
        return _index(error=str(error), status=422)
    db.session.flush()
    audit.record("outgoing.endpoint_added", product_id=endpoint.product_id, endpoint_id=str(endpoint.id), url=endpoint.url)
    db.session.commit()
    return _index(new_endpoint=endpoint)  # the signing secret is shown on this answer only


@bp.route("/hooks/<uuid:endpoint_id>")
@require_role(*MANAGER_ROLES)
def endpoint(endpoint_id):
    hook = get_or_404(OutgoingEndpoint, endpoint_id)
    log = db.session.execute(
        select(OutgoingDelivery).where(OutgoingDelivery.endpoint_id == hook.id)
        .order_by(OutgoingDelivery.created_at.desc(), OutgoingDelivery.id.desc()).limit(LOG_PAGE)
    ).scalars().all()
    return render_template("outgoing/endpoint.html", endpoint=hook, deliveries=log)


@bp.route("/hooks/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/resend", methods=["POST"])
@require_role(*MANAGER_ROLES)
def resend_delivery(endpoint_id, delivery_id):
    hook = get_or_404(OutgoingEndpoint, endpoint_id)
    delivery = get_or_404(OutgoingDelivery, delivery_id)
    if delivery.endpoint_id != hook.id:
        abort(404)
    if hook.paused_at is not None:
        flash(_("Resume the endpoint first: it is paused."), "error")
        return redirect(url_for(".endpoint", endpoint_id=hook.id), 303)
    resend(delivery)
    db.session.commit()
    flash(_("Sent again (same event id)."), "success")
    return redirect(url_for(".endpoint", endpoint_id=hook.id), 303)


@bp.route("/hooks/<uuid:endpoint_id>/resume", methods=["POST"])
@require_role(*MANAGER_ROLES)
def resume_endpoint(endpoint_id):
    hook = get_or_404(OutgoingEndpoint, endpoint_id)
    waiting = resume(hook)
    audit.record("outgoing.endpoint_resumed", product_id=hook.product_id, endpoint_id=str(hook.id))
    db.session.commit()
    flash(ngettext("Endpoint resumed; %(num)d waiting event is being sent.",
                   "Endpoint resumed; %(num)d waiting events are being sent.", waiting), "success")
    return redirect(url_for(".endpoint", endpoint_id=hook.id), 303)


@bp.route("/hooks/<uuid:endpoint_id>/delete", methods=["POST"])
@require_role(*MANAGER_ROLES)
def delete(endpoint_id):
    hook = get_or_404(OutgoingEndpoint, endpoint_id)
    audit.record("outgoing.endpoint_removed", product_id=hook.product_id, endpoint_id=str(hook.id), url=hook.url)
    db.session.delete(hook)
    db.session.commit()
    flash(_("Endpoint removed."), "success")
    return redirect(url_for(".index"), 303)
