"""What a media message is, in words, for the feed, the conversation list and the thread."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from . import kinds

# Stored (conversation previews) in English; shown translated (SHOWN_NAMES).
NAMES = {"image": "Photo", "sticker": "Sticker", "audio": "Audio", "video": "Video", "document": "Document"}
SHOWN_NAMES = {"image": _l("Photo"), "sticker": _l("Sticker"), "audio": _l("Audio"), "video": _l("Video"),
               "document": _l("Document")}


RETRYING = re.compile(r"^(?P<reason>.*) \(attempt (?P<attempt>\d+); trying again\)$", re.S)


def shown_reason(stored: str | None) -> str | None:
    """Why a download failed or is retried (stored in English by download.py), in the reader's
    language when it is one of the portal's own reasons; Meta's own words stay as they came."""
    if not stored:
        return stored
    retrying = RETRYING.match(stored)
    if retrying:
        return _("%(reason)s (attempt %(attempt)s; trying again)", reason=_(retrying["reason"]),
                 attempt=retrying["attempt"])
    return _(stored)


def words(kind: str, *, voice: bool = False, duration: float | None = None, filename: str | None = None,
          caption: str | None = None, shown: bool = False) -> str:
    """'Photo', 'Voice note 0:14', 'Document: invoice.pdf', 'Photo: my receipt'. In English for
    what is stored (previews); in the reader's language when `shown`."""
    if shown:
        name = str(_("Voice note") if kind == "audio" and voice else SHOWN_NAMES.get(kind, kind.capitalize()))
    else:
        name = "Voice note" if kind == "audio" and voice else NAMES.get(kind, kind.capitalize())
    if duration and kind in ("audio", "video"):
        name = f"{name} {kinds.duration_words(duration)}"
    detail = caption or (filename if kind == "document" else None)
    return f"{name}: {detail}" if detail else name


def is_voice(message) -> bool:
    if message.type != "audio":
        return False
    if message.media_voice:
        return True
    body = message.raw.get("audio") if isinstance(message.raw, dict) else None
    return isinstance(body, dict) and body.get("voice") is True


def summary(message) -> str:
    """One line for a media message (Message rows), as shown: in the reader's language."""
    return words(message.type, voice=is_voice(message), duration=message.media_duration,
                 filename=message.media_filename, caption=message.text, shown=True)


def stored_summary(message) -> str:
    """The same line in English, for the conversation's stored preview."""
    return words(message.type, voice=is_voice(message), duration=message.media_duration,
                 filename=message.media_filename, caption=message.text)


def title(message) -> str:
    """The kind alone, for the thread ("Voice note 0:14"); the caption is shown below it."""
    return words(message.type, voice=is_voice(message), duration=message.media_duration, shown=True)


def preview(row: dict) -> str:
    """The conversation list's preview of a media message as ingest stores it (a row of columns)."""
    body = row["raw"].get(row["type"]) if isinstance(row.get("raw"), dict) else None
    voice = row["type"] == "audio" and isinstance(body, dict) and body.get("voice") is True
    return words(row["type"], voice=voice, filename=row.get("media_filename"), caption=row.get("text"))


def init_app(app):
    app.add_template_global(summary, "media_summary")
    app.add_template_global(title, "media_title")
    app.add_template_filter(shown_reason, "media_reason")
    app.add_template_filter(kinds.human_size, "human_size")
    app.add_template_filter(kinds.duration_words, "duration_words")
