"""/webhook: Meta's verification handshake and the event POSTs."""
from __future__ import annotations

import hmac
import logging

from flask import Response, current_app, jsonify, request
from sqlalchemy.exc import DBAPIError

from ..errors import render_error
from ..extensions import db
from ..meta.payloads import PayloadError, load_body
from ..meta.signatures import SignatureError, verify_webhook_signature
from ..models import RejectedWebhook
from . import bp
from . import journal
from .ingest import ingest

log = logging.getLogger(__name__)


@bp.get("/webhook")
def verify():
    """Meta's subscription handshake: echo hub.challenge when the verify token matches."""
    args = request.args
    token = args.get("hub.verify_token", "")
    expected = current_app.config["META_VERIFY_TOKEN"] or ""
    if (
        args.get("hub.mode") != "subscribe"
        or not expected
        or not hmac.compare_digest(token.encode(), expected.encode())
        or "hub.challenge" not in args
    ):
        return render_error(403, "Forbidden", "Verification failed.")
    return Response(args["hub.challenge"], mimetype="text/plain")


RECEIVED = b'{"received":true}\n'  # what jsonify(received=True) gave, without building it per delivery


@bp.post("/webhook")
def receive():
    """Check the signature over the raw body, then journal the body (or, with WEBHOOK_PROCESSING
    = inline, store every change); 200 only after commit. The worker stores what is journaled."""
    body = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH (WEBHOOK_MAX_BYTES): 413
    try:
        verify_webhook_signature(body, request.headers.get("X-Hub-Signature-256"), current_app.config["META_APP_SECRET"])
    except SignatureError as error:
        missing = not request.headers.get("X-Hub-Signature-256")
        return render_error(401 if missing else 403, "Unauthorized" if missing else "Forbidden", str(error))
    try:
        document = load_body(body)
    except PayloadError as error:
        return _reject(body, str(error))
    journaling = current_app.config["WEBHOOK_PROCESSING"] == "journal"
    try:
        if journaling:
            journal.append(body)  # committed on its own connection: the session has nothing to commit
        else:
            outcome = ingest(document)
            db.session.commit()
    except DBAPIError as error:
        # Database down, locked or deadlocked: nothing was stored; Meta retries on non-200.
        db.session.rollback()
        log.warning("webhook not stored, answering 503: %s", type(error.orig).__name__ if error.orig else type(error).__name__)
        return render_error(503, "Service Unavailable", "The event could not be stored now; retry later.")
    if journaling:
        return Response(RECEIVED, mimetype="application/json")
    return jsonify(stored=outcome.messages, duplicates=outcome.duplicates, statuses=outcome.statuses,
                   events=outcome.events, unrouted=outcome.unrouted)


def _reject(body: bytes, reason: str):
    """A correctly signed body we cannot read: keep it for inspection and answer 400."""
    try:
        db.session.add(RejectedWebhook(body=body, reason=reason[:255]))
        db.session.commit()
    except DBAPIError:
        db.session.rollback()
        return render_error(503, "Service Unavailable", "The event could not be kept now; retry later.")
    return render_error(400, "Bad Request", reason)
