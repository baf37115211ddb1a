"""The sandbox's templates page: every WABA's templates, and Meta's review of each one
(approve, reject with a reason, pause, disable), which sends `message_template_status_update`
to the portal. `POST /api/templates/<id>/review` (api.py) does the same for scripts and tests.
The Graph endpoints of templates are graph_templates.py; the send checks, graph_send.py."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from .actions import REJECT_REASONS, TEMPLATE_EVENTS, SandboxInputError
from .graph_auth import sandbox

bp = Blueprint("sandbox_template_controls", __name__)  # a page with forms: CSRF-protected

BUTTON_WORDS = {"APPROVED": "Approve", "REJECTED": "Reject", "PAUSED": "Pause", "DISABLED": "Disable"}


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
        _, delivered = sandbox().set_template_status(template_id, event, request.form.get("reason", ""))
    except SandboxInputError as error:
        flash(str(error), "error")
        return redirect(url_for(".controls"))
    done = f"Template {event.lower()}"
    if delivered is None:
        flash(f"{done}: kept at Meta, not delivered (no app is subscribed to its WhatsApp account).", "warning")
    elif delivered.ok:
        flash(f"{done}: message_template_status_update delivered (HTTP {delivered.status}).", "success")
    else:
        flash(f"{done}: the portal answered {delivered.status or 'nothing'}; it will be retried.", "error")
    return redirect(url_for(".controls"))
