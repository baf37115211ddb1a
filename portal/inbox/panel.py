"""The contact panel beside a thread: who the customer is, the conversation's status and
assignee, and the team's internal notes."""
from __future__ import annotations

from ..models import Conversation
from . import teamwork


def panel_context(conv: Conversation) -> dict:
    return {"conversation": conv, "notes": teamwork.notes(conv), "members": teamwork.members()}
