"""How the inbox shows people and days: avatars without pictures, date separators.

Avatars are initials on one of eight colours (CSS classes: the CSP forbids inline styles).
Days are UTC days, like every time the portal shows.
"""
from __future__ import annotations

import zlib
from datetime import date, timedelta

from ..models import utcnow


def initials(name: str | None) -> str:
    """Up to two letters: of the name's first two words; "#" for a bare phone number."""
    words = [w for w in (name or "").split() if w and w[0].isalpha()]
    return "".join(w[0] for w in words[:2]).upper() or "#"


def tone(key) -> int:
    """A colour 0-7, the same for a contact every time."""
    return zlib.crc32(str(key).encode()) % 8


def message_day(message) -> date:
    return (message.sent_at or message.created_at).date()


def day_label(day: date, today: date | None = None) -> str:
    today = today or utcnow().date()
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    return day.strftime("%a %d %b %Y") if day.year != today.year else day.strftime("%a %d %b")
