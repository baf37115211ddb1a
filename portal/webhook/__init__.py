"""/webhook (verify, ingest: route + store) and Meta's app callbacks.

Machine routes: no login, no product scope, no CSRF (Meta signs what it sends).
"""
from flask import Blueprint, request

bp = Blueprint("webhook", __name__)

from . import callbacks, routes  # noqa: E402,F401  (register the views on bp)


def _not_throttled() -> bool:
    return request.blueprint == bp.name


def init_app(app):
    """Registers the blueprint (CSRF-exempt), the `webhooks` CLI, the replay-on-link receiver and,
    in journal mode, the drainer and the fast lane in front of the app."""
    from ..extensions import csrf, limiter
    from ..signals import numbers_linked
    from .cli import webhooks_cli
    from .replay import replay_linked_numbers

    csrf.exempt(bp)
    # Meta's deliveries are signed and must never be throttled (a 429 only makes Meta retry).
    # The filter also spares every POST the limiter's per-request bookkeeping.
    limiter.exempt(bp)
    if _not_throttled not in limiter._request_filters:  # one limiter for every app made in a process
        limiter.request_filter(_not_throttled)
    app.register_blueprint(bp)
    app.cli.add_command(webhooks_cli)
    numbers_linked.connect(replay_linked_numbers)
    from .drainer import Drainer
    from .journal_file import JournalFile, configured_path
    from .lane import WebhookLane

    app.extensions["webhook_drainer"] = drainer = Drainer(app)
    journal_path = configured_path(app.config, app.instance_path)
    app.extensions["webhook_journal_file"] = JournalFile(journal_path) if journal_path else None
    if app.config["WEBHOOK_PROCESSING"] == "journal":
        app.wsgi_app = app.extensions["webhook_lane"] = WebhookLane(app, app.wsgi_app, drainer)


def stop(app) -> None:
    """Stop the app's drainer thread and close the lane's and the journal file's connections (tests, shutdown)."""
    drainer = app.extensions.get("webhook_drainer")
    if drainer is not None:
        drainer.stop()
    lane = app.extensions.get("webhook_lane")
    if lane is not None:
        lane.close()
    journal_file = app.extensions.get("webhook_journal_file")
    if journal_file is not None:
        journal_file.close()
