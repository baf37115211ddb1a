"""Media: upload (POST /{phone}/media), describe (GET /{media-id}), delete, and the download URL.

Meta's limits (meta-reference.md, "Media"): image jpeg/png 5 MB; audio
aac/amr/mpeg/mp4/ogg 16 MB; video mp4/3gpp 16 MB; documents 100 MB; stickers
webp 100 KB (500 KB animated). Ids answer for 30 days; a URL from
GET /{media-id} works for 5 minutes and only with the owning business's token.
"""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, jsonify, request

from . import graph_errors as errors
from . import openapi
from .graph_auth import owned, require_token, sandbox
from .world import MEDIA_URL_TTL, MESSAGING

bp = Blueprint("sandbox_media", __name__)

MEDIA_PATH = "/whatsapp_business/attachments/"
MB = 1024 * 1024
LIMITS = {  # mime type -> largest size Meta accepts
    "image/jpeg": 5 * MB, "image/png": 5 * MB,
    "audio/aac": 16 * MB, "audio/amr": 16 * MB, "audio/mpeg": 16 * MB, "audio/mp4": 16 * MB, "audio/ogg": 16 * MB,
    "video/mp4": 16 * MB, "video/3gpp": 16 * MB,
    "text/plain": 100 * MB, "application/pdf": 100 * MB, "application/msword": 100 * MB,
    "application/vnd.ms-excel": 100 * MB, "application/vnd.ms-powerpoint": 100 * MB,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * MB,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 * MB,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 * MB,
    "image/webp": 500 * 1024,
}
STATIC_STICKER = 100 * 1024
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "audio/ogg": "ogg", "audio/mpeg": "mp3",
              "video/mp4": "mp4", "application/pdf": "pdf", "text/plain": "txt"}


@bp.post("/<version:version>/<object_id>/media")
def upload(version, object_id):
    g.meta_operation = openapi.MEDIA_UPLOAD
    token = require_token()
    owned(token, object_id, ("phone",), MESSAGING)
    if request.form.get("messaging_product") != "whatsapp":
        raise errors.GraphAPIError("(#100) The parameter messaging_product is required.", 100)
    upload_file = request.files.get("file")
    if upload_file is None:
        raise errors.GraphAPIError("(#100) The parameter file is required.", 100)
    mime_type = (request.form.get("type") or upload_file.mimetype or "").split(";")[0].strip().lower()
    if mime_type not in LIMITS:
        raise errors.GraphAPIError(f"(#100) Param file must be a file with one of the following types: "
                                   f"{', '.join(sorted(LIMITS))}. Received file of type '{mime_type}'.", 100)
    data = upload_file.read()
    limit = LIMITS[mime_type]
    if mime_type == "image/webp" and b"ANIM" not in data[:64]:
        limit = STATIC_STICKER
    if not data:
        raise errors.upload_refused("The file is empty.")
    if len(data) > limit:
        raise errors.upload_refused(f"{mime_type} files may be at most {limit} bytes; this one is {len(data)}.")
    media = sandbox().world.add_media(object_id, mime_type, data)
    return jsonify(id=media.id)


def describe(token, media_id: str):
    """GET /{media-id}: where to download it (a URL valid for minutes), its type, hash and size."""
    g.meta_operation = openapi.MEDIA
    owned(token, media_id, ("media",), MESSAGING)
    media = sandbox().world.media[media_id]
    expires = sandbox().world.now() + MEDIA_URL_TTL
    query = urlencode({"mid": media.id, "ext": EXTENSIONS.get(media.mime_type, "bin"), "exp": expires,
                       "hash": _url_signature(media.id, expires)})
    return jsonify(messaging_product="whatsapp", url=f"{request.host_url.rstrip('/')}{MEDIA_PATH}?{query}",
                   mime_type=media.mime_type, sha256=media.sha256, file_size=str(len(media.data)), id=media.id)


def delete(token, media_id: str):
    """DELETE /{media-id}: gone for good (a later GET answers as for an unknown object)."""
    g.meta_operation = openapi.MEDIA
    owned(token, media_id, ("media",), MESSAGING)
    phone_number_id = request.args.get("phone_number_id")
    if phone_number_id and sandbox().world.media[media_id].phone_id != phone_number_id:
        raise errors.invalid_parameter("phone_number_id does not own this media")
    sandbox().world.delete_media(media_id)
    return jsonify(success=True)


@bp.get(MEDIA_PATH)
def download():
    """The media bytes: the URL alone is not enough, the owning business's token must come too."""
    token = require_token()
    media_id = request.args.get("mid", "")
    world = sandbox().world
    if world.live_media(media_id) is None:
        raise errors.GraphAPIError("Media not found", 100, status=404)
    owned(token, media_id, ("media",), MESSAGING)
    try:
        expires = int(request.args.get("exp", ""))
    except ValueError:
        raise errors.media_url_expired() from None
    signature = request.args.get("hash", "")
    if not hmac.compare_digest(signature.encode(), _url_signature(media_id, expires).encode()) \
            or world.now() >= expires:
        raise errors.media_url_expired()
    media = world.media[media_id]
    return Response(media.data, mimetype=media.mime_type, headers={"Content-Length": str(len(media.data))})


def _url_signature(media_id: str, expires: int) -> str:
    key = current_app.config["META_APP_SECRET"].encode()
    return hmac.new(key, f"{media_id}|{expires}".encode(), hashlib.sha256).hexdigest()[:32]
