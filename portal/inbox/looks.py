"""How the inbox shows people and days: avatars without pictures, date separators.

Avatars are initials on one of eight colours (CSS classes: the CSP forbids inline styles).
Days are the viewer's days (their time zone, else the product's): see portal/i18n/formatting.py.
"""
from __future__ import annotations

import zlib
from datetime import date

from ..i18n.formatting import day_label, day_of  # noqa: F401  (day_label: the thread's separators)


def initials(name: str | None) -> str:
    """Up to two letters: of the name's first two words; "#" for a bare phone number."""
    words = [w for w in (name or "").split() if w and w[0].isalpha()]
    return "".join(w[0] for w in words[:2]).upper() or "#"


def tone(key) -> int:
    """A colour 0-7, the same for a contact every time."""
    return zlib.crc32(str(key).encode()) % 8


def message_day(message) -> date:
    return day_of(message.sent_at or message.created_at)
