"""Connect with Meta: start, callback, status partial, check, reconnect, disconnect."""


def init_app(app):
    """Registers this feature's blueprints, layout panels and CLI (filled in by the feature)."""
