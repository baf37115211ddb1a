"""Every other kind of thing Meta sends, so a newcomer and the tests can see each one.

Customer messages beyond text/picture/location/reaction (Flow answers, list and button replies,
call permission answers, orders, contact cards, system notices, first-open, edits, deletions,
ad referrals, group messages, a customer with only a business-scoped user id), what the business
typed on the WhatsApp Business app (`smb_message_echoes`), its past chats (`history`), account
alerts (`account_update`) and a value-level error. Shapes follow Meta's webhook references
(messages/interactive, order, system, edit, revoke, smb_message_echoes, history, account_update).
Kept apart from payloads.py so the basic shapes there can change on their own.
"""
from __future__ import annotations

import hashlib
import json

from flask_babel import lazy_gettext as _l

from .actions import Sandbox, SandboxInputError
from .world import PhoneNumber, new_wamid

# kind -> what it is, for the phone page (in the page's language).
CUSTOMER_KINDS = {
    "flow": _l("answers to a WhatsApp Flow (interactive nfm_reply)"),
    "list_reply": _l("a choice from a list (interactive list_reply)"),
    "button_reply": _l("a tapped reply button (interactive button_reply)"),
    "call_permission": _l("an answer to a call permission request"),
    "order": _l("an order from the catalog"),
    "contacts": _l("a shared contact card"),
    "changed_number": _l("a system notice: the customer changed their number"),
    "request_welcome": _l("the customer opened the chat for the first time"),
    "edit": _l("the customer edits their last message"),
    "revoke": _l("the customer deletes their last message"),
    "unreact": _l("the customer removes their reaction"),
    "ad": _l("a text that came from a click-to-WhatsApp ad"),
    "group": _l("a text written in a group"),
    "username": _l("a text from a customer with a username and no phone number (BSUID only)"),
    "username_with_phone": _l("the same customer, now with their phone number too"),
    "unsupported": _l("a message WhatsApp cannot pass on"),
}
BUSINESS_KINDS = {
    "echo": _l("the business answers from the WhatsApp Business app (smb_message_echoes)"),
    "history": _l("the business's past chats with this customer (history)"),
}
ALERTS = {
    "ban": {"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE", "waba_ban_date": "November 30, 2026"}},
    "restriction": {"event": "ACCOUNT_RESTRICTION", "restriction_info": [
        {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 1796083200}]},
    "violation": {"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "SCAM"}},
    "offboarded": {"event": "ACCOUNT_OFFBOARDED"},
    "partner_removed": {"event": "PARTNER_REMOVED"},
    "reinstated": {"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "REINSTATE", "waba_ban_date": "December 1, 2026"}},
}
ALL_KINDS = tuple(CUSTOMER_KINDS) + tuple(BUSINESS_KINDS) + tuple(f"alert:{name}" for name in ALERTS) + ("error",)


def bsuid(phone: PhoneNumber, wa_id: str) -> str:
    """The customer's business-scoped user id: stable per business and customer, like Meta's."""
    digits = str(int(hashlib.sha256(f"{phone.waba_id}|{wa_id}".encode()).hexdigest(), 16))[:20]
    return f"US.{digits}"


def _value(phone: PhoneNumber, **rest) -> dict:
    return {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": phone.digits, "phone_number_id": phone.id}, **rest}


def _base(wa_id: str | None, at: int, kind: str, content, user_id: str | None = None) -> dict:
    message = {"id": new_wamid(), "timestamp": str(at), "type": kind}
    if wa_id:
        message["from"] = wa_id
    if user_id:
        message["from_user_id"] = user_id
    if content is not None:
        message[kind] = content
    return message


def _last(box: Sandbox, phone: PhoneNumber, wa_id: str, inbound: bool, kind: str | None = None) -> str:
    for entry in reversed(box.world.conversation(phone.id, wa_id)):
        if entry["inbound"] == inbound and (kind is None or entry["type"] == kind):
            return entry["id"]
    raise SandboxInputError(_l("There is no earlier message of the customer to act on in this conversation yet."))


def customer_message(box: Sandbox, phone: PhoneNumber, wa_id: str, kind: str, text: str = "") -> tuple[dict, dict]:
    """(the `messages[]` item, the `contacts[]` item) of one customer action of `kind`."""
    now, name = box.world.now(), box.customer_name(wa_id)
    contact = {"profile": {"name": name}, "wa_id": wa_id, "user_id": bsuid(phone, wa_id)}
    text = (text or "").strip()
    if kind == "flow":
        answers = {"name": name, "delivery_date": "2026-12-05", "size": "M", "flow_token": "sandbox-flow-token"}
        content = {"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent",
                                                      "response_json": json.dumps(answers)}}
        return _base(wa_id, now, "interactive", content), contact
    if kind == "list_reply":
        content = {"type": "list_reply", "list_reply": {"id": "priority_express", "title": "Express Shipping",
                                                        "description": "Next day to most cities"}}
        return _base(wa_id, now, "interactive", content), contact
    if kind == "button_reply":
        return _base(wa_id, now, "interactive", {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes, please"}}), contact
    if kind == "call_permission":
        content = {"type": "call_permission_reply", "call_permission_reply": {
            "response": "accept", "is_permanent": False, "expiration_timestamp": now + 7 * 86400, "response_source": "user_action"}}
        return _base(wa_id, now, "interactive", content), contact
    if kind == "order":
        content = {"catalog_id": "4210998764132231", "text": text or "Please deliver before Friday", "product_items": [
            {"product_retailer_id": "shirt-blue-m", "quantity": 2, "item_price": 19.5, "currency": "USD"},
            {"product_retailer_id": "cap-red", "quantity": 1, "item_price": 12, "currency": "USD"}]}
        return _base(wa_id, now, "order", content), contact
    if kind == "contacts":
        card = {"name": {"formatted_name": "Ana Flores", "first_name": "Ana", "last_name": "Flores"},
                "org": {"company": "Flores SRL"}, "phones": [{"phone": "+591 7000 1234", "type": "CELL", "wa_id": "59170001234"}],
                "emails": [{"email": "ana@example.com", "type": "WORK"}]}
        message = {"from": wa_id, "id": new_wamid(), "timestamp": str(now), "type": "contacts", "contacts": [card]}
        return message, contact
    if kind == "changed_number":
        new = "1" + wa_id[1:] if wa_id[0] != "1" else "2" + wa_id[1:]
        content = {"body": f"User {name} changed from {wa_id} to {new}", "new_wa_id": new, "type": "user_changed_number"}
        return _base(wa_id, now, "system", content), contact
    if kind == "request_welcome":
        return _base(wa_id, now, "request_welcome", None), contact
    if kind == "edit":
        original = _last(box, phone, wa_id, inbound=True, kind="text")
        content = {"original_message_id": original,
                   "message": {"type": "text", "text": {"body": text or "(corrected) I meant tomorrow"}}}
        return _base(wa_id, now, "edit", content), contact
    if kind == "revoke":
        return _base(wa_id, now, "revoke", {"original_message_id": _last(box, phone, wa_id, inbound=True)}), contact
    if kind == "unreact":
        target = box.world.last_message_id(phone.id, wa_id)
        if target is None:
            raise SandboxInputError(_l("There is no message to react to in this conversation yet."))
        return _base(wa_id, now, "reaction", {"message_id": target, "emoji": ""}), contact
    if kind == "ad":
        message = _base(wa_id, now, "text", {"body": text or "Hi! I saw your ad, is it still on sale?"})
        message["referral"] = {"source_url": "https://fb.me/sandbox-ad", "source_id": "120208000000001", "source_type": "ad",
                               "headline": "Winter sale: 30% off", "body": "Only this week", "media_type": "image",
                               "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ"}
        return message, contact
    if kind == "group":
        message = _base(wa_id, now, "text", {"body": text or "Hello from the team chat"})
        message["group_id"] = "120363021234567890"
        return message, contact
    if kind in ("username", "username_with_phone"):
        user_id = bsuid(phone, wa_id)
        contact = {"profile": {"name": name, "username": name.lower().replace(" ", "_")}, "user_id": user_id}
        if kind == "username_with_phone":
            contact["wa_id"] = wa_id
        message = _base(wa_id if kind == "username_with_phone" else None, now, "text",
                        {"body": text or "Hi, I write with my username"}, user_id=user_id)
        return message, contact
    if kind == "unsupported":
        message = _base(wa_id, now, "unsupported", None)
        message["errors"] = [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                              "error_data": {"details": "Message type is currently not supported."}}]
        return message, contact
    raise SandboxInputError(_l("Unknown kind %(kind)r: use one of %(kinds)s.", kind=kind, kinds=", ".join(ALL_KINDS)))


def send(box: Sandbox, phone_id: str, wa_id: str, kind: str, text: str = "") -> tuple[str, object]:
    """Deliver one thing of `kind` to the portal; (what was sent, in words; the Delivery or None)."""
    phone = box.phone(phone_id)
    box.customer_name(wa_id)  # checks the customer id
    kind = (kind or "").strip()
    if kind.startswith("alert:") and kind[6:] in ALERTS:
        change = {"field": "account_update", "value": dict(ALERTS[kind[6:]])}
        return f"account alert {kind[6:]}", box.deliver_webhook(phone, _envelope(box, phone, [change]))
    if kind == "error":
        change = {"field": "messages", "value": _value(phone, errors=[{
            "code": 131000, "title": "Something went wrong", "message": "Something went wrong",
            "error_data": {"details": "Meta could not process a message for this number."}}])}
        return "value-level error", box.deliver_webhook(phone, _envelope(box, phone, [change]))
    if kind == "echo":
        echo = {"from": phone.digits, "to": wa_id, "id": new_wamid(), "timestamp": str(box.world.now()), "type": "text",
                "text": {"body": text or "Answered from the WhatsApp Business app"}}
        box.world.record_message(phone.id, wa_id, echo, inbound=False)
        change = {"field": "smb_message_echoes", "value": _value(phone, message_echoes=[echo])}
        return "echo", box.deliver_webhook(phone, _envelope(box, phone, [change]))
    if kind == "history":
        start = box.world.now() - 3 * 86400
        lines = [(wa_id, "Hi, do you deliver on Sundays?"), (phone.digits, "Yes, until noon."),
                 (wa_id, "Great, thanks!")]
        messages = [{"from": sender, **({"to": wa_id} if sender == phone.digits else {}), "id": new_wamid(),
                     "timestamp": str(start + i * 60), "type": "text", "text": {"body": body},
                     "history_context": {"status": "READ" if sender == phone.digits else "DELIVERED"}}
                    for i, (sender, body) in enumerate(lines)]
        history = [{"metadata": {"phase": 0, "chunk_order": 1, "progress": 100},
                    "threads": [{"id": wa_id, "messages": messages}]}]
        change = {"field": "history", "value": _value(phone, history=history)}
        return "history", box.deliver_webhook(phone, _envelope(box, phone, [change]))
    message, contact = customer_message(box, phone, wa_id, kind, text)
    box.world.record_message(phone.id, wa_id, message, inbound=True)
    value = _value(phone, messages=[message])
    if kind != "changed_number":  # Meta's system messages come without contacts
        value = _value(phone, contacts=[contact], messages=[message])
    return kind, box.deliver_webhook(phone, _envelope(box, phone, [{"field": "messages", "value": value}]))


def _envelope(box: Sandbox, phone: PhoneNumber, changes: list[dict]) -> dict:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": phone.waba_id, "time": box.world.now(), "changes": changes}]}
