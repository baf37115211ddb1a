"""Customers of the sandbox send media as Meta's Cloud API documents it (../shared/meta-reference.md,
Media): pictures, voice notes, video and documents ({id, mime_type, sha256 (base64), caption?,
filename?, voice?}), downloadable with the owning business's token. (Uploads, limits and expiry:
test_endpoints_2026.py.)"""
from __future__ import annotations

import base64
import hashlib
import io

import mutagen
import pytest

from .conftest import ANA, CARDIO, CARDIO_PHONE


@pytest.mark.parametrize("kind, message_type, mime_type", [
    ("voice", "audio", "audio/ogg; codecs=opus"),
    ("video", "video", "video/mp4"),
    ("document", "document", "application/pdf"),
    ("image", "image", "image/png"),
])
def test_customers_send_media_in_metas_shape_and_it_downloads(meta, box, recorder, kind, message_type, mime_type):
    message, _ = box.customer_writes(CARDIO_PHONE, ANA, kind, caption="see this")
    body = message[message_type]
    assert message["type"] == message_type and body["mime_type"] == mime_type
    assert set(body) >= {"id", "mime_type", "sha256"}
    if kind == "voice":
        assert body["voice"] is True and "caption" not in body
    if kind == "document":
        assert body["filename"].endswith(".pdf") and body["caption"] == "see this"
    token = meta.token_for(CARDIO)
    info = meta.call("GET", body["id"], token).json
    data = meta.call("GET", info["url"], token).data
    assert base64.b64encode(hashlib.sha256(data).digest()).decode() == body["sha256"]
    if kind == "voice":
        assert mutagen.File(io.BytesIO(data)).info.length >= 3  # a real Ogg Opus a player can read
