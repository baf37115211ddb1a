"""Inbox: live feed, conversations, replies."""
from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l

from ..tenancy import product_blueprint

bp = product_blueprint("inbox", __name__)

from . import routes, search, team_routes  # noqa: E402,F401  (search: its index DDL follows the messages table)


def init_app(app):
    """Registers the inbox blueprint, its dashboard panels, nav link and template helpers."""
    from .. import layout
    from . import looks, queries, rendering

    app.register_blueprint(bp)
    rendering.init_app(app)
    # Globals, not context: macros imported by templates see them too.
    app.add_template_global(looks.initials, "avatar_initials")
    app.add_template_global(looks.tone, "avatar_tone")
    app.add_template_global(looks.message_day, "message_day")
    app.add_template_global(looks.day_label, "day_label")
    app.add_template_global(queries.window_ends_at, "reply_window_ends_at")
    layout.add_panel(app, "inbox/_reconnect_panel.html", order=1)
    layout.add_panel(app, "inbox/_activity_panel.html", order=50)
    layout.add_panel(app, "inbox/_feed_panel.html", order=40)
    layout.add_nav(app, "inbox.conversations", _l("Inbox"), 0)
    layout.add_nav(app, "inbox.canned_replies", _l("Canned replies"), 70)

    @app.context_processor
    def _inbox_helpers():
        from flask import g

        from . import queries, teamwork

        def accounts_needing_reconnect():
            """Numbers of the product in scope that cannot send until reconnected."""
            return queries.accounts_needing_reconnect() if g.get("tenant_product_id") is not None else []

        def unread_conversations():
            """Conversations of the product in scope with unread messages (navigation, tab title)."""
            return queries.unread_conversations() if g.get("tenant_product_id") is not None else 0

        def unread_by_product(products):
            """product id -> conversations with unread messages, for the user's products (the switcher)."""
            return queries.unread_by_product([p.id for p in products])

        def activity_chart():
            from . import activity

            return activity.chart(activity.last_days(zone=str(get_timezone())))

        def last_message_received():
            from . import activity

            return activity.last_message_received() if g.get("tenant_product_id") is not None else {}

        return {"last_message_received": last_message_received, "activity_chart": activity_chart, "unread_by_product": unread_by_product, "accounts_needing_reconnect": accounts_needing_reconnect, "unread_conversations": unread_conversations,
                "canned_replies": teamwork.canned_replies, "member_name": teamwork.member_name}
