"""The sandbox's media, as Meta's Cloud API documents it (../shared/meta-reference.md, Media):
customers send pictures, voice notes, video and documents ({id, mime_type, sha256 (base64),
caption?, filename?, voice?}); the business uploads with POST /{phone-number-id}/media
(multipart file, type, messaging_product) -> {id}; limits and Meta's upload error 131053."""
from __future__ import annotations

import base64
import hashlib
import io

import mutagen
import pytest

from .conftest import ANA, CARDIO, CARDIO_PHONE, CARDIO_WABA, FLEX, FLEX_PHONES, customer_says
from .test_graph import _error, _send


def _upload(meta, token, phone_id, data: bytes, mime_type: str, name: str = "file", product: str = "whatsapp"):
    form = {"messaging_product": product, "type": mime_type, "file": (io.BytesIO(data), name, mime_type)}
    return meta.call("POST", f"{phone_id}/media", token, data=form, content_type="multipart/form-data")


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


def test_an_upload_answers_an_id_the_business_can_send_and_read(meta, box):
    customer_says(box, CARDIO_PHONE, ANA)
    token = meta.token_for(CARDIO)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    response = _upload(meta, token, CARDIO_PHONE, png, "image/png", "x.png")
    assert response.status_code == 200 and set(response.json) == {"id"}
    media_id = response.json["id"]
    assert meta.call("GET", media_id, token).json["file_size"] == len(png)
    sent = _send(meta, token, CARDIO_PHONE, type="image", image={"id": media_id, "caption": "for you"})
    assert sent.status_code == 200
    box.dispatcher.flush()


@pytest.mark.parametrize("data, mime_type, words", [
    (b"GIF89a" + b"\x00" * 10, "image/gif", "Received file of type 'image/gif'"),
    (b"\xff\xd8" + b"\x00" * (5 * 1024 * 1024), "image/jpeg", "larger than 5120 KB"),
    (b"RIFF" + b"\x00" * (500 * 1024), "image/webp", "larger than 500 KB"),
    (b"", "application/pdf", "empty"),
])
def test_uploads_beyond_metas_limits_are_131053(meta, data, mime_type, words):
    error = _error(_upload(meta, meta.token_for(CARDIO), CARDIO_PHONE, data, mime_type))
    assert error["code"] == 131053 and words in error["error_data"]["details"]


def test_uploads_need_messaging_product_a_file_and_the_numbers_business(meta):
    token = meta.token_for(CARDIO)
    assert _error(_upload(meta, token, CARDIO_PHONE, b"x", "text/plain", product="sms"))["code"] == 100
    no_file = meta.call("POST", f"{CARDIO_PHONE}/media", token, data={"messaging_product": "whatsapp"})
    assert _error(no_file)["code"] == 100
    assert _error(_upload(meta, token, FLEX_PHONES[0], b"x", "text/plain"))["code"] in (10, 200)


def test_sending_a_media_id_the_business_does_not_own_fails_with_131053(meta, box, recorder):
    box.world.subscribe(CARDIO_WABA, box.app_id, on=True)
    customer_says(box, FLEX_PHONES[0], ANA)
    flex_media = _upload(meta, meta.token_for(FLEX), FLEX_PHONES[0], b"hello", "text/plain").json["id"]
    customer_says(box, CARDIO_PHONE, ANA)
    token = meta.token_for(CARDIO)
    for media_id in ("999", flex_media):
        sent = _send(meta, token, CARDIO_PHONE, type="document", document={"id": media_id})
        assert sent.status_code == 200  # accepted, as Meta does; the failure comes as a status
    recorder.posts.clear()
    box.dispatcher.flush()
    statuses = [s for p in recorder.payloads() for e in p["entry"] for c in e["changes"]
                for s in c["value"].get("statuses", [])]
    assert [s["status"] for s in statuses] == ["failed", "failed"]
    assert all(s["errors"][0]["code"] == 131053 for s in statuses)
