"""Inbox: live feed, conversations, replies."""


def init_app(app):
    """Registers this feature's blueprints, layout panels and nav links (filled in by the feature)."""
