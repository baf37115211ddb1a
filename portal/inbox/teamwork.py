"""Working a conversation as a team: status, assignee, internal notes, canned replies.

Plain functions the views call; everything runs in product scope, so every query is
the product's own. Notes and canned replies are rows of their own tables: nothing here
calls Meta, and nothing that calls Meta reads them.
"""
from __future__ import annotations

import re
import uuid

from flask import has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import audit
from ..extensions import db
from ..models import CONVERSATION_STATUSES, CannedReply, Conversation, ConversationNote, Membership, User

MAX_NOTE = 4096
MAX_CANNED = 4096
SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class TeamworkError(ValueError):
    """A change the rules refuse; the message is for people."""


def members() -> list[Membership]:
    """The product's members with their users (assignees, senders), once per request."""
    cache = request.environ.setdefault("maestra.inbox", {}) if has_request_context() else {}
    if "members" not in cache:
        cache["members"] = list(db.session.execute(
            select(Membership).options(joinedload(Membership.user)).order_by(Membership.created_at)
        ).scalars().all())
    return cache["members"]


def display_name(user: User | None) -> str:
    """What the team calls a member: the part of the email before the @."""
    return user.email.split("@", 1)[0] if user is not None else _("someone")


def member_name(user_id) -> str | None:
    """The display name of a member of the product in scope (None for a former member or no one)."""
    if user_id is None:
        return None
    for membership in members():
        if membership.user_id == user_id:
            return display_name(membership.user)
    return _("former member")


def set_status(conversation: Conversation, status: str, user_id) -> None:
    if status not in CONVERSATION_STATUSES:
        raise TeamworkError(_("Status must be one of: %(choices)s.", choices=", ".join(CONVERSATION_STATUSES)))
    if conversation.status != status:
        audit.record("conversation.status", product_id=conversation.product_id, user_id=user_id,
                     conversation_id=str(conversation.id), old=conversation.status, new=status)
        conversation.status = status
    db.session.commit()


def assign(conversation: Conversation, assignee: str | None, user_id) -> None:
    """Assign to a member of the product (by user id), or to nobody ("" or None)."""
    new_id = None
    if assignee:
        try:
            wanted = uuid.UUID(assignee)
        except ValueError:
            raise TeamworkError(_("Choose a member of the product.")) from None
        if not any(m.user_id == wanted for m in members()):
            raise TeamworkError(_("Choose a member of the product."))  # another product's user is nobody here
        new_id = wanted
    if conversation.assignee_user_id != new_id:
        audit.record("conversation.assigned", product_id=conversation.product_id, user_id=user_id,
                     conversation_id=str(conversation.id), assignee=str(new_id) if new_id else None)
        conversation.assignee_user_id = new_id
    db.session.commit()


def add_note(conversation: Conversation, body: str | None, user_id) -> ConversationNote:
    body = (body or "").strip()
    if not body:
        raise TeamworkError(_("Write the note before saving it."))
    if len(body) > MAX_NOTE:
        raise TeamworkError(_("A note holds at most %(max)d characters.", max=MAX_NOTE))
    note = ConversationNote(conversation_id=conversation.id, author_user_id=user_id, body=body)
    db.session.add(note)
    db.session.commit()
    return note


def notes(conversation: Conversation) -> list[ConversationNote]:
    return list(db.session.execute(
        select(ConversationNote).options(joinedload(ConversationNote.author))
        .where(ConversationNote.conversation_id == conversation.id).order_by(ConversationNote.created_at)
    ).scalars().all())


def canned_replies() -> list[CannedReply]:
    return list(db.session.execute(select(CannedReply).order_by(CannedReply.shortcut)).scalars().all())


def add_canned_reply(shortcut: str | None, body: str | None, user_id) -> CannedReply:
    shortcut = (shortcut or "").strip().lstrip("/").lower()
    body = (body or "").strip()
    if not SHORTCUT.match(shortcut):
        raise TeamworkError(_("A shortcut is 1 to 32 lowercase letters, digits, - or _ (typed after /)."))
    if not body or len(body) > MAX_CANNED:
        raise TeamworkError(_("A canned reply is 1 to %(max)d characters.", max=MAX_CANNED))
    if db.session.execute(select(CannedReply.id).where(CannedReply.shortcut == shortcut)).first():
        raise TeamworkError(_("/%(shortcut)s already exists.", shortcut=shortcut))
    reply = CannedReply(shortcut=shortcut, body=body, created_by_user_id=user_id)
    db.session.add(reply)
    db.session.commit()
    return reply
