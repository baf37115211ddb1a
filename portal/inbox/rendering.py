"""Template helpers: message text made safe (escaped, links, line breaks), ticks, labels."""
from __future__ import annotations

import re
from markupsafe import Markup, escape

from ..models import STATUS_RANK, utcnow

# Matched on the ESCAPED text, so a link can never carry a quote or an angle bracket out of its attribute.
_URL = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"

MEDIA_LABELS = {"image": "Photo", "video": "Video", "audio": "Audio", "document": "Document", "sticker": "Sticker"}
TICKS = {
    "pending": ("🕓", "Sending"),
    "sent": ("✓", "Sent"),
    "delivered": ("✓✓", "Delivered"),
    "read": ("✓✓", "Read"),
    "played": ("✓✓", "Played"),
    "failed": ("!", "Not sent"),
}


def message_html(text: str | None) -> Markup:
    """Escape everything, then turn http(s) links into links and line breaks into <br>."""
    if not text:
        return Markup("")
    escaped = str(escape(text))

    def link(match: re.Match) -> str:
        # One rstrip, not a character at a time: that loop copied the URL once per trailing
        # character, and a message of nothing but punctuation made every view quadratic.
        url = match.group(0).rstrip(_TRAILING)
        trail = match.group(0)[len(url):]
        if url.endswith("&amp") or url.endswith("&lt") or url.endswith("&gt"):
            return match.group(0)
        return f'<a href="{url}" rel="noopener noreferrer nofollow" target="_blank">{url}</a>{trail}'

    linked = _URL.sub(link, escaped)
    return Markup(linked.replace("\r\n", "\n").replace("\n", "<br>\n"))


def ticks(status: str | None) -> dict:
    """Symbol and label of an outbound message's delivery status."""
    symbol, label = TICKS.get(status or "pending", ("?", status or "unknown"))
    return {"status": status or "pending", "symbol": symbol, "label": label}


def is_newer_status(new: str | None, old: str | None) -> bool:
    """Ticks only move forward (a late "delivered" never replaces "read")."""
    return STATUS_RANK.get(new or "", -1) > STATUS_RANK.get(old or "", -1)


def final_status(status: str | None) -> bool:
    """No later status can change what the ticks show."""
    return status in ("read", "played", "failed")


def summary(message) -> str:
    """One line for lists: the text, or what kind of message it is."""
    if message.type == "text":
        return message.text or ""
    if message.type in MEDIA_LABELS:
        label = MEDIA_LABELS[message.type]
        return f"{label}: {message.text}" if message.text else label
    if message.type == "location":
        return "Location" + (f": {message.location_name}" if message.location_name else "")
    if message.type == "reaction":
        return f"Reacted {message.reaction_emoji or message.text or ''}".strip()
    if message.type in ("interactive", "button"):
        return message.reply_title or message.text or "Button reply"
    if message.type == "contacts":
        return "Shared contact"
    return message.text or f"Unsupported message ({message.type})"


def map_url(latitude: float, longitude: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={latitude:.6f}&mlon={longitude:.6f}#map=16/{latitude:.6f}/{longitude:.6f}"


def init_app(app):
    app.add_template_filter(message_html, "message_html")
    app.add_template_filter(summary, "message_summary")
    app.add_template_global(ticks, "message_ticks")
    app.add_template_global(final_status, "final_status")
    app.add_template_global(map_url, "map_url")
    app.add_template_global(MEDIA_LABELS, "media_labels")
    app.add_template_global(utcnow, "now_utc")

    from .sending import retryable

    app.add_template_global(retryable, "message_retryable")
