"""Security headers on every response."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import current_app


def _origin(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}"


def init_app(app):
    @app.after_request
    def _security_headers(response):
        # The connect form is answered by a redirect to Meta's dialog, which
        # form-action must allow; nothing else leaves the portal's origin.
        dialog = _origin(current_app.config["META_DIALOG_URL"])
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self' {dialog}; "
            "object-src 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if current_app.config["PORTAL_ENV"] == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
