"""Serving a message's kept media to members of its product.

Shown inline (img, audio, video) only when the stored type is one a browser shows safely and
the bytes agree with it; anything else (a document, HTML or SVG named "image/png", a type we
do not know) is a download with a neutral type. Always `nosniff`, a sandboxing CSP of its own
and `private` caching (the key is per message: the bytes never change).
"""
from __future__ import annotations

import re

from flask import request, send_file
from flask_babel import gettext as _

from ..models import Message
from . import kinds
from .storage import media_store

_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ -]+")
CACHE_SECONDS = 7 * 24 * 3600


class NotServable(Exception):
    """The message has no kept media (yet); the text says why."""


def serve(message: Message, force_download: bool = False):
    if message.media_state != "stored" or not message.media_key:
        raise NotServable(_("This media has not been downloaded.") if message.type in kinds.MEDIA_KINDS
                          else _("This message has no media."))
    try:
        handle = media_store().open(message.product_id, message.media_key)
    except FileNotFoundError:
        raise NotServable(_("The file of this media is missing from the media store.")) from None
    head = handle.read(8192)
    handle.seek(0)
    shown = None if force_download else kinds.inline_type(message.type, message.media_mime_type, head)
    declared = kinds.base_type(message.media_mime_type)
    agreed = declared if kinds.agrees(declared, kinds.sniff(head)) else None
    response = send_file(handle, mimetype=shown or agreed or "application/octet-stream", as_attachment=shown is None,
                         download_name=filename(message), conditional=False, etag=False, max_age=CACHE_SECONDS)
    response.set_etag(message.media_sha256 or message.media_key)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.cache_control.private = True
    response.cache_control.public = False
    return response.make_conditional(request.environ, accept_ranges=True, complete_length=message.media_size)


def filename(message: Message) -> str:
    """The customer's file name, made safe, or one made from the kind and type."""
    name = _SAFE_FILENAME.sub("_", message.media_filename or "").strip(" .")[:120]
    if name:
        return name
    return f"{message.type}-{message.id.hex[-8:]}.{kinds.extension(message.media_mime_type)}"
