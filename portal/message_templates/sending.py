"""Sending a template: in a conversation (window open or closed), or to start a new one.

Reuses the inbox's sending (portal/inbox/sending.py): the message is stored as pending and
committed before Meta is called, its failure is kept in words, and a failed send can be
retried. The template request (name, language, components) is kept in the message's `raw`
so a retry sends exactly the same; `text` holds what the customer sees, for the thread.
"""
from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..inbox import queries
from ..inbox import sending as inbox_sending
from ..inbox.sending import SendRefused
from ..models import OUTBOUND, Contact, Conversation, Message, MessageTemplate, WhatsAppAccount, utcnow
from .filling import FillError, clean_values, render, send_components
from .labels import status_label

E164 = re.compile(r"\+[1-9]\d{6,14}")


def sendable(template: MessageTemplate, account: WhatsAppAccount) -> None:
    """SendRefused unless the template can go out from this number."""
    if template.business_account_id != account.business_account_id:
        raise SendRefused(_("This template belongs to another WhatsApp account than this conversation's number."),
                          "invalid")
    if not template.approved:
        raise SendRefused(_("Only approved templates can be sent; this one is %(status)s.",
                            status=status_label(template.status)), "invalid")


def prepare(template: MessageTemplate, form) -> tuple[dict, str]:
    """The template request for Meta and the rendered text, from the form's values."""
    try:
        values = clean_values(template.components, form)
    except FillError as error:
        raise SendRefused(str(error), "invalid") from None
    request = {"name": template.name, "language": {"code": template.language}}
    components = send_components(template.components, template.parameter_format, values)
    if components:
        request["components"] = components
    return request, render(template.components, values)


def send_in_conversation(conversation: Conversation, template: MessageTemplate, form, user_id) -> inbox_sending.Outcome:
    account = inbox_sending.sending_account(conversation, template=True)
    sendable(template, account)
    request, text = prepare(template, form)
    message = _store(conversation, request, text, user_id)
    return inbox_sending.deliver(message, account)


def e164_digits(raw: str) -> str:
    """The WhatsApp id of an E.164 number (+ and 7 to 15 digits, spaces and dashes allowed)."""
    compact = re.sub(r"[\s\-().]", "", raw or "")
    if not E164.fullmatch(compact):
        raise SendRefused(_("Enter the phone number in international format: + then the country code and number, "
                            "e.g. +15551230001."), "invalid")
    return compact[1:]


def start_conversation(account: WhatsAppAccount, phone: str, template: MessageTemplate, form,
                       user_id) -> tuple[Conversation, inbox_sending.Outcome]:
    """Send a template to a number, in the conversation with that customer (made if new)."""
    wa_id = e164_digits(phone)
    if account.state == "needs_reconnect":
        raise SendRefused(inbox_sending.RECONNECT_WORDS, "reconnect")
    sendable(template, account)
    request, text = prepare(template, form)
    conversation = _conversation_with(account, wa_id)
    message = _store(conversation, request, text, user_id)
    return conversation, inbox_sending.deliver(message, account)


def _conversation_with(account: WhatsAppAccount, wa_id: str) -> Conversation:
    contact = db.session.execute(select(Contact).where(Contact.wa_id == wa_id)).scalar_one_or_none()
    if contact is None:
        contact = Contact(wa_id=wa_id)
        db.session.add(contact)
        db.session.flush()
    conversation = db.session.execute(select(Conversation).where(
        Conversation.phone_number_id == account.phone_number_id, Conversation.contact_id == contact.id)).scalar_one_or_none()
    if conversation is None:
        conversation = Conversation(phone_number_id=account.phone_number_id, contact_id=contact.id, unread_count=0)
        db.session.add(conversation)
        db.session.flush()
    return conversation


def _store(conversation: Conversation, request: dict, text: str, user_id) -> Message:
    """Store the template message as pending and commit it, before Meta is called."""
    now = utcnow()
    message = Message(
        conversation_id=conversation.id, phone_number_id=conversation.phone_number_id,
        contact_wa_id=conversation.contact.wa_id, direction=OUTBOUND, type="template", text=text,
        status="pending", status_at=now, created_at=now, sent_by_user_id=user_id, raw={"template": request},
    )
    db.session.add(message)
    conversation.show_latest(message, text, now)
    db.session.commit()
    return message


def approved_templates_for(phone_number_id: str) -> list[MessageTemplate]:
    """The product's approved templates that this number can send (its WABA's)."""
    account = queries.account_for(phone_number_id)
    if account is None:
        return []
    return list(db.session.execute(
        select(MessageTemplate).where(MessageTemplate.business_account_id == account.business_account_id,
                                      MessageTemplate.status == "APPROVED")
        .order_by(MessageTemplate.name, MessageTemplate.language)).scalars())
