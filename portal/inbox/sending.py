"""Replies: store the outbound message first, then send it through the Graph API
with the product's own token, and say in words what went wrong.

The message row is committed as "pending" before Meta is called, so a crash or
a timeout can never leave a reply that looks sent: it stays pending or failed,
visible, and retryable.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import update

from .. import audit
from ..extensions import db
from ..meta.graph import RATE_LIMIT_CODES, TOKEN_INVALID_CODES, WINDOW_CLOSED_CODE, Graph, GraphError
from ..meta import send_errors
from ..models import NEEDS_RECONNECT, OUTBOUND, Conversation, Message, WhatsAppAccount, utcnow
from ..outgoing import events as outgoing_events
from ..webhook.statuses import apply_pending_statuses
from . import queries

log = logging.getLogger(__name__)

MAX_BODY = 4096
# Longer than any Graph timeout: the process died between storing and sending. (Or, rarely, after Meta
# accepted it but before the wamid was stored: a retry may then send it twice; a stuck reply is worse.)
STALE_PENDING = timedelta(minutes=2)


def N_(words: str) -> str:
    """Marks a sentence for the catalog but keeps it English: the words below are stored (a failed
    reply's error_title) and handed to the API; people read them through gettext (SendRefused.shown,
    rendering.shown_error)."""
    return words


WINDOW_CLOSED_WORDS = N_(
    "The 24-hour window is closed: the customer last wrote more than 24 hours ago, so WhatsApp "
    "only allows an approved template until they write again."
)
RECONNECT_WORDS = N_(
    "This WhatsApp number's access to Meta expired or was revoked, so the message was not sent. "
    "An owner or admin must reconnect the number."
)
RATE_LIMIT_WORDS = N_("WhatsApp is limiting how fast this number can send. Try again shortly.")
UNREACHABLE_WORDS = N_("Meta could not be reached. Try again shortly.")
UNKNOWN_WORDS = N_("Meta did not answer in time, so the message may have been sent. It can be sent again in two "
                   "minutes if the customer does not have it.")
TEMPORARY_WORDS = N_("Meta had a temporary problem and did not send the message. Try again shortly.")
NO_ACCOUNT_WORDS = N_("This conversation's number is no longer connected to the product, so replies cannot be sent.")
# What _failed stores in error_title of its own: anything else there is Meta's refusal, in Meta's words.
OWN_WORDS = frozenset({WINDOW_CLOSED_WORDS, RECONNECT_WORDS, RATE_LIMIT_WORDS, UNREACHABLE_WORDS, UNKNOWN_WORDS,
                       TEMPORARY_WORDS, NO_ACCOUNT_WORDS})

# Meta's "temporary issue, retry later" errors (API Unknown, API Service; HTTP 500, is_transient).
TRANSIENT_CODES = {1, 2}
# Failures a new attempt can fix (later, or after a reconnect); None = Meta never answered.
RETRYABLE_CODES = RATE_LIMIT_CODES | TOKEN_INVALID_CODES | TRANSIENT_CODES | {None}


class SendRefused(Exception):
    """The reply cannot be sent at all; nothing was stored. `kind` names the state for the page."""

    def __init__(self, words: str, kind: str):
        super().__init__(words)
        self.words = words
        self.kind = kind  # "window_closed" | "reconnect" | "no_account" | "invalid"

    @property
    def shown(self) -> str:
        """The words in the reader's language (the constants above are English; others come translated)."""
        return _(self.words)


@dataclass
class Outcome:
    message: Message
    problem: str | None = None  # None | "window_closed" | "reconnect" | "rate_limited" | "meta" | "unknown"


def validate_body(raw: str | None) -> str:
    # Browsers send a textarea's line breaks as CRLF (always in multipart forms, which the reply box
    # is since it takes files); the customer sees plain newlines, and the length counts them once.
    body = (raw or "").replace("\r\n", "\n").strip()
    if not body:
        raise SendRefused(_("Write a message before sending."), "invalid")
    if len(body) > MAX_BODY:
        raise SendRefused(_("A WhatsApp message holds at most %(max)d characters; this one has %(length)d.",
                            max=MAX_BODY, length=len(body)), "invalid")
    return body


def sending_account(conversation: Conversation, template: bool = False) -> WhatsAppAccount:
    """The product's account of the number the customer wrote to, if it can send now
    (a template may be sent whether the 24-hour window is open or not)."""
    if not template and queries.window_closed(conversation, utcnow()):
        raise SendRefused(WINDOW_CLOSED_WORDS, "window_closed")
    account = queries.account_for(conversation.phone_number_id)
    if account is None:
        raise SendRefused(NO_ACCOUNT_WORDS, "no_account")
    if account.state == NEEDS_RECONNECT:
        raise SendRefused(RECONNECT_WORDS, "reconnect")
    return account


def create_reply(conversation: Conversation, body: str, user_id, context_wamid: str | None) -> Message:
    """Store the reply as pending and commit it, before Meta is called."""
    now = utcnow()
    message = Message(
        conversation_id=conversation.id, phone_number_id=conversation.phone_number_id,
        contact_wa_id=conversation.contact.wa_id or conversation.contact.user_id, direction=OUTBOUND, type="text", text=body,
        status="pending", status_at=now, created_at=now, context_wamid=context_wamid, sent_by_user_id=user_id,
    )
    db.session.add(message)
    conversation.show_latest(message, body, now)
    db.session.commit()
    return message


def deliver(message: Message, account: WhatsAppAccount, payload: dict | None = None) -> Outcome:
    """Send a stored pending message (its own content, unless another Graph `payload` is given); store
    its wamid, or its failure in words. Commits; a sent message records its message.sent event with it."""
    own = payload is None
    payload = payload or send_payload(message)
    try:
        if own and message.type not in ("text", "template"):  # a media reply: uploaded (if not yet), sent by id
            from ..media.uploads import outbound_content

            payload.update(outbound_content(message, account))
        try:
            answer = Graph(account.access_token).post(f"{account.phone_number_id}/messages", json=payload)
            wamid = _wamid(answer)
        except GraphError as error:
            if error.kind == "malformed":  # a 2xx without the message's id: Meta took it and may have sent it
                return _outcome_unknown(message, error)
            raise
    except GraphError as error:
        return _failed(message, account, error)
    message.wamid = wamid
    message.status = "sent"
    message.status_at = utcnow()
    message.error_code = message.error_title = None
    outgoing_events.record_message_sent(message)
    db.session.commit()
    apply_statuses_that_arrived_first(message)
    return Outcome(message)


def _recipient(message: Message) -> dict:
    """`to` the phone number when the customer shares one, else `recipient` = their business-scoped
    user id (Meta's reference for BSUIDs: a BSUID in `to` is not accepted everywhere)."""
    conversation = db.session.get(Conversation, message.conversation_id) if message.conversation_id else None
    if conversation is not None:
        return conversation.contact.recipient
    return {"to": message.contact_wa_id}


def send_payload(message: Message) -> dict:
    """The body of POST /{phone_number_id}/messages for a stored message, without its content for
    media (uploaded first, see deliver): its text, or the template request kept in `raw` when it
    was stored (so a retry sends exactly the same)."""
    payload = {"messaging_product": "whatsapp", "recipient_type": "individual", **_recipient(message)}
    if message.type == "template":
        payload.update(type="template", template=(message.raw or {}).get("template"))
    elif message.type == "text":
        payload.update(type="text", text={"body": message.text, "preview_url": False})
    if message.context_wamid:
        payload["context"] = {"message_id": message.context_wamid}
    return payload


def retryable(message: Message) -> bool:
    """A reply Meta never accepted, that a new attempt may get through."""
    if message.direction != OUTBOUND or message.wamid:
        return False
    if message.status == "failed":
        return message.error_code in RETRYABLE_CODES
    return message.status == "pending" and message.status_at is not None and utcnow() - message.status_at > STALE_PENDING


def refused_words(message: Message) -> str | None:
    """Meta's own words, when Meta refused to send the message (a reply Meta never accepted, as in
    `retryable`, failed for a reason that is not one of the portal's own): else None."""
    title = message.error_title
    if message.direction != OUTBOUND or message.wamid or message.status != "failed" or not title or title in OWN_WORDS:
        return None
    return send_errors.meta_words(title)


def said_error(message: Message) -> str | None:
    """Why the message failed (or is held), in the language of the moment: Meta's refusal in the
    portal's words around Meta's own; else the stored title (the portal's sentences, translated)."""
    words = refused_words(message)
    if words is not None:
        return send_errors.refusal(message.error_code, words)
    return _(message.error_title) if message.error_title else None


def error_for_machines(message: Message) -> str | None:
    """The failure as the API says it, in English whoever asks: what error_title held before Meta's
    own words were stored alone (the same sentence, composed now)."""
    if not message.error_title:  # most messages: no locale to switch (the API lists many at once)
        return None
    with force_locale("en"):
        return said_error(message)


def claim_for_retry(message: Message) -> bool:
    """Put a retryable message back to pending, unless another click or agent already did. Commits.

    A conditional UPDATE, so two retries at once cannot both send it."""
    claimed = db.session.execute(
        update(Message)
        .where(Message.id == message.id, Message.wamid.is_(None), Message.status == message.status,
               Message.status_at == message.status_at)
        .values(status="pending", status_at=utcnow(), error_code=None, error_title=None)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()  # also expires `message`, which reloads as it now stands
    return claimed


def apply_statuses_that_arrived_first(message: Message) -> None:
    """A status webhook can beat the Graph answer that tells us the wamid; the webhook
    keeps such statuses, and applying them now moves the message to its real state."""
    if message.wamid and apply_pending_statuses(message.product_id, message.wamid):
        db.session.commit()
        db.session.refresh(message)


def _wamid(answer: dict) -> str:
    try:
        wamid = answer["messages"][0]["id"]
    except (KeyError, IndexError, TypeError):
        wamid = None
    if not isinstance(wamid, str) or not wamid:
        raise GraphError("Meta accepted the request but returned no message id.", kind="malformed")
    return wamid


def _outcome_unknown(message: Message, error: GraphError) -> Outcome:
    """Meta got the request but its answer never came (or came without the message's id): it may have
    sent the message. Sending it again at once would risk a double, so it stays pending (retryable
    once STALE_PENDING has passed, like a send cut by a crash), saying so."""
    log.info("send of message %s: outcome unknown (%s)", message.id, error.kind)
    message.status_at = utcnow()
    message.error_code = None
    message.error_title = UNKNOWN_WORDS
    db.session.commit()
    return Outcome(message, "unknown")


def _failed(message: Message, account: WhatsAppAccount, error: GraphError) -> Outcome:
    if error.code == WINDOW_CLOSED_CODE:
        problem, words = "window_closed", WINDOW_CLOSED_WORDS
    elif error.token_invalid:
        problem, words = "reconnect", RECONNECT_WORDS
        account.mark_needs_reconnect(f"Meta refused the token (code {error.code}) while sending a message.")
        audit.record("account.needs_reconnect", product_id=account.product_id,
                     phone_number_id=account.phone_number_id, code=error.code)
        outgoing_events.record(account.product_id, "account.alert", {
            "field": "needs_reconnect", "phone_number_id": account.phone_number_id,
            "business_account_id": account.business_account_id, "value": {"reason": words, "code": error.code}})
    elif error.rate_limited:
        problem, words = "rate_limited", RATE_LIMIT_WORDS
    elif error.kind == "timeout":
        return _outcome_unknown(message, error)
    elif error.kind in ("network", "http"):
        problem, words = "rate_limited", UNREACHABLE_WORDS
    elif error.code in TRANSIENT_CODES or error.kind == "malformed":  # malformed here: a media upload's answer
        problem, words = "rate_limited", TEMPORARY_WORDS
    else:  # Meta's own words, kept as Meta wrote them: said in each reader's language by said_error
        problem, words = "meta", error.message
    log.info("send of message %s failed: code=%s kind=%s fbtrace_id=%s", message.id, error.code, error.kind, error.fbtrace_id)
    message.status = "failed"
    message.status_at = utcnow()
    message.error_code = error.code
    message.error_title = words[:512]
    db.session.commit()
    return Outcome(message, problem)

