"""Media the portal uploads: `POST /{phone-number-id}/media` (multipart: file, type,
messaging_product=whatsapp) answers `{"id"}`, with Meta's limits and its upload error (131053).

Kept apart from graph_whatsapp.py on purpose (the media download and `GET /{media-id}` live
there); the lead may fold it in. Sending by a media id the business does not own is answered
with a failed status carrying 131053 (see `unusable_media`).
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from . import graph_errors as errors
from .graph_auth import owned, params, require_token, sandbox
from .media import UPLOAD_LIMITS
from .world import MESSAGING

bp = Blueprint("sandbox_graph_media", __name__)

MEDIA_SEND_KINDS = ("image", "audio", "video", "document", "sticker")

MEDIA_STATUS_ERROR = {
    "code": 131053,
    "title": "Media upload error",
    "message": "Media upload error",
    "error_data": {"details": "Unable to download the media: the media id is not valid for this business."},
}


def upload_error(details: str) -> errors.GraphAPIError:
    return errors.GraphAPIError("(#131053) Media upload error", 131053,
                                error_data={"messaging_product": "whatsapp", "details": details})


@bp.post("/<version:version>/<object_id>/media")
def upload(version, object_id):
    request.max_content_length = max(UPLOAD_LIMITS.values()) + 1024 * 1024  # the sandbox's 1 MB is for JSON calls
    token = require_token()
    owned(token, object_id, ("phone",), MESSAGING)
    data = params()
    if data.get("messaging_product") != "whatsapp":
        raise errors.GraphAPIError("(#100) The parameter messaging_product is required.", 100)
    file = request.files.get("file")
    if file is None:
        raise errors.GraphAPIError("(#100) The parameter file is required.", 100)
    mime_type = str(data.get("type") or file.mimetype or "").split(";", 1)[0].strip().lower()
    if mime_type not in UPLOAD_LIMITS:
        raise upload_error(f"Param file must be a file with one of the following types: "
                           f"{', '.join(sorted(UPLOAD_LIMITS))}. Received file of type '{mime_type}'.")
    content = file.read(UPLOAD_LIMITS[mime_type] + 1)
    if not content:
        raise upload_error("The file is empty.")
    if len(content) > UPLOAD_LIMITS[mime_type]:
        raise upload_error(f"File of type {mime_type} is larger than {UPLOAD_LIMITS[mime_type] // 1024} KB.")
    media = sandbox().world.add_media(object_id, mime_type, content)
    return jsonify(id=media.id)


def unusable_media(kind: str, content: dict, phone_id: str) -> bool:
    """A send by media id that this number's business cannot use (unknown or another business's)."""
    if kind not in MEDIA_SEND_KINDS or "link" in content:
        return False
    world = sandbox().world
    media = world.media.get(str(content.get("id") or ""))
    return media is None or world.business_of(media.phone_id) != world.business_of(phone_id)
