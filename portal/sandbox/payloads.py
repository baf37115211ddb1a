"""Webhook bodies in Meta's exact shape (pure functions: data in, dict out).

{"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes":
[{"field": "messages", "value": {"messaging_product": "whatsapp", "metadata":
{...}, "contacts": [...], "messages": [...]}}]}]}

Two shapes (setting SANDBOX_WEBHOOK_SHAPE):
- "current" (Meta since April 2026, business-scoped user ids): `contacts[]` carry
  `user_id` (the BSUID) and `profile.username`; messages carry `from_user_id`;
  statuses carry `recipient_user_id` and the change carries `contacts` too; a
  customer who hides the phone number has no `wa_id`, `from` or `recipient_id`
  (Meta's "Business-scoped user IDs" page; pywa 4.5 `User.from_contact`).
- "legacy" (before): `contacts: [{"profile": {"name"}, "wa_id"}]` and
  `recipient_id` only.
"""
from __future__ import annotations

from .world import Customer, PhoneNumber

SHAPES = ("current", "legacy")


def envelope(waba_id: str, changes: list[dict], at: int) -> dict:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "time": at, "changes": changes}]}


def _metadata(phone: PhoneNumber) -> dict:
    return {"display_phone_number": phone.digits, "phone_number_id": phone.id}


def _contact(customer: Customer, shape: str, *, profile: bool = True) -> dict:
    if shape == "legacy":
        return {"profile": {"name": customer.name}, "wa_id": customer.wa_id}
    contact: dict = {}
    if profile:
        contact["profile"] = {"name": customer.name}
        if customer.username:
            contact["profile"]["username"] = customer.username
    if not customer.phone_hidden:
        contact["wa_id"] = customer.wa_id
    contact["user_id"] = customer.user_id
    return contact


def as_sent(message: dict, customer: Customer, shape: str) -> dict:
    """A customer's `messages[]` item as the webhook carries it: `from` (hidden numbers: none) and,
    today, `from_user_id`."""
    item = dict(message)
    if shape == "current":
        if customer.phone_hidden:
            item.pop("from", None)
        item["from_user_id"] = customer.user_id
    return item


def message_change(phone: PhoneNumber, customer: Customer, message: dict, shape: str = "current") -> dict:
    """One `messages` change carrying one customer message."""
    return {"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": _metadata(phone),
        "contacts": [_contact(customer, shape)],
        "messages": [as_sent(message, customer, shape)],
    }}


def status_change(phone: PhoneNumber, wamid: str, status: str, customer: Customer, at: int,
                  errors: list[dict] | None = None, shape: str = "current") -> dict:
    """One `messages` change carrying one delivery status of a message the business sent.
    Today's shape names the recipient in `contacts` too (no username on `sent`)."""
    item: dict = {"id": wamid, "status": status, "timestamp": str(at)}
    if shape == "legacy" or not customer.phone_hidden:
        item["recipient_id"] = customer.wa_id
    if shape == "current":
        item["recipient_user_id"] = customer.user_id
    if status in ("sent", "delivered"):
        item["conversation"] = {"id": f"conv{wamid[-20:]}", "origin": {"type": "service"}}
        if status == "sent":
            item["conversation"]["expiration_timestamp"] = str(at + 24 * 3600)
        item["pricing"] = {"billable": False, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"}
    if errors:
        item["errors"] = errors
    value: dict = {"messaging_product": "whatsapp", "metadata": _metadata(phone)}
    if shape == "current":
        value["contacts"] = [_contact(customer, shape, profile=status in ("delivered", "read"))]
    value["statuses"] = [item]
    return {"field": "messages", "value": value}


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
    """A reaction; removing one is the same message without `emoji` (Meta's reaction webhook reference)."""
    reaction = {"message_id": message_id}
    if emoji:
        reaction["emoji"] = emoji
    return {"from": wa_id, "id": wamid, "timestamp": str(at), "type": "reaction", "reaction": reaction}


def template_status_change(template, event: str, reason: str = "NONE", at: int | None = None) -> dict:
    """`message_template_status_update` (WABA-level: no phone number), Meta's
    message_template_status_update webhook reference: the category always, `disable_info` when
    disabled, `other_info` when paused (Meta pauses a template its customers block or report)."""
    value = {
        "event": event,
        "message_template_id": int(template.id),
        "message_template_name": template.name,
        "message_template_language": template.language,
        "reason": reason,
        "message_template_category": template.category,
    }
    if event == "DISABLED":
        value["disable_info"] = {"disable_date": str(at or 0)}
    elif event == "PAUSED":
        value["other_info"] = {"title": "FIRST_PAUSE",
                               "description": "Your template was paused: customers blocked or reported it."}
    return {"field": "message_template_status_update", "value": value}
