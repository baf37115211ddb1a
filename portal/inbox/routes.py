"""Inbox views: the live feed, conversations, a conversation's thread and replies (media ones: portal/media).

Every view runs in product scope (see portal/tenancy.py): queries are filtered
by the product automatically and objects in URLs are loaded with get_or_404.
"""
from __future__ import annotations

import hashlib
import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..errors import render_error
from ..extensions import db
from ..media import uploads
from ..models import Conversation, Message
from ..pages import htmx_response, is_fragment_request, render_page_or_fragment
from ..tenancy import get_or_404
from . import bp, queries, reading, sending
from .cursor import Cursor, CursorError
from .filters import Filters
from .panel import panel_context
from .rendering import is_newer_status, shown_error

MAX_TICKS_PER_POLL = 100


class _Named:
    """A wamid a reaction, edit or deletion names (for queries.quoted_messages)."""

    def __init__(self, wamid: str):
        self.context_wamid = wamid


# ---- the live feed -------------------------------------------------------------------------

@bp.route("/feed")
def feed():
    """The feed panel; with ?after=<cursor>, only what is new since (204 when nothing is)."""
    number = request.args.get("number") or None
    if "after" in request.args:
        window = queries.since(_cursor_arg("after"), number=number)
        if not window.new:
            return htmx_response("", 204)  # the common poll: one indexed query, nothing rendered
        return render_template("inbox/_feed_new.html", **_feed_context(window, number))
    window = queries.latest(number=number)
    return render_page_or_fragment("inbox/feed.html", "inbox/_feed.html", **_feed_context(window, number))


def _feed_context(window, number: str | None) -> dict:
    accounts = queries.accounts()
    return {"window": window, "number": number, "accounts": accounts, "numbers": queries.number_labels(accounts),
            "names": queries.contact_names(window.new)}


# ---- conversations -------------------------------------------------------------------------

@bp.route("/conversations")
def conversations():
    """The inbox: the conversation list (filters in the query string), no conversation open.

    The list polls itself and gets 204 while nothing it shows changed."""
    filters = Filters.from_args(request.args)
    selected = _selected_arg()
    context = _list_context(filters, selected)
    if is_fragment_request() and request.args.get("v") == context["version"]:
        return htmx_response("", 204)
    return render_page_or_fragment("inbox/conversations.html", "inbox/_conversation_list.html", **context)


@bp.route("/conversations/<uuid:conversation_id>")
def conversation(conversation_id):
    """A conversation's latest messages beside the list and the contact panel; opening it marks
    the customer's messages read."""
    conv = get_or_404(Conversation, conversation_id)
    reading.mark_read(conv)
    window = queries.latest(conversation_id=conv.id, page=queries.THREAD_PAGE)
    return render_template("inbox/conversation.html", **_page_context(conv, window))


@bp.route("/conversations/<uuid:conversation_id>/updates")
def conversation_updates(conversation_id):
    """New messages of an open conversation and ticks that moved forward; 204 when none."""
    conv = get_or_404(Conversation, conversation_id)
    window = queries.since(_cursor_arg("after"), conversation_id=conv.id, page=queries.THREAD_PAGE)
    changed = _ticks_moved_forward(conv)
    if not window.new and not changed:
        return htmx_response("", 204)
    if any(m.direction == "in" for m in window.new):
        reading.mark_read(conv)
    context = _thread_context(conv, window)
    # Reactions, edits and deletions are not bubbles: the message they name is shown again, changed.
    context["messages"] = [m for m in context["messages"] if m.stands_alone]
    named = {m.context_wamid for m in window.new if not m.stands_alone and m.context_wamid}
    context["retouched"] = [m for m in queries.quoted_messages([_Named(w) for w in named]).values()
                            if m.conversation_id == conv.id and m.id not in {n.id for n in context["messages"]}]
    # The reply box is sent again only when the customer reopened a closed window (typing is never lost otherwise).
    context["refresh_reply_box"] = bool(request.args.get("blocked")) and context["blocked"] is None
    context["changed"] = changed
    return render_template("inbox/_thread_updates.html", **context)


@bp.route("/conversations/<uuid:conversation_id>/older")
def conversation_older(conversation_id):
    """The page of messages before ?before=<message id> (loaded when the top of the thread is revealed)."""
    conv = get_or_404(Conversation, conversation_id)
    before = get_or_404(Message, request.args.get("before", ""))
    if before.conversation_id != conv.id:
        abort(404)
    rows = queries.older(conv.id, before)
    return render_template("inbox/_thread_older.html", conversation=conv, messages=list(reversed(rows)),
                           has_older=len(rows) == queries.THREAD_PAGE, quoted=queries.quoted_messages(rows))


@bp.route("/conversations/<uuid:conversation_id>/reply-box")
def reply_box(conversation_id):
    """The reply box, optionally replying to one message (?reply_to=<message id>)."""
    conv = get_or_404(Conversation, conversation_id)
    reply_to = _reply_to(conv, request.args.get("reply_to"))
    return render_template("inbox/_reply_box.html", conversation=conv, blocked=_blocked(conv), reply_to=reply_to)


# ---- replies -------------------------------------------------------------------------------

@bp.route("/conversations/<uuid:conversation_id>/messages", methods=["POST"])
def send_message(conversation_id):
    """Send a text reply: stored as pending first, then sent with the product's own token."""
    conv = get_or_404(Conversation, conversation_id)
    reply_to = _reply_to(conv, request.form.get("reply_to"))
    upload = request.files.get("file")
    if upload is not None and upload.filename:  # a picture, voice note, video or document (portal/media)
        return _send_media(conv, upload, reply_to)
    try:
        body = sending.validate_body(request.form.get("body"))
        account = sending.sending_account(conv)
    except sending.SendRefused as refused:
        return _refused(conv, refused, reply_to, request.form.get("body", ""))
    message = sending.create_reply(conv, body, current_user.id, reply_to.wamid if reply_to else None)
    outcome = sending.deliver(message, account)
    return _sent(conv, outcome)


@bp.route("/conversations/<uuid:conversation_id>/messages/<uuid:message_id>/retry", methods=["POST"])
def retry_message(conversation_id, message_id):
    """Send again a reply Meta never accepted (rate limit, Meta unreachable, token since reconnected)."""
    conv = get_or_404(Conversation, conversation_id)
    message = get_or_404(Message, message_id)
    if message.conversation_id != conv.id:
        abort(404)
    if not sending.retryable(message):
        return render_error(409, _("Cannot retry"),
                            _("This message was already accepted by WhatsApp or cannot be sent again."))
    try:
        account = sending.sending_account(conv, template=message.type == "template")
    except sending.SendRefused as refused:
        return _refused(conv, refused, None, "")
    if not sending.claim_for_retry(message):
        return render_error(409, _("Already retried"), _("This message is already being sent again."))
    return _sent(conv, sending.deliver(message, account), replace=True)


def _send_media(conv: Conversation, upload, reply_to):
    """Send the attached file (caption: the reply's text), after Meta's limits are checked."""
    caption = request.form.get("body", "")
    try:
        attachment = uploads.validate(upload, caption, voice=request.form.get("voice") == "1")
        account = sending.sending_account(conv)
    except uploads.UploadRefused as refused:
        return _refused(conv, sending.SendRefused(str(refused), "invalid"), reply_to, caption)
    except sending.SendRefused as refused:
        return _refused(conv, refused, reply_to, caption)
    message = uploads.create_media_reply(conv, attachment, current_user.id, reply_to.wamid if reply_to else None)
    return _sent(conv, sending.deliver(message, account))


# ---- helpers -------------------------------------------------------------------------------

def _cursor_arg(name: str) -> Cursor:
    try:
        return Cursor.decode(request.args.get(name, ""))
    except CursorError as error:
        abort(400, str(error))


def _list_version(rows, failed, unread_total) -> str:
    """Changes whenever something the list shows changes (message, unread, status, assignee, failure)."""
    digest = hashlib.sha256(f"{unread_total};".encode())
    for c in rows:
        digest.update(f"{c.id}|{c.last_message_at}|{c.unread_count}|{c.last_message_preview}|{c.status}|"
                      f"{c.assignee_user_id}|{c.id in failed};".encode())
    return digest.hexdigest()[:16]


def _selected_arg() -> uuid.UUID | None:
    raw = request.args.get("selected")
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        abort(400, _("The open conversation in the address is not valid."))


def _list_context(filters: Filters, selected: uuid.UUID | None) -> dict:
    """What the conversation list needs (it is the left pane of every inbox page)."""
    rows = queries.conversations(filters=filters, user_id=current_user.id)
    failed = queries.failed_conversation_ids(c.id for c in rows)
    unread_total = queries.unread_conversations()
    accounts = queries.accounts()
    return {"conversations": rows, "filters": filters, "selected": selected, "failed": failed,
            "previews": queries.previewed_messages(rows),
            "unread_total": unread_total, "version": _list_version(rows, failed, unread_total),
            "accounts": accounts, "numbers": queries.number_labels(accounts)}


def _page_context(conv: Conversation, window) -> dict:
    """The whole three-pane page with `conv` open."""
    context = _list_context(Filters.from_args(request.args), conv.id)
    context.update(_thread_context(conv, window))
    context.update(panel_context(conv))
    return context


def _blocked(conv: Conversation) -> str | None:
    """Why replying is impossible right now, in words (None: the reply box is open)."""
    try:
        sending.sending_account(conv)
    except sending.SendRefused as refused:
        return refused.shown
    return None


def _thread_context(conv: Conversation, window) -> dict:
    messages = list(reversed(window.new))
    return {
        "conversation": conv, "messages": messages, "cursor": window.cursor,
        "has_older": len(window.new) == queries.THREAD_PAGE, "quoted": queries.quoted_messages(messages),
        "blocked": _blocked(conv), "numbers": queries.number_labels(queries.accounts()),
    }


def _ticks_moved_forward(conv: Conversation) -> list[Message]:
    """Outbound messages whose status moved forward since the page last rendered their ticks."""
    shown: dict[uuid.UUID, str] = {}
    for value in request.args.getlist("tick")[:MAX_TICKS_PER_POLL]:
        message_id, _, status = value.partition(":")
        try:
            shown[uuid.UUID(message_id)] = status
        except ValueError:
            abort(400, _("The page sent a message status that is not valid; reload the page."))
    if not shown:
        return []
    rows = db.session.execute(
        select(Message).where(Message.id.in_(shown), Message.conversation_id == conv.id)
    ).scalars().all()
    return [m for m in rows if is_newer_status(m.status, shown[m.id])]


def _reply_to(conv: Conversation, raw: str | None) -> Message | None:
    """The message being replied to, if it is this conversation's and WhatsApp knows it."""
    if not raw:
        return None
    message = get_or_404(Message, raw)
    if message.conversation_id != conv.id or not message.wamid:
        abort(404)
    return message


def _refused(conv: Conversation, refused: sending.SendRefused, reply_to, body: str):
    """Nothing was stored: say why, keep what was typed (except when the box must close)."""
    status = 422 if refused.kind == "invalid" else 409
    blocked = None if refused.kind == "invalid" else refused.shown
    error = refused.shown if refused.kind == "invalid" else None
    body = body if blocked is None else ""
    if not is_fragment_request():  # a plain form post: the whole page, with the reply box saying why
        context = _page_context(conv, queries.latest(conversation_id=conv.id, page=queries.THREAD_PAGE))
        context.update(blocked=blocked or context["blocked"], error=error, reply_to=reply_to, body=body)
        return render_template("inbox/conversation.html", **context), status
    html = render_template("inbox/_reply_box.html", conversation=conv, blocked=blocked, error=error,
                           reply_to=reply_to, body=body, reconnect_banner=refused.kind == "reconnect")
    return htmx_response(html, status, retarget="#reply-box", reswap="outerHTML")


def _sent(conv: Conversation, outcome: sending.Outcome, replace: bool = False):
    if not is_fragment_request():
        if outcome.problem:
            flash(shown_error(outcome.message), "error")
        return redirect(url_for(".conversation", conversation_id=conv.id), 303)
    blocked = _(sending.WINDOW_CLOSED_WORDS) if outcome.problem == "window_closed" else _blocked(conv)
    html = render_template(
        "inbox/_sent.html", conversation=conv, m=outcome.message, quoted=queries.quoted_messages([outcome.message]),
        blocked=blocked, problem=outcome.problem, replace=replace,
    )
    if replace:
        return htmx_response(html, retarget=f"#msg-{outcome.message.id}", reswap="outerHTML")
    return htmx_response(html)

