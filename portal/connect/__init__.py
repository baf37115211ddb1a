"""Connect with Meta: start, callback, status partial, check, reconnect, disconnect."""
from flask import Blueprint

from ..tenancy import product_blueprint

bp = product_blueprint("connect", __name__)  # the product's connection pages and buttons
callback_bp = Blueprint("meta_oauth", __name__)  # Meta's redirect URI: outside any product URL

from . import routes  # noqa: E402,F401


def init_app(app):
    """Register the master app's OAuth client, the blueprints and the dashboard panel."""
    from . import health  # noqa: F401  (declares the scheduled checks)
    from ..layout import add_panel
    from ..meta import oauth
    from ..webhook import alerts
    from .overlap import shared_links
    from .status import connection_status, expiry_text

    oauth.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(callback_bp)
    add_panel(app, "connect/_status.html", order=10)
    app.add_template_global(connection_status, "meta_connection_status")
    app.add_template_global(shared_links, "meta_shared_links")
    app.add_template_global(alerts.shown, "account_alert_words")
    app.add_template_global(alerts.shown_webhook_error, "webhook_error_words")
    app.add_template_filter(expiry_text, "token_expiry")
