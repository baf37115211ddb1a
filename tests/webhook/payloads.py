"""Build WhatsApp webhook bodies shaped exactly as Meta documents them, and sign them.

Reusable by any test (inbox, e2e):

    from tests.webhook.payloads import text_message, messages_change, envelope, post_signed
    body = envelope(messages_change(PHONE_ID, messages=[text_message("wamid.1", "hi")]))
    post_signed(client, body)

Every builder returns plain dicts; `envelope` wraps changes into entries.
"""
from __future__ import annotations

import json
import time

from portal.meta.signatures import webhook_signature
from tests.conftest import TEST_APP_SECRET

CUSTOMER = "16315551181"
CUSTOMER_NAME = "Kerry Fisher"
DISPLAY_NUMBER = "15550783881"


def _ts(timestamp=None) -> str:
    return str(int(timestamp if timestamp is not None else time.time()))


def inbound(wamid: str, kind: str, content: dict | None, sender: str = CUSTOMER, timestamp=None, context=None) -> dict:
    """One inbound message object: {"from", "id", "timestamp", "type", <type>: {...}}."""
    message = {"from": sender, "id": wamid, "timestamp": _ts(timestamp), "type": kind}
    if content is not None:
        message[kind] = content
    if context is not None:
        message["context"] = context
    return message


def text_message(wamid: str, body: str = "Hello!", **kw) -> dict:
    return inbound(wamid, "text", {"body": body}, **kw)


def image_message(wamid: str, media_id: str = "1003383421387256", caption: str | None = "Our new office", **kw) -> dict:
    content = {"mime_type": "image/jpeg", "sha256": "7a35eb8d0a0dcb1e7f8f6c04ac0ba7a3e5b3d2c2a9f3e6b", "id": media_id}
    if caption is not None:
        content["caption"] = caption
    return inbound(wamid, "image", content, **kw)


def document_message(wamid: str, media_id: str = "1031624385238871", filename: str = "invoice.pdf", **kw) -> dict:
    return inbound(wamid, "document", {"filename": filename, "mime_type": "application/pdf",
                                       "sha256": "ad1c8e3ae6a8a6b0c1d1", "id": media_id, "caption": "March invoice"}, **kw)


def audio_message(wamid: str, media_id: str = "1003383421387257", **kw) -> dict:
    return inbound(wamid, "audio", {"mime_type": "audio/ogg; codecs=opus", "sha256": "b2c1", "id": media_id, "voice": True}, **kw)


def video_message(wamid: str, media_id: str = "1003383421387258", **kw) -> dict:
    return inbound(wamid, "video", {"mime_type": "video/mp4", "sha256": "c3d2", "id": media_id}, **kw)


def sticker_message(wamid: str, media_id: str = "1003383421387259", **kw) -> dict:
    return inbound(wamid, "sticker", {"mime_type": "image/webp", "sha256": "d4e3", "id": media_id, "animated": False}, **kw)


def location_message(wamid: str, **kw) -> dict:
    return inbound(wamid, "location", {"address": "1 Hacker Way, Menlo Park, CA 94025", "latitude": 37.483307,
                                       "longitude": -122.148981, "name": "Philz Coffee",
                                       "url": "https://philz.example"}, **kw)


def contacts_message(wamid: str, **kw) -> dict:
    message = inbound(wamid, "contacts", None, **kw)
    message["contacts"] = [{"name": {"first_name": "Barbara", "last_name": "Johnson", "formatted_name": "Barbara J. Johnson"},
                            "phones": [{"phone": "+1 (940) 555-1234", "wa_id": "19405551234", "type": "MOBILE"}]}]
    return message


def button_reply_message(wamid: str, reply_id: str = "change-button", title: str = "Change", context_id: str = "wamid.out.1", **kw) -> dict:
    return inbound(wamid, "interactive", {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}},
                   context={"from": DISPLAY_NUMBER, "id": context_id}, **kw)


def list_reply_message(wamid: str, reply_id: str = "priority_express", title: str = "Express Shipping", **kw) -> dict:
    return inbound(wamid, "interactive", {"type": "list_reply", "list_reply": {"id": reply_id, "title": title,
                                                                             "description": "Next Day to 2 Days"}},
                   context={"from": DISPLAY_NUMBER, "id": "wamid.out.list"}, **kw)


def quick_reply_button_message(wamid: str, payload: str = "No-Button-Payload", text: str = "No", **kw) -> dict:
    return inbound(wamid, "button", {"payload": payload, "text": text},
                   context={"from": DISPLAY_NUMBER, "id": "wamid.out.template"}, **kw)


def reaction_message(wamid: str, target: str, emoji: str = "\U0001F600", **kw) -> dict:
    return inbound(wamid, "reaction", {"message_id": target, "emoji": emoji}, **kw)


def unsupported_message(wamid: str, **kw) -> dict:
    message = inbound(wamid, "unsupported", None, **kw)
    message["errors"] = [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                          "error_data": {"details": "Message type is currently not supported."}}]
    return message


def status(wamid: str, name: str, recipient: str = CUSTOMER, timestamp=None, error: tuple[int, str] | None = None) -> dict:
    """One status object of a status webhook."""
    item = {"id": wamid, "status": name, "timestamp": _ts(timestamp), "recipient_id": recipient}
    if name in ("sent", "delivered"):
        item["conversation"] = {"id": "6ceb9d929c7bdb0d0d7d4bb3d9e2b0e9", "origin": {"type": "service"}}
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    if error:
        item["errors"] = [{"code": error[0], "title": error[1], "message": error[1],
                           "error_data": {"details": "Message failed to send."}}]
    return item


def messages_change(phone_number_id: str, messages=None, statuses=None, contacts=None,
                    display_number: str = DISPLAY_NUMBER, name: str = CUSTOMER_NAME) -> dict:
    """A `messages` change; contacts default to the senders of `messages`."""
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": display_number, "phone_number_id": phone_number_id}}
    if messages:
        if contacts is None:
            senders = dict.fromkeys(m["from"] for m in messages if "from" in m)
            contacts = [{"profile": {"name": name}, "wa_id": wa_id} for wa_id in senders]
        value["contacts"] = contacts
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {"value": value, "field": "messages"}


def field_change(field: str, value: dict) -> dict:
    """Any other field (account_update, phone_number_quality_update, ...)."""
    return {"value": value, "field": field}


def entry(waba_id: str, *changes: dict) -> dict:
    return {"id": waba_id, "changes": list(changes)}


def envelope(*entries_or_changes, waba_id: str = "102290129340398") -> dict:
    """The whole body. Pass entries (dicts with "changes") or bare changes (wrapped in one entry)."""
    entries = [e for e in entries_or_changes if "changes" in e]
    bare = [c for c in entries_or_changes if "changes" not in c]
    if bare:
        entries.append(entry(waba_id, *bare))
    return {"object": "whatsapp_business_account", "entry": entries}


def encode(body) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def signed_headers(raw: bytes, secret: str = TEST_APP_SECRET) -> dict:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": webhook_signature(raw, secret)}


def post_signed(client, body, secret: str = TEST_APP_SECRET):
    """POST `body` (dict or bytes) to /webhook signed as Meta signs it."""
    raw = encode(body)
    return client.post("/webhook", data=raw, headers=signed_headers(raw, secret))
