"""Flask's signed-cookie session, without its per-request cost when there is no cookie."""
from __future__ import annotations

from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class CookieSessionInterface(SecureCookieSessionInterface):
    """Same sessions, same cookies. Flask builds the signing serializer (keys, salt, signer)
    on every request before it even looks for the cookie; machine routes such as /webhook
    never send one, and that setup was a measurable share of each POST. A request without
    the cookie gets its new empty session at once; everything else is Flask's own code."""

    def open_session(self, app, request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)
