"""The job engine (portal/jobs.py) and `flask work`: one worker command for all background work."""
from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.extensions import db
from portal.jobs import enqueue, enqueue_after_commit, job, run_worker
from portal.models import Conversation, Message
from portal.webhook.replay import catch_up
from tests.conftest import TEST_KEY
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, NUMBER_B, WABA_A, WABA_B, link_number, two_products  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
SEEN: list = []


@job(product_job=True)
def count_conversations_in_scope(product_id):
    """A product job: runs with its product in scope, so it sees that product's rows only."""
    SEEN.append(db.session.execute(select(func.count()).select_from(Conversation)).scalar_one())


@job()
def remember(value):
    SEEN.append(value)


@pytest.fixture(autouse=True)
def _forget():
    SEEN.clear()


def test_a_product_job_sees_only_its_own_products_rows(client, two_products):
    cardio, flex = two_products
    p.post_signed(client, p.envelope(p.entry(WABA_A, p.messages_change(NUMBER_A, [p.text_message("wamid.j.a1")]))))
    p.post_signed(client, p.envelope(p.entry(WABA_B, p.messages_change(NUMBER_B, [
        p.text_message("wamid.j.b1", sender="59170000001"), p.text_message("wamid.j.b2", sender="59170000002")]))))
    enqueue(count_conversations_in_scope, cardio.id)
    enqueue(count_conversations_in_scope, flex.id)
    assert SEEN == [1, 2]


def test_work_enqueued_after_commit_runs_only_once_committed(app):
    enqueue_after_commit(remember, "rolled back")
    db.session.rollback()
    enqueue_after_commit(remember, "committed")
    assert SEEN == []
    db.session.commit()
    assert SEEN == ["committed"]


def test_settings_of_the_engine(tmp_path):
    base = {"PORTAL_ENV": "demo", "DATABASE_URL": f"sqlite:///{tmp_path}/maestra.db"}
    assert create_app(base).config["JOBS_URL"] == f"sqlite:///{tmp_path}/maestra.db.jobs"
    pg = create_app({**base, "DATABASE_URL": "postgresql://maestra@db/maestra"})
    assert pg.config["JOBS_URL"] == "postgresql://maestra@db/maestra"  # the database itself: shared by every host
    from portal import ConfigError
    with pytest.raises(ConfigError, match="JOBS_URL must be"):
        create_app({**base, "JOBS_URL": "rabbit://somewhere"})


def _worker_env(app_config, jobs_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("META_", "WEBHOOK_", "JOBS_"))}
    env.update(PORTAL_ENV="test", DATABASE_URL=app_config["DATABASE_URL"], JOBS_URL=jobs_url, JOBS_IMMEDIATE="false",
               SECRET_KEY=app_config["SECRET_KEY"], TOKEN_ENCRYPTION_KEYS=TEST_KEY, PYTHONUNBUFFERED="1")
    return env


def test_flask_work_stores_the_journal_runs_jobs_and_stops_on_sigterm(app_config, two_products, tmp_path):
    """The real command in a process of its own: it stores what /webhook journaled, runs what the
    web process enqueued, and on SIGTERM finishes and exits 0. (--no-periodic: a scheduled check
    enqueued at a five-minute mark would ask an unreachable Meta and keep the queue busy.)"""
    jobs_url = f"sqlite:///{tmp_path}/jobs.db"
    web = create_app({**app_config, "WEBHOOK_PROCESSING": "journal", "JOBS_URL": jobs_url, "JOBS_IMMEDIATE": False})
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "portal:create_app", "work", "--threads", "1", "--no-periodic"],
                              cwd=ROOT, env=_worker_env(app_config, jobs_url), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        with web.app_context():
            client = web.test_client()
            body = p.envelope(p.entry(WABA_A, p.messages_change(NUMBER_A, [p.text_message(f"wamid.w{i}") for i in range(5)])))
            assert p.post_signed(client, body).status_code == 200
            engine = web.extensions["jobs"]
            engine.enqueue(catch_up)
            assert engine.pending() == 1
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                db.session.expire_all()
                stored = db.session.execute(select(func.count()).select_from(Message)).scalar_one()
                if stored == 5 and engine.pending() == 0:
                    break
                time.sleep(0.1)
            assert stored == 5 and engine.pending() == 0
            db.session.remove()
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
    assert "working: jobs on" in output and output.rstrip().endswith("stopped")
    assert "Traceback" not in output


def test_a_queue_outage_is_one_warning_a_minute_without_a_traceback(caplog):
    """Huey's workers log "Error reading from queue" with a traceback on every failed poll (every
    second per thread while PostgreSQL is down); the worker turns that into one short warning a minute."""
    import logging

    from portal.jobs import QueueOutageFilter

    now = [1000.0]
    outage = QueueOutageFilter(every_seconds=60, clock=lambda: now[0])
    logger = logging.getLogger("huey.consumer.Worker")
    logger.addFilter(outage)
    try:
        with caplog.at_level(logging.INFO, logger="huey.consumer.Worker"):
            for second in range(120):
                now[0] = 1000.0 + second
                try:
                    raise ConnectionError("connection to server at 10.0.0.5 failed")
                except ConnectionError:
                    logger.exception("Error reading from queue")
            logger.info("Executing %s", "portal.media.download")
    finally:
        logger.removeFilter(outage)
    records = [r for r in caplog.records if r.name == "huey.consumer.Worker"]
    assert [(r.levelname, r.getMessage()) for r in records[:2]] == [
        ("WARNING", "cannot read the job queue (ConnectionError); the workers retry every second (logged once a minute)"),
        ("WARNING", "cannot read the job queue (ConnectionError); the workers retry every second (logged once a minute)"),
    ]
    assert len(records) == 3 and records[-1].getMessage() == "Executing portal.media.download"
    assert all(r.exc_info is None for r in records) and "10.0.0.5" not in caplog.text


def test_the_worker_freezes_what_the_app_loaded_before_it_works(app, monkeypatch):
    """`flask work` keeps the app's own objects out of the garbage collector's walks (what a drain's
    batch spent there otherwise: bench/README.md, "The drain's CPU")."""
    seen = {}

    class Consumer:
        def run(self):
            seen["frozen"] = gc.get_freeze_count()

    class Huey:
        immediate = False

        def create_consumer(self, **settings):
            seen["settings"] = settings
            return Consumer()

    monkeypatch.setitem(app.extensions, "jobs", SimpleNamespace(huey=Huey()))
    gc.unfreeze()
    try:
        run_worker(app, threads=1, periodic_tasks=False, drain_webhooks=False)
    finally:
        gc.unfreeze()
    assert seen["frozen"] > 1000  # the app's modules, models and templates, at least
    assert seen["settings"]["workers"] == 1 and seen["settings"]["periodic"] is False
