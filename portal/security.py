"""Security headers on every response."""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlparse

from flask import current_app, request
from flask_login import current_user


def _origin(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=8)
def security_headers(dialog_url: str, production: bool) -> tuple[tuple[str, str], ...]:
    """The headers for one configuration, built once (parsing the URL on every response
    was a measurable share of a webhook POST)."""
    # The connect form is answered by a redirect to Meta's dialog, which
    # form-action must allow; nothing else leaves the portal's origin.
    headers = [
        ("Content-Security-Policy",
         "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         f"connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self' {_origin(dialog_url)}; "
         "object-src 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
    ]
    if production:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return tuple(headers)


def init_app(app):
    @app.after_request
    def _security_headers(response):
        config = current_app.config
        for name, value in security_headers(config["META_DIALOG_URL"], config["PORTAL_ENV"] == "production"):
            response.headers.setdefault(name, value)
        # A logged-in page or fragment holds a product's conversations: no browser or proxy may keep
        # it (the back button after logout, a shared machine). Requests without a session cookie
        # (the webhook, health checks) never load a user for this.
        # A view that chose private caching on purpose (a product's media file, immutable and served
        # to members only) keeps it.
        if (request.endpoint != "static" and config["SESSION_COOKIE_NAME"] in request.cookies
                and not response.cache_control.private and current_user.is_authenticated):
            response.headers["Cache-Control"] = "no-store"
        return response
