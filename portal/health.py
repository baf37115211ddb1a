"""Health endpoints for load balancers: /healthz (process up), /readyz (database reachable,
and how many webhook deliveries wait in the journal: a number that keeps growing means
no worker is storing them)."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .webhook import journal
from .webhook.journal_file import JournalFileError

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    try:
        db.session.execute(text("SELECT 1"))
        backlog = journal.backlog()
    except JournalFileError as error:  # SQLite's journal file cannot be used: webhooks answer 503
        db.session.rollback()
        log.warning("readiness check failed on the webhook journal file: %s", type(error.orig).__name__)
        return jsonify(status="unavailable", webhook_journal="unusable"), 503
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("readiness check failed: %s", type(error).__name__)
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok", webhook_backlog=backlog)


def init_app(app):
    app.register_blueprint(bp)
