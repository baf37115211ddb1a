"""Inbox: live feed, conversations, replies."""
from ..tenancy import product_blueprint

bp = product_blueprint("inbox", __name__)

from . import routes  # noqa: E402,F401


def init_app(app):
    """Registers the inbox blueprint, its dashboard panels, nav link and template helpers."""
    from .. import layout
    from . import rendering

    app.register_blueprint(bp)
    rendering.init_app(app)
    layout.add_panel(app, "inbox/_reconnect_panel.html", order=1)
    layout.add_panel(app, "inbox/_feed_panel.html", order=20)
    layout.add_nav(app, "inbox.conversations", "Conversations", 10)

    @app.context_processor
    def _inbox_helpers():
        from flask import g

        from . import queries

        def accounts_needing_reconnect():
            """Numbers of the product in scope that cannot send until reconnected."""
            return queries.accounts_needing_reconnect() if g.get("tenant_product_id") is not None else []

        return {"accounts_needing_reconnect": accounts_needing_reconnect}
