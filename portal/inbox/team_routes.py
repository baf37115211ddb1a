"""Team views of the inbox: a conversation's status, assignee and notes; canned replies.

Each answers htmx with the component it changed (it replaces itself) and a plain form
post with a redirect back to the conversation, so everything works without JavaScript.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import MANAGER_ROLES, CannedReply, Conversation
from ..pages import htmx_response, is_fragment_request
from ..tenancy import get_or_404, require_role
from . import bp, teamwork
from .panel import panel_context


@bp.route("/conversations/<uuid:conversation_id>/status", methods=["POST"])
def set_status(conversation_id):
    """Open, pending or resolved."""
    conv = get_or_404(Conversation, conversation_id)
    return _change(conv, lambda: teamwork.set_status(conv, request.form.get("status", ""), current_user.id),
                   "inbox/_conversation_controls.html")


@bp.route("/conversations/<uuid:conversation_id>/assignee", methods=["POST"])
def assign(conversation_id):
    """Assign to a member of the product, or to nobody (an empty value)."""
    conv = get_or_404(Conversation, conversation_id)
    return _change(conv, lambda: teamwork.assign(conv, request.form.get("assignee"), current_user.id),
                   "inbox/_conversation_controls.html")


@bp.route("/conversations/<uuid:conversation_id>/notes", methods=["POST"])
def add_note(conversation_id):
    """An internal note: stored for the team, never sent to the customer."""
    conv = get_or_404(Conversation, conversation_id)
    return _change(conv, lambda: teamwork.add_note(conv, request.form.get("body"), current_user.id),
                   "inbox/_notes.html")


def _change(conv: Conversation, change, fragment: str):
    error = None
    try:
        change()
    except teamwork.TeamworkError as refused:
        db.session.rollback()
        error = str(refused)
    if is_fragment_request():
        html = render_template(fragment, error=error, oob_status=True, **panel_context(conv))
        return htmx_response(html, 422 if error else 200)
    if error:
        flash(error, "error")
    return redirect(url_for(".conversation", conversation_id=conv.id), 303)


# ---- canned replies ------------------------------------------------------------------------

@bp.route("/canned-replies")
def canned_replies():
    return render_template("inbox/canned_replies.html", replies=teamwork.canned_replies())


@bp.route("/canned-replies", methods=["POST"])
@require_role(*MANAGER_ROLES)
def add_canned_reply():
    try:
        reply = teamwork.add_canned_reply(request.form.get("shortcut"), request.form.get("body"), current_user.id)
    except teamwork.TeamworkError as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return render_template("inbox/canned_replies.html", replies=teamwork.canned_replies(),
                               shortcut=request.form.get("shortcut", ""), body=request.form.get("body", "")), 422
    flash(_("/%(shortcut)s added.", shortcut=reply.shortcut), "success")
    return redirect(url_for(".canned_replies"), 303)


@bp.route("/canned-replies/<uuid:canned_reply_id>/delete", methods=["POST"])
@require_role(*MANAGER_ROLES)
def delete_canned_reply(canned_reply_id):
    reply = get_or_404(CannedReply, canned_reply_id)
    db.session.delete(reply)
    db.session.commit()
    flash(_("/%(shortcut)s deleted.", shortcut=reply.shortcut), "success")
    return redirect(url_for(".canned_replies"), 303)
