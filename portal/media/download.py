"""Inbound media: the engine fetches each file from Meta and keeps it, per product.

Meta's two steps (../shared/meta-reference.md, Media): `GET /{media-id}` with the product's
token answers `{url, mime_type, sha256, file_size}`; the URL lives a few minutes and is
fetched with the same bearer token. The bytes must match Meta's sha256 (hex, or base64 as
in webhook payloads). A failure Meta may get over (5xx, timeout, rate limit) is retried by
the engine with backoff; an expired URL is asked for again at once; a failure that cannot
change (the media is gone, the hash is wrong, the number is disconnected) or the last attempt
marks the message failed, in words, and the thread offers a retry.

Ingest enqueues this job after its commit; `sweep_unfetched` enqueues what a crash between
the commit and the enqueue left behind. The webhook never waits for a download.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import uuid
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from ..extensions import db
from ..labels import N_  # reasons are stored in English and translated when shown (labels.shown_reason)
from ..jobs import crontab, enqueue, enqueue_after_commit, job, periodic
from ..meta.graph import Graph, GraphError, check_media_id
from ..models import NEEDS_RECONNECT, Conversation, Message, WhatsAppAccount, utcnow
from . import kinds, labels, probe
from .storage import key_for, media_store

log = logging.getLogger(__name__)

RETRIES = 6  # after the first attempt: 30 s, 1, 2, 4, 8, 16 minutes
MAX_DOWNLOAD_BYTES = kinds.LIMITS["document"].max_bytes + kinds.MB  # the largest media Meta carries
SWEEP_AFTER = timedelta(minutes=5)  # older than any enqueue-after-commit
STUCK_AFTER = timedelta(hours=2)  # longer than every retry's backoff together (about 32 minutes)
SWEEP_BATCH = 200
EXPIRED_URL_STATUSES = {401, 403, 404, 410}


class Permanent(Exception):
    """The media cannot be downloaded, now or later; the text says why, for the thread."""


class Temporary(Exception):
    """A failure that a later attempt may get over; the text says what happened."""


@job(retries=RETRIES, retry_delay=30, backoff=2.0, product_job=True)
def download_media(product_id, message_id) -> None:
    """Fetch, check and keep one message's media (the product is in scope: no other product's row is read)."""
    message = db.session.execute(select(Message).where(Message.id == _uuid(message_id))).scalar_one_or_none()
    if message is None or not message.media_id or message.media_state == "stored":
        return
    message.media_state = "downloading"
    message.media_attempts += 1
    attempt = message.media_attempts
    db.session.commit()
    try:
        data, mime_type = fetch(message)
        store(message, data, mime_type)
    except Permanent as reason:
        _fail(message, str(reason))
    except Temporary as reason:
        if attempt > RETRIES:
            _fail(message, str(reason))
            return
        message.media_error = f"{reason} (attempt {attempt}; trying again)"[:512]  # labels.shown_reason reads it
        db.session.commit()
        raise  # the engine retries with backoff


def fetch(message: Message) -> tuple[bytes, str]:
    """The media's bytes and type, checked against Meta's sha256 when Meta gave one."""
    account = db.session.execute(
        select(WhatsAppAccount).where(WhatsAppAccount.phone_number_id == message.phone_number_id)
    ).scalar_one_or_none()
    if account is None:
        raise Permanent(N_("the number that received it is no longer connected to this product"))
    if account.state == NEEDS_RECONNECT:
        raise Permanent(N_("the number's access to Meta expired or was revoked; reconnect it, then retry"))
    graph = Graph(account.access_token)
    info = _media_info(graph, message.media_id)
    try:
        data = _download(graph, info["url"])
    except _Expired:
        info = _media_info(graph, message.media_id)  # a fresh, short-lived URL
        try:
            data = _download(graph, info["url"])
        except _Expired:
            raise Temporary(N_("Meta's download link expired twice in a row")) from None
    expected = info.get("sha256") or _webhook_sha256(message)
    if expected and not sha256_matches(data, expected):
        raise Permanent(N_("the file received does not match Meta's checksum (sha256)"))
    return data, info.get("mime_type") or message.media_mime_type or "application/octet-stream"


def store(message: Message, data: bytes, mime_type: str) -> None:
    """Keep the bytes under the message's key and record what they are. Commits."""
    key = key_for(message.id, kinds.extension(mime_type))
    media_store().put(message.product_id, key, data)
    message.media_key = key
    message.media_size = len(data)
    message.media_sha256 = hashlib.sha256(data).hexdigest()
    message.media_mime_type = (message.media_mime_type or mime_type)[:128]
    message.media_duration = probe.duration(data) if message.type in ("audio", "video") else None
    message.media_voice = message.media_voice or _is_voice(message)
    message.media_state = "stored"
    message.media_error = None
    if message.media_duration and message.conversation_id and message.sent_at:
        # The list's preview now knows the length ("Voice note 0:14"), if this is still the latest message.
        db.session.execute(
            update(Conversation).where(Conversation.id == message.conversation_id,
                                       Conversation.last_message_at == message.sent_at)
            .values(last_message_preview=labels.stored_summary(message)[:200]).execution_options(synchronize_session=False)
        )
    db.session.commit()


def sha256_matches(data: bytes, expected: str) -> bool:
    """Meta gives the hash as hex (GET /{media-id}) or base64 (webhook payloads): accept either."""
    digest = hashlib.sha256(data).digest()
    value = expected.strip()
    if value.lower() == digest.hex():
        return True
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True) == digest
    except (binascii.Error, ValueError):
        return False


def retry(message: Message) -> bool:
    """Put a failed download back in the queue (the thread's retry button). Commits."""
    claimed = db.session.execute(
        update(Message).where(Message.id == message.id, Message.media_state == "failed")
        .values(media_state="downloading", media_error=None, media_attempts=0)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    if claimed:
        enqueue(download_media, message.product_id, message.id)
    db.session.refresh(message)
    return claimed


@periodic(crontab(minute="*/5"))
def sweep_unfetched() -> int:
    """Enqueue downloads that never ran (a crash between ingest's commit and its enqueue), and
    those that never ended (a worker killed mid-download, its retry lost with it)."""
    now = utcnow()
    rows = db.session.execute(
        select(Message.product_id, Message.id)
        .where(Message.media_id.is_not(None),
               or_(Message.media_state.is_(None), Message.media_state == "downloading"),
               or_(and_(Message.media_state.is_(None), Message.created_at < now - SWEEP_AFTER),
                   Message.created_at < now - STUCK_AFTER),
               Message.type.in_(kinds.MEDIA_KINDS), Message.direction == "in")
        .order_by(Message.created_at).limit(SWEEP_BATCH)
        .execution_options(all_products=True)
    ).all()
    for product_id, message_id in rows:
        enqueue(download_media, product_id, message_id)
    return len(rows)


def enqueue_for_new_rows(rows) -> None:
    """Ingest's hook: after its commit, one download per new inbound media message.
    `rows` are (product id, message id) pairs, in any stored form."""
    for product_id, message_id in rows:
        enqueue_after_commit(download_media, _uuid(product_id), _uuid(message_id))


# ---- the two Graph calls -------------------------------------------------------------------

class _Expired(Exception):
    pass


def _media_info(graph: Graph, media_id: str) -> dict:
    try:
        info = graph.get(check_media_id(media_id))  # never a URL: the token goes only to Meta
    except GraphError as error:
        raise _classified(error) from None
    url = info.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise Temporary(N_("Meta did not say where the file is"))
    return info


def _download(graph: Graph, url: str) -> bytes:
    try:
        response = graph.request("GET", url, stream=True)
    except GraphError as error:
        if error.http_status in EXPIRED_URL_STATUSES and not error.token_invalid:
            raise _Expired() from None
        raise _classified(error) from None
    try:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_DOWNLOAD_BYTES:
            raise Permanent(N_("the file is larger than WhatsApp allows"))
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_DOWNLOAD_BYTES:
                raise Permanent(N_("the file is larger than WhatsApp allows"))
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        raise Temporary(N_("the connection to Meta broke during the download")) from None
    finally:
        response.close()


def _classified(error: GraphError) -> Exception:
    if error.token_invalid:
        return Permanent(N_("Meta refused the number's token; reconnect the number, then retry"))
    if error.retryable or error.code in (1, 2):
        return Temporary(f"Meta had a problem ({error})")
    if error.code == 131053 or error.http_status == 404 or error.code == 100:
        return Permanent(f"Meta no longer has this file ({error}); media is kept about 30 days")
    return Permanent(f"Meta refused the download ({error})")


def _fail(message: Message, reason: str) -> None:
    log.info("media of message %s could not be downloaded: %s", message.id, reason)
    message.media_state = "failed"
    message.media_error = reason[:512]
    db.session.commit()


def _webhook_sha256(message: Message) -> str | None:
    body = (message.raw or {}).get(message.type) if isinstance(message.raw, dict) else None
    value = body.get("sha256") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _is_voice(message: Message) -> bool:
    body = (message.raw or {}).get("audio") if isinstance(message.raw, dict) else None
    return message.type == "audio" and isinstance(body, dict) and body.get("voice") is True


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))

