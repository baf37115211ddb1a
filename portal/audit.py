"""Append to the product's audit log."""
from __future__ import annotations

from flask_login import current_user

from .extensions import db
from .models import AuditEvent


def record(action: str, product_id=None, user_id=None, **detail) -> AuditEvent:
    """Add an audit entry to the session (committed with the change it describes)."""
    if user_id is None and current_user and getattr(current_user, "is_authenticated", False):
        user_id = current_user.id
    entry = AuditEvent(action=action, user_id=user_id, detail=detail)
    if product_id is not None:
        entry.product_id = product_id
    db.session.add(entry)
    return entry
