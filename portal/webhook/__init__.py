"""/webhook (verify, journal, 200), the journal's drain, ingest (route + store) and Meta's app callbacks.

Machine routes: no login, no product scope, no CSRF (Meta signs what it sends).
"""
from flask import Blueprint, request

from ..extensions import limiter

bp = Blueprint("webhook", __name__)

from . import callbacks, routes  # noqa: E402,F401  (register the views on bp)


@limiter.request_filter  # registered once per process, here: the limiter is one object for every app
def _never_throttled() -> bool:
    """Meta's deliveries are signed and must never be throttled (a 429 only makes Meta retry);
    filtering them also spares each POST the limiter's per-request bookkeeping (bench/README.md)."""
    return request.blueprint == bp.name


def init_app(app):
    """Registers the blueprint (CSRF-exempt, never throttled), the `webhooks` CLI and the
    replay-on-link receiver."""
    from ..extensions import csrf
    from ..signals import numbers_linked
    from . import replay  # noqa: F401  (declares the catch-up job)
    from .cli import webhooks_cli
    from .replay import replay_linked_numbers

    from .fast_path import WebhookFastPath

    csrf.exempt(bp)
    limiter.exempt(bp)
    app.register_blueprint(bp)
    app.wsgi_app = WebhookFastPath(app.wsgi_app, app)
    app.cli.add_command(webhooks_cli)
    numbers_linked.connect(replay_linked_numbers)


def stop(app) -> None:
    """Close this thread's connection to the journal file and the journal table's kept connection,
    if any (tests, shutdown)."""
    journal_file = app.extensions.get("webhook_journal_file")
    if journal_file is not None:
        journal_file.close()
    appender = app.extensions.get("webhook_table_appender")
    if appender is not None:
        appender.close()
