"""Outgoing webhooks: a product's own endpoints receive its events, signed, retried, logged.

events.py records events (the outbox) in the transaction that causes them; delivery.py sends
them on the job engine; safety.py decides where they may go; signing.py signs them.
"""
from flask_babel import lazy_gettext as _l
from ..tenancy import product_blueprint

bp = product_blueprint("outgoing", __name__)

from . import routes  # noqa: E402,F401


def init_app(app):
    """The endpoints' pages, the paused-endpoint panel, the `hooks` CLI and the delivery jobs."""
    from .. import layout
    from . import delivery  # noqa: F401  (declares the delivery job and its sweep)
    from .cli import hooks_cli

    app.register_blueprint(bp)
    app.cli.add_command(hooks_cli)
    layout.add_panel(app, "outgoing/_paused_panel.html", order=2)
    layout.add_nav(app, "outgoing.index", _l("Webhooks"), 65)

    @app.context_processor
    def _outgoing_helpers():
        from flask import g

        def paused_endpoints():
            """The product's paused endpoints, for its owners and admins (the dashboard panel)."""
            membership = g.get("membership")
            if g.get("tenant_product_id") is None or membership is None or not membership.can_manage:
                return []
            from .endpoints import paused

            return paused()

        return {"paused_endpoints": paused_endpoints}
