"""Media of a message, fetched from Meta with the product's token and streamed through the portal."""
from __future__ import annotations

import re

from flask import Response, stream_with_context

from ..meta.graph import Graph, GraphError, check_media_id
from ..models import NEEDS_RECONNECT, Message
from . import queries

CHUNK = 64 * 1024
_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ -]+")


class MediaUnavailable(Exception):
    """The media cannot be served; the text says why, in words."""


def download(message: Message) -> Response:
    """Ask Graph where the media is (GET /{media_id}), then stream it back with its type."""
    if not message.media_id:
        raise MediaUnavailable("This message has no media to download.")
    account = queries.account_for(message.phone_number_id)
    if account is None or account.state == NEEDS_RECONNECT:
        raise MediaUnavailable("The number that received this media is not connected now; reconnect it to download media.")
    graph = Graph(account.access_token)
    try:
        info = graph.get(check_media_id(message.media_id))
        url = info.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise MediaUnavailable("Meta did not say where this media is.")
        upstream = graph.request("GET", url, stream=True)
    except GraphError as error:
        raise MediaUnavailable(f"Meta could not provide this media: {error}. Media is kept by Meta for 30 days.") from None
    mime_type = info.get("mime_type") or upstream.headers.get("Content-Type") or "application/octet-stream"

    def chunks():
        try:
            yield from upstream.iter_content(CHUNK)
        finally:
            upstream.close()

    response = Response(stream_with_context(chunks()), mimetype=mime_type)
    # Always a download: media is the customer's content and must never render as our page.
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(message, mime_type)}"'
    if upstream.headers.get("Content-Length", "").isdigit():
        response.headers["Content-Length"] = upstream.headers["Content-Length"]
    response.headers["Cache-Control"] = "private, no-store"
    return response


def filename(message: Message, mime_type: str) -> str:
    name = _SAFE_FILENAME.sub("_", message.media_filename or "").strip(" .")[:120]
    if name:
        return name
    extension = mime_type.split("/", 1)[-1].split(";", 1)[0].strip() if "/" in mime_type else "bin"
    return f"{message.type}-{message.id.hex[-8:]}.{_SAFE_FILENAME.sub('', extension)[:10] or 'bin'}"
