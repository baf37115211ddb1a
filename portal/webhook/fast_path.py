"""The common delivery, journaled without Flask's request machinery.

Why it exists: issue 13's speed floors (bench/README.md, "What the fast path buys", has the
figures). On the ordinary Flask view a delivery pays Flask's request and app contexts and every
extension's hooks (limiter, session, access log, security headers), many times what the journal
append itself costs, and that kept the portal under its floors. This WSGI middleware takes only the delivery
that needs none of that, a POST to /webhook with a declared length within WEBHOOK_MAX_BYTES, a
valid signature and a readable JSON body, and does exactly what the view does with it
(`journal.append`, then 200). Everything else, including every error, goes to the view
unchanged (with the body it read put back), so there is one place that decides each refusal.
"""
from __future__ import annotations

import io
import logging
import uuid

from ..meta.payloads import PayloadError, load_body
from ..meta.signatures import SignatureError, verify_webhook_signature
from . import journal

log = logging.getLogger(__name__)

RECEIVED = b'{"received":true}\n'  # the view's answer to a journaled delivery


class WebhookFastPath:
    def __init__(self, wsgi_app, flask_app):
        self.wsgi_app = wsgi_app
        self.flask_app = flask_app
        config = flask_app.config
        self.enabled = config["WEBHOOK_PROCESSING"] == "journal"
        self.max_bytes = config["WEBHOOK_MAX_BYTES"]
        self.secret = config["META_APP_SECRET"]
        from ..security import security_headers

        # The headers the view's answer carries (the app's security headers; a request id per answer).
        self.headers = [("Content-Type", "application/json"), ("Content-Length", str(len(RECEIVED))),
                        *security_headers(config["META_DIALOG_URL"], config["PORTAL_ENV"] == "production")]

    def __call__(self, environ, start_response):
        if not self.enabled or environ.get("PATH_INFO") != "/webhook" or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        body = self._body(environ)
        if body is None or not self._journal(body, environ.get("HTTP_X_HUB_SIGNATURE_256")):
            return self.wsgi_app(environ, start_response)  # the view answers (and reads the body put back)
        start_response("200 OK", [*self.headers, ("X-Request-ID", uuid.uuid4().hex)])
        return [RECEIVED]

    def _body(self, environ) -> bytes | None:
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if not 0 < length <= self.max_bytes:
            return None  # the view refuses it (411/413) or reads it its own way
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # whatever happens next, the view can read it again
        return body if len(body) == length else None

    def _journal(self, body: bytes, signature: str | None) -> bool:
        """Journal a good delivery; False (nothing journaled) for anything the view must answer."""
        try:
            verify_webhook_signature(body, signature, self.secret)
            load_body(body)
        except (SignatureError, PayloadError):
            return False
        try:
            with self.flask_app.app_context():
                journal.append(body)
        except Exception:  # database down, locked...: the view tries again and answers 503 if it must
            log.debug("fast path could not journal; handing the delivery to the view", exc_info=True)
            return False
        return True
