"""The API's endpoints. Each declares what it reads and answers with `operation(...)`: the view
validates and dumps with those schemas, and openapi.py builds the document from the same."""
from __future__ import annotations

from flask import jsonify, request
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..inbox import sending
from ..models import Contact, Conversation, Message
from ..tenancy import get_or_404
from . import bp, idempotency, messages, paging
from .errors import ApiError
from .openapi import operation
from .schemas import (
    ContactListArgs, ContactOut, ContactPage, ConversationListArgs, ConversationOut, ConversationPage, ListArgs,
    MessageAccepted, MessageOut, MessagePage, SendMessageIn,
)


def load(schema, data) -> dict:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise ApiError(422, "invalid", _words(error.messages)) from None


def _words(messages, path="") -> str:
    """marshmallow's nested messages as one readable line."""
    if isinstance(messages, dict):
        return "; ".join(_words(v, f"{path}.{k}" if path and k != "_schema" else (path if k == "_schema" else str(k)))
                         for k, v in messages.items())
    text = " ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
    return f"{path}: {text}" if path else text


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "Send a JSON object with Content-Type: application/json.")
    return body


@bp.route("/messages", methods=["POST"])
@operation(summary="Send a message", body=SendMessageIn, responses={202: MessageAccepted}, tag="Messages",
           description="A text or media inside the customer's 24-hour window, or a template at any time. "
                       "With an Idempotency-Key header a retried request answers as the first did and sends nothing again.",
           headers={"Idempotency-Key": "Any unique string per message (e.g. a UUID); keys are kept per product."})
def send_message():
    raw = json_body()
    data = load(SendMessageIn(), raw)
    key = request.headers.get("Idempotency-Key")
    claim = idempotency.claim(key, idempotency.fingerprint("POST", request.path, raw)) if key is not None else None
    if isinstance(claim, idempotency.Replay):
        return jsonify(claim.body), claim.status
    try:
        status, body = _send(data, claim)
    except ApiError as error:
        status, body = error.status, {"error": {"code": error.code, "message": error.message}}
        db.session.rollback()
    except Exception:
        if claim is not None:
            idempotency.abandon(claim)
        raise
    if claim is not None:
        idempotency.complete(claim, status, body)
    return jsonify(body), status


def _send(data: dict, claim) -> tuple[int, dict]:
    kind = next(k for k in ("text", "template", "media") if data.get(k))
    account = messages.sending_account(data.get("from_"))
    contact, wa_id = messages.recipient(data["to"])
    messages.check_window(kind, messages.existing_conversation(account, contact))
    conversation = messages.conversation_for(account, wa_id)
    message = messages.store_pending(conversation, wa_id, data, kind)
    db.session.flush()
    if claim is not None:
        claim.message_id = message.id
    db.session.commit()  # pending (and the key's message) before Meta is called
    outcome = sending.deliver(message, account, messages.payload_for(message, wa_id, data, kind))
    return messages.answer(outcome)


@bp.route("/messages/<uuid:message_id>")
@operation(summary="A message and its delivery status", responses={200: MessageOut}, tag="Messages")
def get_message(message_id):
    return jsonify(MessageOut().dump(get_or_404(Message, message_id)))


@bp.route("/conversations")
@operation(summary="The product's conversations, newest first", query=ConversationListArgs,
           responses={200: ConversationPage}, tag="Conversations")
def list_conversations():
    args = load(ConversationListArgs(), request.args)
    statement = select(Conversation).options(joinedload(Conversation.contact))
    if args.get("number"):
        statement = statement.where(Conversation.phone_number_id == args["number"])
    if args.get("unread") is not None:
        statement = statement.where(Conversation.unread_count > 0 if args["unread"] else Conversation.unread_count == 0)
    if args.get("contact"):
        statement = statement.join(Contact, Conversation.contact_id == Contact.id).where(Contact.wa_id == args["contact"])
    rows, cursor = paging.page(db.session, statement, Conversation, args)
    return jsonify(data=ConversationOut(many=True).dump(rows), next_cursor=cursor)


@bp.route("/conversations/<uuid:conversation_id>/messages")
@operation(summary="A conversation's messages, newest first", query=ListArgs, responses={200: MessagePage},
           tag="Conversations")
def conversation_messages(conversation_id):
    conversation = get_or_404(Conversation, conversation_id)
    args = load(ListArgs(), request.args)
    rows, cursor = paging.page(db.session, select(Message).where(Message.conversation_id == conversation.id), Message, args)
    return jsonify(data=MessageOut(many=True).dump(rows), next_cursor=cursor)


@bp.route("/contacts")
@operation(summary="The product's contacts, newest first", query=ContactListArgs, responses={200: ContactPage},
           tag="Contacts")
def list_contacts():
    args = load(ContactListArgs(), request.args)
    statement = select(Contact)
    if args.get("wa_id"):
        statement = statement.where(Contact.wa_id == args["wa_id"])
    rows, cursor = paging.page(db.session, statement, Contact, args)
    return jsonify(data=ContactOut(many=True).dump(rows), next_cursor=cursor)
