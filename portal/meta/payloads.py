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
    "request_welcome", "edit", "revoke", "media_placeholder",
)
# Keys of a "messages" change value that ingest turns into rows; any other key
# (for instance "errors") makes the change worth keeping as an account event too.
MESSAGE_VALUE_KEYS = frozenset(("messaging_product", "metadata", "contacts", "messages", "statuses"))
# The same for what the business typed on the WhatsApp Business app and for its past chats (coexistence).
ECHO_VALUE_KEYS = frozenset(("messaging_product", "metadata", "contacts", "message_echoes"))
HISTORY_VALUE_KEYS = frozenset(("messaging_product", "metadata", "history"))

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


def is_bsuid(value: str | None) -> bool:
    """A business-scoped user id ("US.13491208655302741918"), not a phone number (digits only)."""
    return bool(value) and not value.isdigit()


@dataclass
class Person:
    """A customer as one change names them: phone number and/or BSUID, name, username."""

    wa_id: str | None = None
    user_id: str | None = None
    name: str | None = None
    username: str | None = None

    @property
    def key(self) -> str | None:
        """The id a batch groups the customer's messages by (the phone number when there is one)."""
        return self.wa_id or self.user_id

    def absorb(self, other: "Person") -> None:
        self.wa_id = self.wa_id or other.wa_id
        self.user_id = self.user_id or other.user_id
        self.name = other.name or self.name
        self.username = other.username or self.username


def wa_id_or_none(value) -> str | None:
    value = text(value, 32)
    return value if value and value.isdigit() else None


def bsuid_or_none(value) -> str | None:
    value = text(value, 64)
    return value if is_bsuid(value) else None


def people(value: dict) -> list[Person]:
    """The change's `contacts`: phone number (`wa_id`), BSUID (`user_id`), name and username each."""
    found = []
    for contact in listed(value, "contacts"):
        profile = _dict(contact.get("profile"))
        wa_id = wa_id_or_none(contact.get("wa_id"))
        person = Person(
            wa_id=wa_id, user_id=bsuid_or_none(contact.get("user_id")) or (None if wa_id else bsuid_or_none(contact.get("wa_id"))),
            name=text(profile.get("name"), 255),
            username=text(contact.get("username") or profile.get("username"), 255),
        )
        if person.key:
            found.append(person)
    return found


class People:
    """A change's `contacts`, found by phone number or BSUID (one lookup per message, not a scan)."""

    def __init__(self, value: dict):
        self.listed = people(value)
        self.by_wa_id = {person.wa_id: person for person in self.listed if person.wa_id}
        self.by_user_id = {person.user_id: person for person in self.listed if person.user_id}


def author(message: dict, contacts: People, counterpart_key: str = "from") -> Person | None:
    """The customer of one message: its own ids (`from`/`from_user_id`, or `to`/`to_user_id` for
    what the business sent), completed by the matching entry of `contacts`. A message with no id
    of its own belongs to the change's only contact, if there is exactly one."""
    raw_id = message.get(counterpart_key)
    wa_id = wa_id_or_none(raw_id)  # a phone number is not also a BSUID: no second look at raw_id then
    person = Person(wa_id=wa_id, user_id=bsuid_or_none(message.get(f"{counterpart_key}_user_id"))
                    or (None if wa_id else bsuid_or_none(raw_id)))
    match = contacts.by_wa_id.get(person.wa_id) if person.wa_id else None
    if match is None and person.user_id:
        match = contacts.by_user_id.get(person.user_id)
    if match is None and not person.key and len(contacts.listed) == 1:
        match = contacts.listed[0]
    if match is not None:
        person.absorb(match)
    return person if person.key else None


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
        "group_id": text(message.get("group_id"), 64),
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
        _interactive(row, body)
    elif kind == "button":
        row.update(reply_id=text(body.get("payload"), 255), reply_title=text(body.get("text"), 255),
                   text=text(body.get("text")))
    elif kind == "reaction":
        # The reacted-to message is the target; an empty emoji removes the reaction.
        row.update(context_wamid=text(body.get("message_id"), 255), text=text(body.get("emoji"), 32) or None)
    elif kind == "edit":
        # The edited message is the target; the new text (or caption) is what it now says.
        new = _dict(body.get("message"))
        new_kind = text(new.get("type"), 32) or "text"
        content = _dict(new.get(new_kind))
        row.update(context_wamid=text(body.get("original_message_id"), 255),
                   text=text(content.get("body") if new_kind == "text" else content.get("caption")))
    elif kind == "revoke":
        row["context_wamid"] = text(body.get("original_message_id"), 255)
    elif kind == "contacts":
        row["text"] = contacts_summary(message.get("contacts"))
    elif kind == "system":
        row["text"] = text(body.get("body")) or system_words(body)
    elif kind == "order":
        row["text"] = order_summary(body)
    elif kind in ("unsupported", "unknown"):
        row["text"] = error_words(message.get("errors"))
    return row


def _interactive(row: dict, body: dict) -> None:
    """Button and list replies, Flow answers (nfm_reply), call permission answers."""
    sub = text(body.get("type"), 32) or "button_reply"
    reply = _dict(body.get(sub))
    if sub in ("button_reply", "list_reply"):
        title, description = text(reply.get("title"), 255), text(reply.get("description"), 255)
        row.update(reply_id=text(reply.get("id"), 255), reply_title=title,
                   text=f"{title} — {description}" if title and description else title or description)
    elif sub == "nfm_reply":
        answers = flow_answers(reply.get("response_json"))
        shown = ", ".join(f"{label}: {value}" for label, value in answers[:3])
        row.update(reply_title=text(reply.get("name"), 255) or "Flow",
                   text=text(reply.get("body")) if not shown else shown)
    elif sub == "call_permission_reply":
        row.update(reply_id=text(reply.get("response"), 255), text=call_permission_words(reply))


def _label(key: str) -> str:
    return key.replace("_", " ").strip().capitalize() or key


def _plain(value) -> str:
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{_label(str(k))}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    return text(value) or ""


def flow_answers(response_json) -> list[tuple[str, str]]:
    """A Flow's answers (`response_json`, a JSON string) as (label, value) pairs, its token left out."""
    try:
        answers = json.loads(response_json) if isinstance(response_json, str) else response_json
    except ValueError:
        return [("Answer", text(response_json) or "")]
    if not isinstance(answers, dict):
        return []
    return [(_label(str(key)), _plain(value)) for key, value in answers.items() if key != "flow_token"]


def call_permission_words(reply: dict) -> str:
    response = text(reply.get("response"), 32) or ""
    words = {"accept": "Allowed WhatsApp calls", "reject": "Declined WhatsApp calls"}.get(response.lower(),
                                                                                       f"Call permission: {response}")
    expiration = timestamp(reply.get("expiration_timestamp") or reply.get("expiration"))
    if expiration and response.lower() == "accept":
        words += f" until {expiration:%Y-%m-%d %H:%M} UTC"
    return words


def system_words(body: dict) -> str:
    kind = text(body.get("type"), 64) or ""
    if kind in ("user_changed_number", "customer_changed_number"):
        new = text(body.get("new_wa_id") or body.get("wa_id"), 32)
        return "The customer changed their phone number" + (f" to +{new}" if new else "")
    if kind in ("user_changed_user_id", "customer_identity_changed"):
        return "The customer's WhatsApp account id changed"
    return "WhatsApp system message"


def order_items(body: dict) -> list[dict]:
    items = []
    for item in body.get("product_items") if isinstance(body.get("product_items"), list) else ():
        item = _dict(item)
        quantity, price = number(item.get("quantity")), number(item.get("item_price"))
        items.append({"product": text(item.get("product_retailer_id"), 255) or "?", "quantity": quantity,
                      "price": price, "currency": text(item.get("currency"), 8) or ""})
    return items


def order_total(items: list[dict]) -> tuple[float, str] | None:
    currencies = {item["currency"] for item in items}
    if not items or len(currencies) != 1 or any(i["price"] is None or i["quantity"] is None for i in items):
        return None
    return sum(i["price"] * i["quantity"] for i in items), currencies.pop()


def order_summary(body: dict) -> str:
    items = order_items(body)
    count = sum(int(i["quantity"] or 0) for i in items)
    total = order_total(items)
    words = f"Order: {count} item{'' if count == 1 else 's'}"
    if total:
        words += f", {total[0]:,.2f} {total[1]}"
    note = text(body.get("text"))
    return f"{words} — {note}" if note else words


def contact_cards(cards) -> list[dict]:
    """Shared contact cards: name, organisation, phones, emails, urls."""
    found = []
    for card in cards if isinstance(cards, list) else ():
        card = _dict(card)
        name = _dict(card.get("name"))
        org = _dict(card.get("org"))
        found.append({
            "name": text(name.get("formatted_name"), 255) or " ".join(
                filter(None, (text(name.get("first_name"), 100), text(name.get("last_name"), 100)))) or "Contact",
            "org": " · ".join(filter(None, (text(org.get("company"), 255), text(org.get("title"), 255)))),
            "phones": [(text(p.get("phone"), 64) or text(p.get("wa_id"), 32) or "", text(p.get("type"), 32) or "")
                       for p in map(_dict, card.get("phones") or []) if p],
            "emails": [text(e.get("email"), 255) or "" for e in map(_dict, card.get("emails") or []) if e],
            "urls": [text(u.get("url"), 512) or "" for u in map(_dict, card.get("urls") or []) if u],
        })
    return found


def contacts_summary(cards) -> str | None:
    parts = []
    for card in contact_cards(cards):
        detail = (card["phones"][0][0] if card["phones"] else None) or (card["emails"][0] if card["emails"] else None)
        parts.append(f"{card['name']} ({detail})" if detail else card["name"])
    return ", ".join(parts)[:1000] or None


def error_words(errors) -> str | None:
    """Meta's own words for a message it could not pass on: the first error's title and details."""
    first = _dict(errors[0]) if isinstance(errors, list) and errors else {}
    title = text(first.get("title") or first.get("message"), 255)
    details = text(_dict(first.get("error_data")).get("details"), 255)
    if title and details and details != title:
        return f"{title}: {details}"
    return title or details


# What a message is, in words, when it has no text of its own (lists, previews, the feed).
KIND_WORDS = {
    "image": "Photo", "video": "Video", "audio": "Audio", "document": "Document", "sticker": "Sticker",
    "location": "Location", "contacts": "Shared contact", "interactive": "Interactive reply", "button": "Button reply",
    "order": "Order", "system": "WhatsApp system message", "request_welcome": "Opened the chat for the first time",
    "edit": "Edited a message", "revoke": "Deleted a message", "reaction": "Reacted",
    "media_placeholder": "Media from the chat history", "unsupported": "Unsupported message",
    "unknown": "Unsupported message",
}


def one_line(kind: str, body: str | None) -> str:
    """One line for lists and previews: the kind in words, then what it says."""
    if kind == "text":
        return body or ""
    if kind in ("interactive", "button", "system", "order", "contacts") and body:
        return body
    label = KIND_WORDS.get(kind)
    if label is None:
        return f"Unsupported message ({kind})" + (f": {body}" if body else "")
    if kind == "reaction":
        return f"Reacted {body}" if body else "Removed a reaction"
    return f"{label}: {body}" if body else label


def preview(row: dict) -> str:
    """The conversation list's one-line preview of a message."""
    if row["type"] in MEDIA_TYPES:  # "Photo: caption", "Voice note", "Document: invoice.pdf"
        from ..media.labels import preview as media_preview

        return media_preview(row)[:PREVIEW_LENGTH]
    return one_line(row["type"], row["text"])[:PREVIEW_LENGTH]


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
