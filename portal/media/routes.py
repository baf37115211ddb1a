"""Media views: a message's file, its attachment fragment (polled while downloading), retry.

Every view runs in product scope (portal/tenancy.py): another product's message is a 404.
"""
from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..errors import render_error
from ..models import Message
from ..pages import htmx_response, is_fragment_request
from ..tenancy import get_or_404
from . import bp, download, kinds
from .serving import NotServable, serve


@bp.route("/media/<uuid:message_id>")
def media(message_id):
    """The file; inline only when safe (see serving.py), else a download (?download=1 always)."""
    message = get_or_404(Message, message_id)
    try:
        return serve(message, force_download=bool(request.args.get("download")))
    except NotServable as reason:
        return render_error(404, _("Media unavailable"), str(reason))


@bp.route("/media/<uuid:message_id>/attachment")
def attachment(message_id):
    """The message's attachment as the thread shows it; polled until its download ends."""
    message = _media_message(message_id)
    return render_template("media/_attachment.html", m=message)


@bp.route("/media/<uuid:message_id>/retry", methods=["POST"])
def retry_download(message_id):
    """Download again a media whose download failed for good."""
    message = _media_message(message_id)
    if message.media_state != "failed" or not message.media_id:
        return render_error(409, _("Cannot retry"), _("This media is not a failed download."))
    download.retry(message)
    if is_fragment_request():
        return htmx_response(render_template("media/_attachment.html", m=message))
    return redirect(url_for("inbox.conversation", conversation_id=message.conversation_id), 303)


def _media_message(message_id) -> Message:
    message = get_or_404(Message, message_id)
    if message.type not in kinds.MEDIA_KINDS:
        abort(404)
    return message
