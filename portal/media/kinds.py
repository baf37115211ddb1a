"""What a media file is: Meta's kinds, types and size limits, and the type its bytes show.

The type Meta or an uploader names is never trusted alone: `sniff` reads the first bytes
(with the `filetype` library), and a file is shown inline only when both agree on a type a
browser can show safely (pictures, audio, video). Everything else is a download.
"""
from __future__ import annotations

from dataclasses import dataclass

import filetype
from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

MEDIA_KINDS = ("image", "sticker", "audio", "video", "document")

KB = 1024
MB = 1024 * 1024


@dataclass(frozen=True)
class Limit:
    kind: str
    types: tuple[str, ...]  # MIME types Meta accepts for this kind
    max_bytes: int
    words: str  # the limit, as a person reads it (lazy: translated where shown)


# Meta's limits (see ../shared/meta-reference.md, Media; Cloud API "Supported media types").
LIMITS = {
    "image": Limit("image", ("image/jpeg", "image/png"), 5 * MB, _l("a picture must be JPEG or PNG and at most 5 MB")),
    "audio": Limit("audio", ("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"), 16 * MB,
                   _l("audio must be AAC, AMR, MP3, M4A or Ogg (Opus) and at most 16 MB")),
    "video": Limit("video", ("video/mp4", "video/3gpp"), 16 * MB, _l("a video must be MP4 or 3GPP and at most 16 MB")),
    "sticker": Limit("sticker", ("image/webp",), 500 * KB,
                     _l("a sticker must be WebP, at most 100 KB (500 KB when animated)")),
    "document": Limit("document", (
        "application/pdf", "text/plain", "application/msword", "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ), 100 * MB, _l("a document must be PDF, plain text, Word, Excel or PowerPoint and at most 100 MB")),
}
STATIC_STICKER_BYTES = 100 * KB

# Shown in the page (img/audio/video) only when the bytes agree; never HTML, SVG or scripts.
INLINE_TYPES = {
    "image": {"image/jpeg", "image/png", "image/webp", "image/gif"},
    "sticker": {"image/webp", "image/png"},
    "audio": {"audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/amr", "audio/x-m4a"},
    "video": {"video/mp4", "video/3gpp", "video/webm"},
}
# filetype names some types differently from Meta; both names mean the same bytes.
SAME_TYPE = {"audio/x-m4a": "audio/mp4", "video/3gp": "video/3gpp", "audio/opus": "audio/ogg", "audio/x-aac": "audio/aac"}

EXTENSIONS = {
    "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "audio/ogg": "ogg", "audio/mpeg": "mp3",
    "audio/mp4": "m4a", "audio/aac": "aac", "audio/amr": "amr", "video/mp4": "mp4", "video/3gpp": "3gp",
    "application/pdf": "pdf", "text/plain": "txt", "application/msword": "doc", "application/vnd.ms-excel": "xls",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
}


def base_type(mime_type: str | None) -> str:
    """'audio/ogg; codecs=opus' -> 'audio/ogg' (lower case, parameters dropped)."""
    value = (mime_type or "").split(";", 1)[0].strip().lower()
    return SAME_TYPE.get(value, value)


def sniff(head: bytes) -> str | None:
    """The type the first bytes show (None when they show none filetype knows: text, HTML...)."""
    kind = filetype.guess(head[:8192])
    return base_type(kind.mime) if kind else None


def inline_type(kind: str, stored_type: str | None, head: bytes) -> str | None:
    """The Content-Type to show this media inline with, or None: serve it as a download."""
    declared = base_type(stored_type)
    if declared not in INLINE_TYPES.get(kind, ()):
        return None
    return declared if agrees(declared, sniff(head)) else None


def agrees(declared: str | None, sniffed: str | None) -> bool:
    """The bytes show the declared type (an MP4 container holds audio as well as video)."""
    return bool(declared) and (sniffed == declared or (declared == "audio/mp4" and sniffed == "video/mp4"))


def extension(mime_type: str | None) -> str:
    return EXTENSIONS.get(base_type(mime_type), "bin")


def human_size(size: int | None) -> str:
    """'512 bytes', '14 KB', '1.5 MB' (numbers in the reader's locale: '1,5 MB' in Spanish)."""
    if size is None:
        return ""
    locale = get_locale() or "en"
    if size < KB:
        return _("%(size)s bytes", size=format_decimal(size, locale=locale))
    if size < MB:
        return _("%(size)s KB", size=format_decimal(round(size / KB), format="#,##0", locale=locale))
    return _("%(size)s MB", size=format_decimal(size / MB, format="#,##0.0", locale=locale))


def duration_words(seconds: float | None) -> str:
    """0:14, 1:05:09."""
    if seconds is None:
        return ""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
