"""WhatsApp webhook payloads: from a raw body to plain rows, without a database.

Meta's shape: {"object", "entry": [{"id": <WABA id>, "changes": [{"field", "value"}]}]}.
Everything here is defensive on purpose: a body is signed by Meta, yet new
fields and types appear over time, so unknown shapes become "kept as they are"
instead of errors. Strings are cut to the lengths of their columns (PostgreSQL
refuses longer ones) and NUL characters are dropped (PostgreSQL text cannot
hold them).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

import orjson

# Message types whose object carries a media id.
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
# Types the inbox can show; anything else is an "unsupported message" with its raw JSON.
KNOWN_TYPES = MEDIA_TYPES + (
    "text", "location", "contacts", "interactive", "button", "reaction", "order", "system", "unsupported",
)
# Keys of a "messages" change value that ingest turns into rows; any other key
# (for instance "errors") makes the change worth keeping as an account event too.
MESSAGE_VALUE_KEYS = frozenset(("messaging_product", "metadata", "contacts", "messages", "statuses"))

PREVIEW_LENGTH = 200
INT32_MAX = 2**31 - 1


class PayloadError(ValueError):
    """The body is not a WhatsApp webhook we can read (not JSON, or not its envelope)."""


@dataclass(frozen=True)
class Change:
    """One `change` of one `entry`, with what routing needs."""

    waba_id: str | None
    field: str
    value: dict
    phone_number_id: str | None
    raw: dict  # {"entry_id": ..., "change": ...}: enough to replay it later

    @property
    def key(self) -> str:
        """sha256 of the canonical change: the same change delivered twice has the same key."""
        return canonical_hash(self.raw)


def canonical_hash(document) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


# Every digit as "0", every other byte as " ": a run of 19 digits, which may be an integer
# beyond 64 bits (orjson reads those as floats), is then a plain substring search away
# (a regex scanned bodies several times slower than orjson parsed them).
_DIGITS_AS_ZEROS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_NUMBER = b"0" * 19


def load_body(body: bytes) -> dict:
    """Parse a webhook body; PayloadError says why it cannot be one."""
    try:
        document = _parse(body)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise PayloadError(f"body is not valid JSON: {str(error)[:120]}") from None
    if not isinstance(document, dict) or not isinstance(document.get("entry"), list):
        raise PayloadError("body is not a webhook envelope (an object with an `entry` list)")
    if b"\\u" in body:  # escapes are rare in Meta's bodies: only then pay for a deep check
        document = _clean_escapes(document)
    return document


def _parse(body: bytes):
    """orjson (several times faster) where it gives what json gives; json decides the rest.

    What orjson refuses (infinite floats, lone surrogates, other encodings, deep nesting...)
    goes to json, which accepts or refuses it as it always did; and what orjson accepts json
    reads the same, but for integers beyond 64 bits (orjson makes them floats): bodies with
    19 digits in a row go straight to json."""
    if _LONG_NUMBER not in body.translate(_DIGITS_AS_ZEROS):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body, parse_float=_finite_float, parse_constant=_refuse_constant)


def _clean_escapes(document):
    """Refuse lone surrogates (not text at all) and drop NULs, which databases refuse."""
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadError("body holds an invalid unicode escape (a lone surrogate)") from None
    return _strip_nul(document)


def _strip_nul(node):
    if isinstance(node, str):
        return node.replace("\x00", "")
    if isinstance(node, list):
        return [_strip_nul(item) for item in node]
    if isinstance(node, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in node.items()}
    return node


def iter_changes(document: dict):
    """Every change of every entry, in order. Odd items are yielded too (field "invalid"), never dropped."""
    for entry in document["entry"]:
        if not isinstance(entry, dict):
            yield Change(None, "invalid", {}, None, {"entry_id": None, "change": entry})
            continue
        waba_id = _id(entry.get("id"))
        changes = entry.get("changes")
        if not isinstance(changes, list):
            yield Change(waba_id, "invalid", {}, None, {"entry_id": waba_id, "change": entry})
            continue
        for change in changes:
            yield _change(waba_id, change)


def change_from_raw(raw: dict) -> Change:
    """Rebuild a kept change (see Change.raw), to replay it."""
    return _change(_id(raw.get("entry_id")), raw.get("change"))


def _change(waba_id: str | None, change) -> Change:
    raw = {"entry_id": waba_id, "change": change}
    if not isinstance(change, dict):
        return Change(waba_id, "invalid", {}, None, raw)
    value = change.get("value")
    value = value if isinstance(value, dict) else {}
    metadata = value.get("metadata")
    phone_number_id = _id(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
    field = text(change.get("field"), 64) or "unknown"
    return Change(waba_id, field, value, phone_number_id, raw)


def _id(value) -> str | None:
    """An id as Meta sends it (a string of digits), or None; numbers are accepted too."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    value = str(value).strip()
    return value[:64] or None


def text(value, limit: int | None = None) -> str | None:
    """A string for a column: None for non-strings, NULs dropped, cut to `limit`."""
    if type(value) is not str:  # the usual case first: called several times per message
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        elif not isinstance(value, str):
            return None
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value[:limit] if limit else value


def timestamp(value) -> datetime | None:
    """Meta's unix-seconds timestamp (a string) as naive UTC, or None if it is not one."""
    try:
        seconds = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return _utc(seconds) if seconds > 0 else None


@lru_cache(maxsize=4096)
def _utc(seconds: int) -> datetime | None:
    """Cached: a batch's messages share a few seconds, and building a datetime costs more than the lookup."""
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return result if math.isfinite(result) else None


def small_int(value) -> int | None:
    """An integer that fits a 32-bit column (Meta's error codes), else None."""
    if isinstance(value, bool):
        return None
    try:
        result = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return result if -INT32_MAX <= result <= INT32_MAX else None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def sender(message: dict) -> str | None:
    """Who wrote: `from` (the wa_id), or the business-scoped user id when Meta sends only that."""
    return text(message.get("from"), 32) or text(message.get("from_user_id"), 32)


def profile_names(value: dict) -> dict[str, str]:
    """wa_id -> profile name, from the change's `contacts`."""
    names = {}
    contacts = value.get("contacts")
    for contact in contacts if isinstance(contacts, list) else ():
        contact = _dict(contact)
        wa_id = text(contact.get("wa_id"), 32) or text(contact.get("user_id"), 32)
        name = text(_dict(contact.get("profile")).get("name"), 255)
        if wa_id and name:
            names[wa_id] = name
    return names


def message_columns(message: dict) -> dict | None:
    """The Message columns of one inbound message object; None when it has no usable id."""
    wamid = text(message.get("id"), 255)
    if not wamid:
        return None
    kind = text(message.get("type"), 32) or "unknown"
    body = _dict(message.get(kind)) if kind in message else {}
    context = _dict(message.get("context"))
    row = {
        "wamid": wamid,
        "type": kind,
        "sent_at": timestamp(message.get("timestamp")),
        "text": None, "media_id": None, "media_mime_type": None, "media_filename": None,
        "latitude": None, "longitude": None, "location_name": None, "location_address": None,
        "reply_id": None, "reply_title": None,
        "context_wamid": text(context.get("id"), 255),
        "forwarded": bool(context.get("forwarded") or context.get("frequently_forwarded")),
        "raw": message,
    }
    if kind == "text":
        row["text"] = text(body.get("body"))
    elif kind in MEDIA_TYPES:
        row.update(
            text=text(body.get("caption")), media_id=text(body.get("id"), 255),
            media_mime_type=text(body.get("mime_type"), 128), media_filename=text(body.get("filename"), 255),
        )
    elif kind == "location":
        row.update(
            latitude=number(body.get("latitude")), longitude=number(body.get("longitude")),
            location_name=text(body.get("name"), 255), location_address=text(body.get("address"), 512),
        )
    elif kind == "interactive":
        reply = _dict(body.get(text(body.get("type"), 32) or "button_reply"))
        row.update(reply_id=text(reply.get("id"), 255), reply_title=text(reply.get("title"), 255),
                   text=text(reply.get("title")))
    elif kind == "button":
        row.update(reply_id=text(body.get("payload"), 255), reply_title=text(body.get("text"), 255),
                   text=text(body.get("text")))
    elif kind == "reaction":
        # The reacted-to message is the target; an empty emoji removes the reaction.
        row.update(context_wamid=text(body.get("message_id"), 255), text=text(body.get("emoji"), 32) or None)
    elif kind == "contacts":
        row["text"] = _contacts_summary(message.get("contacts"))
    elif kind == "system":
        row["text"] = text(body.get("body"))
    elif kind == "order":
        row["text"] = text(body.get("text"))
    return row


def _contacts_summary(cards) -> str | None:
    names = [text(_dict(_dict(card).get("name")).get("formatted_name"), 100) for card in cards or ()] if isinstance(cards, list) else []
    names = [n for n in names if n]
    return ", ".join(names)[:1000] or None


def preview(row: dict) -> str:
    """The conversation list's one-line preview of a message."""
    if row["type"] not in KNOWN_TYPES or row["type"] == "unsupported":
        return "Unsupported message"
    if row["type"] in MEDIA_TYPES:  # "Photo: caption", "Voice note", "Document: invoice.pdf"
        from ..media.labels import preview as media_preview

        return media_preview(row)[:PREVIEW_LENGTH]
    if row["text"]:
        return row["text"][:PREVIEW_LENGTH]
    return f"[{row['type']}]"


def status_columns(status: dict) -> dict | None:
    """wamid, status, time and (for failed) the first error of one status object; None if unusable."""
    wamid = text(status.get("id"), 255)
    name = text(status.get("status"), 16)
    if not wamid or not name:
        return None
    name = name.lower()
    errors = status.get("errors")
    first_error = _dict(errors[0]) if isinstance(errors, list) and errors else {}
    return {
        "wamid": wamid,
        "status": name,
        "status_at": timestamp(status.get("timestamp")),
        "error_code": small_int(first_error.get("code")),
        "error_title": text(first_error.get("title") or first_error.get("message"), 512),
    }


def listed(value: dict, key: str) -> list[dict]:
    """value[key] as a list of objects (anything else is treated as empty)."""
    items = value.get(key)
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
