"""Email, through Flask-Mailman, only where it is configured (MAIL_SERVER, or MAIL_BACKEND in
tests and the demo). Where it is not, nothing is sent and callers show the link to copy instead."""
from __future__ import annotations

import logging

from flask import current_app
from flask_mailman import EmailMessage, Mail

log = logging.getLogger(__name__)
mail = Mail()


def configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER") or current_app.config.get("MAIL_BACKEND"))


def send(to: str, subject: str, body: str) -> bool:
    """Send one plain-text email; False when email is not configured or the server refused it."""
    if not configured():
        return False
    try:
        EmailMessage(subject=subject, body=body, to=[to],
                     from_email=current_app.config.get("MAIL_DEFAULT_SENDER")).send()
    except Exception as error:  # an SMTP failure must not lose the invitation: the page still shows the link
        log.warning("email to a recipient could not be sent: %s", type(error).__name__)
        return False
    return True


def init_app(app):
    if not app.config.get("MAIL_BACKEND"):
        app.config["MAIL_BACKEND"] = "smtp" if app.config.get("MAIL_SERVER") else None
    if app.config.get("MAIL_BACKEND"):
        mail.init_app(app)
