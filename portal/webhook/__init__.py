"""/webhook (verify, ingest: route + store) and Meta's app callbacks."""


def init_app(app):
    """Registers this feature's blueprints and CLI (filled in by the feature)."""
