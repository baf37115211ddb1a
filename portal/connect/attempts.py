"""The OAuth state of "Connect with Meta": one row per attempt, single-use, short-lived.

The state itself travels only to Meta and back; the database keeps its
sha256, so a leaked database cannot be replayed. An attempt belongs to the
user and the browser session (`session["sid"]`, set at login) that started
it, and to one product, which never appears in the state.
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from ..extensions import db
from ..models import ConnectAttempt, utcnow

STATE_TTL = timedelta(minutes=10)
MAX_STATE_LENGTH = 128


class StateError(Exception):
    """The callback's state cannot be used; `reason` says why (for logs and tests)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def start_attempt(product_id: uuid.UUID, user_id: uuid.UUID, session_id: str, embedded_signup: bool) -> str:
    """Record a new attempt (in the session's transaction) and return its state."""
    now = utcnow()
    # Housekeeping: attempts that can no longer be used are of no further use.
    db.session.execute(delete(ConnectAttempt).where(ConnectAttempt.expires_at < now))
    state = secrets.token_urlsafe(32)
    db.session.add(ConnectAttempt(
        product_id=product_id, user_id=user_id, session_id=session_id, state_hash=state_hash(state),
        embedded_signup=embedded_signup, expires_at=now + STATE_TTL,
    ))
    return state


def consume_attempt(state: str | None, user_id: uuid.UUID | None, session_id: str | None) -> ConnectAttempt:
    """Check the callback's state and mark its attempt used (committed at once).

    Raises StateError for a missing, unknown, foreign, replayed or expired state.
    Called with no product in scope: the attempt tells which product it is for.
    """
    if not state or len(state) > MAX_STATE_LENGTH:
        raise StateError("missing", _("The answer from Meta carried no valid sign-in state. "
                                      "Start again from your product's dashboard."))
    attempt = db.session.execute(
        select(ConnectAttempt).where(ConnectAttempt.state_hash == state_hash(state))
    ).scalar_one_or_none()
    if attempt is None:
        raise StateError("unknown", _("This sign-in link is not known. Start again from your product's dashboard."))
    if user_id is None:
        raise StateError("logged_out", _("You are no longer logged in, so this sign-in cannot be finished. "
                                         "Log in and start again from your product's dashboard."))
    if attempt.user_id != user_id or not session_id or attempt.session_id != session_id:
        raise StateError("foreign", _("This sign-in was started by another user or in another browser session. "
                                      "Start again from your product's dashboard."))
    if attempt.used_at is not None:
        raise StateError("used", _("This sign-in link has already been used. Start again from your product's dashboard."))
    now = utcnow()
    if attempt.expires_at <= now:
        raise StateError("expired", _("This sign-in link expired (they last 10 minutes). "
                                      "Start again from your product's dashboard."))
    # Conditional update: of two concurrent callbacks with the same state, one wins.
    result = db.session.execute(
        update(ConnectAttempt)
        .where(ConnectAttempt.id == attempt.id, ConnectAttempt.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        raise StateError("used", _("This sign-in link has already been used. Start again from your product's dashboard."))
    return attempt
