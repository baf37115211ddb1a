"""The product API (/api/v1): a product's own systems send and read its WhatsApp messages.

Authenticated by `Authorization: Bearer <key>` only (no cookies, no CSRF); the key's product
is put in scope through portal/tenancy.py, so every query is that product's and any other
product's object answers 404. Rate-limited per key; errors are `{"error": {"code", "message"}}`.
"""
from flask_babel import lazy_gettext as _l
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import auth, errors, openapi, routes  # noqa: E402,F401

errors.register(bp)
auth.register(bp)


def init_app(app):
    """Registers the API (CSRF-exempt, limited per key), the keys' pages and `api-keys` CLI."""
    from .. import layout
    from ..extensions import csrf
    from . import pages
    from .cli import api_keys_cli

    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.register_blueprint(pages.bp)
    app.cli.add_command(api_keys_cli)
    layout.add_nav(app, "api_keys.index", _l("API keys"), 60)
