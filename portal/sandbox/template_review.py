"""The sandbox's templates page: every WABA's templates, and Meta's review of each one
(approve, reject with a reason, pause, disable), which sends `message_template_status_update`
to the portal. `POST /api/templates/<id>/review` (api.py) does the same for scripts and tests.
The Graph endpoints of templates are graph_templates.py; the send checks, graph_send.py."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .actions import REJECT_REASONS, TEMPLATE_EVENTS, SandboxInputError
from .graph_auth import sandbox

bp = Blueprint("sandbox_template_controls", __name__)  # a page with forms: CSRF-protected

# Each review's button, with the template's name: "Approve checkup_reminder".
BUTTON_WORDS = {"APPROVED": _l("Approve %(name)s"), "REJECTED": _l("Reject %(name)s"), "PAUSED": _l("Pause %(name)s"),
                "DISABLED": _l("Disable %(name)s")}
# What the review did, for the message after it.
DONE_WORDS = {"APPROVED": _l("Template approved"), "REJECTED": _l("Template rejected"), "PAUSED": _l("Template paused"),
              "DISABLED": _l("Template disabled")}


@bp.get("/controls/templates")
def controls():
    world = sandbox().world
    rows = [(waba_id, template) for waba_id in world.wabas for template in world.find_templates(waba_id)]
    return render_template("sandbox/template_review.html", rows=rows, world=world, events=TEMPLATE_EVENTS,
                           reasons=REJECT_REASONS, words=BUTTON_WORDS)


@bp.post("/controls/templates/<template_id>")
def review(template_id):
    event = request.form.get("event", "")
    try:
        _template, delivered = sandbox().set_template_status(template_id, event, request.form.get("reason", ""))
    except SandboxInputError as error:
        flash(str(error), "error")
        return redirect(url_for(".controls"))
    done = str(DONE_WORDS[event])
    if delivered is None:
        flash(_("%(done)s: kept at Meta, not delivered (no app is subscribed to its WhatsApp account).", done=done),
              "warning")
    elif delivered.ok:
        flash(_("%(done)s: message_template_status_update delivered (HTTP %(status)s).", done=done,
                status=delivered.status), "success")
    elif delivered.status:
        flash(_("%(done)s: the portal answered %(status)s; it will be retried.", done=done, status=delivered.status),
              "error")
    else:
        flash(_("%(done)s: the portal answered nothing; it will be retried.", done=done), "error")
    return redirect(url_for(".controls"))
