"""POST /api/v1/messages: to a phone or a contact, a text, a template or a media, from one of the
product's numbers; the contact and conversation are made when needed, the 24-hour window is
checked before anything is stored, and the message goes through the inbox's own sending path
(stored as pending first, sent with the product's token, its outcome kept)."""
from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from ..extensions import db
from ..inbox import queries, sending
from ..models import NEEDS_RECONNECT, OUTBOUND, Contact, Conversation, Message, WhatsAppAccount, utcnow
from ..models.base import uuid7
from ..outgoing import events as outgoing_events
from ..tenancy import current_product_id
from ..webhook.upsert import insert_ignoring_conflicts
from .errors import ApiError

PROBLEM_CODES = {"meta": "meta_refused", "reconnect": "reconnect_required", "unknown": "outcome_unknown"}
WA_ID = re.compile(r"^[1-9][0-9]{6,14}$")  # E.164 digits without the +


def sending_account(from_: str | None) -> WhatsAppAccount:
    accounts = queries.accounts()
    if from_:
        account = next((a for a in accounts if a.phone_number_id == from_), None)
        if account is None:
            raise ApiError(422, "unknown_from", f"{from_} is not a phone_number_id of this product.")
    elif accounts:
        account = accounts[0]
    else:
        raise ApiError(409, "no_number", "This product has no connected WhatsApp number to send from.")
    if account.state == NEEDS_RECONNECT:
        raise ApiError(409, "reconnect_required", sending.RECONNECT_WORDS)
    return account


def recipient(to: str) -> tuple[Contact | None, str]:
    """The known contact (if any) and the wa_id of `to`, a contact id or a phone number."""
    try:
        contact_id = uuid.UUID(to)
    except ValueError:
        wa_id = re.sub(r"[\s()\-.+]", "", to)
        if not WA_ID.match(wa_id):
            raise ApiError(422, "invalid_to", "`to` must be a phone number in international form (e.g. +59170000001) "
                                              "or the id of one of the product's contacts.") from None
        contact = db.session.execute(select(Contact).where(Contact.wa_id == wa_id)).scalar_one_or_none()
        return contact, wa_id
    contact = db.session.execute(select(Contact).where(Contact.id == contact_id)).scalar_one_or_none()
    if contact is None:
        raise ApiError(404, "not_found", "No contact of this product has that id.")
    return contact, contact.wa_id


def existing_conversation(account: WhatsAppAccount, contact: Contact | None) -> Conversation | None:
    if contact is None:
        return None
    return db.session.execute(select(Conversation).where(
        Conversation.phone_number_id == account.phone_number_id, Conversation.contact_id == contact.id)).scalar_one_or_none()


def check_window(kind: str, conversation: Conversation | None) -> None:
    """Text and media only inside the 24-hour window; a template opens a conversation any time."""
    if kind != "template" and (conversation is None or queries.window_closed(conversation, utcnow())):
        raise ApiError(422, "window_closed", sending.WINDOW_CLOSED_WORDS + " Send a template instead.")


def conversation_for(account: WhatsAppAccount, wa_id: str) -> Conversation:
    """The conversation of `wa_id` with `account`'s number, made (with its contact) if new. Conflict-tolerant
    inserts: the webhook may make the same contact at the same moment."""
    conn = db.session.connection()
    product_id, now = current_product_id(), utcnow()
    insert_ignoring_conflicts(conn, Contact.__table__, [{"id": uuid7(), "product_id": product_id, "wa_id": wa_id,
                                                         "created_at": now, "updated_at": now}], ["product_id", "wa_id"])
    contact = db.session.execute(select(Contact).where(Contact.wa_id == wa_id)).scalar_one()
    inserted = insert_ignoring_conflicts(conn, Conversation.__table__, [{
        "id": uuid7(), "product_id": product_id, "phone_number_id": account.phone_number_id,
        "contact_id": contact.id, "unread_count": 0, "created_at": now}],
        ["product_id", "phone_number_id", "contact_id"], returning=Conversation.__table__.c.id)
    conversation = existing_conversation(account, contact)
    if inserted:
        outgoing_events.record(product_id, "conversation.updated", {
            "conversation": {"id": str(conversation.id), "phone_number_id": conversation.phone_number_id,
                             "contact_wa_id": wa_id, "last_message_at": None, "last_inbound_at": None,
                             "window_open": False},
            "reason": "conversation.created"})
    return conversation


# ---- the Graph requests of each kind ---------------------------------------------------------

def template_payload(wa_id: str, template: dict) -> dict:
    """A template message with its body parameters (Cloud API, "Send template messages")."""
    body = {"name": template["name"], "language": {"code": template["language"]}}
    if template.get("parameters"):
        body["components"] = [{"type": "body", "parameters": [{"type": "text", "text": value}
                                                                for value in template["parameters"]]}]
    return {"messaging_product": "whatsapp", "recipient_type": "individual", **_address(wa_id), "type": "template",
            "template": body}


def media_payload(wa_id: str, media: dict) -> dict:
    """A media message by link or by an uploaded media id (Cloud API, "Media messages")."""
    kind = media["type"]
    body = {"link": media["link"]} if media.get("link") else {"id": media["id"]}
    for field in ("caption", "filename"):
        if media.get(field):
            body[field] = media[field]
    return {"messaging_product": "whatsapp", "recipient_type": "individual", **_address(wa_id), "type": kind, kind: body}


def _address(wa_id: str) -> dict:
    """A customer known only by a business-scoped user id is addressed with `recipient` (as inbox replies are)."""
    return {"recipient": wa_id} if "." in wa_id else {"to": wa_id}


def store_pending(conversation: Conversation, wa_id: str, data: dict, kind: str) -> Message:
    """The outbound message as pending, in the session (committed by the caller)."""
    now = utcnow()
    message = Message(conversation_id=conversation.id, phone_number_id=conversation.phone_number_id,
                      contact_wa_id=wa_id, direction=OUTBOUND, status="pending", status_at=now, created_at=now)
    if kind == "text":
        message.type, message.text = "text", data["text"]
        preview = data["text"]
    elif kind == "template":
        template = data["template"]
        message.type, message.raw = "template", {"template": template}
        message.text = template["name"]
        preview = f"Template: {template['name']}"
    else:
        media = data["media"]
        message.type, message.text, message.media_filename = media["type"], media.get("caption"), media.get("filename")
        message.media_id = media.get("id")
        message.raw = {"media": media}
        preview = media.get("caption") or media["type"].capitalize()
    db.session.add(message)
    conversation.show_latest(message, preview, now)
    return message


def payload_for(message: Message, wa_id: str, data: dict, kind: str) -> dict:
    if kind == "template":
        return template_payload(wa_id, data["template"])
    if kind == "media":
        return media_payload(wa_id, data["media"])
    return sending.send_payload(message)


def answer(outcome: sending.Outcome) -> tuple[int, dict]:
    """202 and the message's state; a message Meta refused says why (it stays in the conversation, failed)."""
    message = outcome.message
    body = {"id": str(message.id), "status": message.status}
    if outcome.problem:
        code = PROBLEM_CODES.get(outcome.problem, outcome.problem)
        if message.type == "template" and message.error_code and 132000 <= message.error_code < 133000:
            code = "template_rejected"  # Meta's template errors (name, language, parameters)
        body["error"] = {"code": code, "message": sending.error_for_machines(message) or "Meta did not accept the message."}
    return 202, body
