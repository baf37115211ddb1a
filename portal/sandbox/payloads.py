"""Webhook bodies in Meta's exact shape (pure functions: data in, dict out).

{"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes":
[{"field": "messages", "value": {"messaging_product": "whatsapp", "metadata":
{...}, "contacts": [...], "messages": [...]}}]}]}
"""
from __future__ import annotations

from .world import PhoneNumber


def envelope(waba_id: str, changes: list[dict], at: int) -> dict:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "time": at, "changes": changes}]}


def _metadata(phone: PhoneNumber) -> dict:
    return {"display_phone_number": phone.digits, "phone_number_id": phone.id}


def message_change(phone: PhoneNumber, wa_id: str, name: str, message: dict) -> dict:
    """One `messages` change carrying one customer message."""
    return {"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": _metadata(phone),
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [message],
    }}


def status_change(phone: PhoneNumber, wamid: str, status: str, recipient: str, at: int,
                  errors: list[dict] | None = None) -> dict:
    """One `messages` change carrying one delivery status of a message the business sent."""
    item: dict = {"id": wamid, "status": status, "timestamp": str(at), "recipient_id": recipient}
    if status in ("sent", "delivered"):
        item["conversation"] = {"id": f"conv{wamid[-20:]}", "origin": {"type": "service"}}
        if status == "sent":
            item["conversation"]["expiration_timestamp"] = str(at + 24 * 3600)
        item["pricing"] = {"billable": False, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"}
    if errors:
        item["errors"] = errors
    return {"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": _metadata(phone),
        "statuses": [item],
    }}


def quality_change(phone: PhoneNumber, old: str, new: str) -> dict:
    """`phone_number_quality_update`: FLAGGED when the rating falls to RED, UNFLAGGED when it recovers."""
    if new == "RED":
        event = "FLAGGED"
    elif old == "RED":
        event = "UNFLAGGED"
    else:
        event = "DOWNGRADE" if _rank(new) < _rank(old) else "UPGRADE"
    return {"field": "phone_number_quality_update", "value": {
        "display_phone_number": phone.digits,
        "event": event,
        "current_limit": "TIER_1K",
        "max_daily_conversations_per_business": "1000",
    }}


def _rank(rating: str) -> int:
    return {"RED": 0, "YELLOW": 1, "GREEN": 2}.get(rating, 1)


# --- customer messages (the `messages[]` items) ------------------------------

def text_message(wa_id: str, wamid: str, at: int, body: str) -> dict:
    return {"from": wa_id, "id": wamid, "timestamp": str(at), "type": "text", "text": {"body": body}}


def image_message(wa_id: str, wamid: str, at: int, media_id: str, sha256: str, caption: str = "") -> dict:
    image = {"mime_type": "image/png", "sha256": sha256, "id": media_id}
    if caption:
        image["caption"] = caption
    return {"from": wa_id, "id": wamid, "timestamp": str(at), "type": "image", "image": image}


def media_message(wa_id: str, wamid: str, at: int, kind: str, media_id: str, mime_type: str, sha256: str,
                  caption: str = "", filename: str = "", voice: bool = False) -> dict:
    """image | audio | video | document: {id, mime_type, sha256, caption?, filename?, voice?} (sha256 in base64)."""
    body: dict = {"mime_type": mime_type, "sha256": sha256, "id": media_id}
    if caption:
        body["caption"] = caption
    if filename:
        body["filename"] = filename
    if kind == "audio":
        body["voice"] = voice
    return {"from": wa_id, "id": wamid, "timestamp": str(at), "type": kind, kind: body}


def location_message(wa_id: str, wamid: str, at: int, latitude: float, longitude: float,
                     name: str = "", address: str = "") -> dict:
    location: dict = {"latitude": latitude, "longitude": longitude}
    if name:
        location["name"] = name
    if address:
        location["address"] = address
    return {"from": wa_id, "id": wamid, "timestamp": str(at), "type": "location", "location": location}


def reaction_message(wa_id: str, wamid: str, at: int, message_id: str, emoji: str) -> dict:
    return {"from": wa_id, "id": wamid, "timestamp": str(at), "type": "reaction",
            "reaction": {"message_id": message_id, "emoji": emoji}}
