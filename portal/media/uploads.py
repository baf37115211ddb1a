"""Outbound media: a file attached in the reply box, checked against Meta's limits, kept, uploaded, sent.

The file's kind comes from its bytes (never from its name or the browser's claim alone), and
Meta's limit for that kind is checked before anything is stored, with the limit in words.
The message is stored pending with the portal's own copy of the file (the thread shows it at
once); delivery (portal/inbox/sending.py) uploads it with `POST /{phone-number-id}/media` and
sends it by media id, and a retry uploads again if Meta never gave an id.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import flask
from flask_babel import gettext as _

from ..extensions import db
from ..meta.graph import Graph, GraphError
from ..models import OUTBOUND, Conversation, Message, WhatsAppAccount, utcnow
from . import kinds, labels
from .storage import key_for, media_store

MAX_CAPTION = 1024
CAPTIONED = ("image", "video", "document")
UPLOAD_ENDPOINTS = {"inbox.send_message"}
# The largest request the reply box may send: the largest document plus the form around it.
MAX_UPLOAD_REQUEST = kinds.LIMITS["document"].max_bytes + kinds.MB


class UploadRefused(Exception):
    """The file cannot be sent; the text says which limit, in words."""


@dataclass
class Attachment:
    kind: str
    mime_type: str
    data: bytes
    filename: str | None
    caption: str | None
    voice: bool = False


def validate(upload, caption: str | None, voice: bool = False) -> Attachment:
    """Check a reply box file against Meta's type and size limits (which limit, said in words)."""
    limit_all = kinds.LIMITS["document"].max_bytes
    data = upload.read(limit_all + 1)
    if not data:
        raise UploadRefused(_("The attached file is empty."))
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:255] or None
    mime_type = kinds.sniff(data) or _plain_text(data, name)
    kind = _kind_of(mime_type)
    if kind is None:
        raise UploadRefused(_(
            "WhatsApp cannot carry this kind of file (%(type)s). It takes pictures "
            "(JPEG, PNG), stickers (WebP), audio (AAC, AMR, MP3, M4A, Ogg), video (MP4, 3GPP) and documents "
            "(PDF, text, Word, Excel, PowerPoint).", type=mime_type or _("unknown type")
        ))
    limit = kinds.LIMITS[kind]
    max_bytes = limit.max_bytes
    if kind == "sticker" and b"ANIM" not in data[:64]:
        max_bytes = kinds.STATIC_STICKER_BYTES
    if len(data) > max_bytes:
        raise UploadRefused(_("This file is %(size)s, too large: %(limit)s.", size=kinds.human_size(len(data)),
                               limit=limit.words))
    caption = (caption or "").replace("\r\n", "\n").strip() or None  # CRLF from the multipart form (see sending)
    if caption and kind not in CAPTIONED:
        raise UploadRefused(_("WhatsApp sends sticker without a caption: send the text as a message of its own.")
                            if kind == "sticker" else
                            _("WhatsApp sends audio without a caption: send the text as a message of its own."))
    if caption and len(caption) > MAX_CAPTION:
        raise UploadRefused(_("A caption holds at most %(most)s characters; this one has %(count)s.",
                               most=MAX_CAPTION, count=len(caption)))
    return Attachment(kind, mime_type, data, name if kind == "document" else None, caption,
                      voice=voice and kind == "audio" and mime_type == "audio/ogg")


def create_media_reply(conversation: Conversation, attachment: Attachment, user_id, context_wamid: str | None) -> Message:
    """Keep the file and store the reply as pending; commits, before Meta is called."""
    now = utcnow()
    message = Message(
        conversation_id=conversation.id, phone_number_id=conversation.phone_number_id,
        contact_wa_id=conversation.contact.wa_id, direction=OUTBOUND, type=attachment.kind, text=attachment.caption,
        media_mime_type=attachment.mime_type, media_filename=attachment.filename, media_size=len(attachment.data),
        media_sha256=hashlib.sha256(attachment.data).hexdigest(), media_voice=attachment.voice,
        status="pending", status_at=now, created_at=now, context_wamid=context_wamid, sent_by_user_id=user_id,
    )
    db.session.add(message)
    db.session.flush()  # the id names the file
    message.media_key = key_for(message.id, kinds.extension(attachment.mime_type))
    media_store().put(message.product_id, message.media_key, attachment.data)
    message.media_state = "stored"
    if attachment.kind in ("audio", "video"):
        from .probe import duration

        message.media_duration = duration(attachment.data)
    conversation.show_latest(message, labels.stored_summary(message), now)
    db.session.commit()
    return message


def outbound_content(message: Message, account: WhatsAppAccount) -> dict:
    """The send payload's content for a media reply; uploads the file first when Meta has no id for it."""
    if not message.media_id:
        message.media_id = upload(message, account)
        db.session.commit()  # a retry after a failed send reuses the id
    content = {"id": message.media_id}
    if message.text and message.type in CAPTIONED:
        content["caption"] = message.text
    if message.type == "document" and message.media_filename:
        content["filename"] = message.media_filename
    return {"type": message.type, message.type: content}


def upload(message: Message, account: WhatsAppAccount) -> str:
    """POST /{phone-number-id}/media (multipart: file, type, messaging_product); Meta answers {id}."""
    with media_store().open(message.product_id, message.media_key) as handle:
        data = handle.read()
    name = message.media_filename or f"{message.type}.{kinds.extension(message.media_mime_type)}"
    answer = Graph(account.access_token).request(
        "POST", f"{account.phone_number_id}/media",
        data={"messaging_product": "whatsapp", "type": message.media_mime_type},
        files={"file": (name, data, message.media_mime_type)},
    )
    media_id = answer.get("id") if isinstance(answer, dict) else None
    if not isinstance(media_id, str) or not media_id:
        raise GraphError("Meta accepted the upload but returned no media id.", kind="malformed")
    return media_id[:255]


def _plain_text(data: bytes, name: str | None) -> str | None:
    """A .txt file: text that decodes as UTF-8 (no other unrecognised bytes are accepted)."""
    if not (name or "").lower().endswith(".txt"):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain"


def _kind_of(mime_type: str | None) -> str | None:
    for kind in ("image", "sticker", "audio", "video", "document"):
        if mime_type in kinds.LIMITS[kind].types:
            return kind
    return None


class UploadRequest(flask.Request):
    """The reply box may send a file as large as Meta's largest media; every other request keeps
    the portal's MAX_CONTENT_LENGTH (the webhook's limit)."""

    @property
    def max_content_length(self):
        if self.endpoint in UPLOAD_ENDPOINTS:
            return MAX_UPLOAD_REQUEST
        return flask.Request.max_content_length.fget(self)

    @max_content_length.setter
    def max_content_length(self, value):
        flask.Request.max_content_length.fset(self, value)


def init_app(app):
    app.request_class = UploadRequest
