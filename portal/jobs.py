"""The job engine: every kind of background work runs on Huey, started by `flask --app app work`.

Features declare their work with `@job(...)` (retries with backoff) or
`@periodic(crontab(...))` next to the code it belongs to (media downloads in
media/, template sync in message_templates/, health checks in connect/...); this
module turns the declarations into Huey tasks of each app, runs them inside an
app context, and runs the worker. Why Huey, and why not the others, is written in
docs/architecture.md.

Where the queue lives (JOBS_URL): beside a SQLite database a SQLite file of its
own (one machine, no server); on PostgreSQL the same database (Huey's tables,
created by migration 0004), so any number of `work` processes on any hosts share
it; `memory://` for tests. In tests tasks run at once, in the enqueuing thread
(Huey's immediate mode), unless JOBS_IMMEDIATE says otherwise.

Rules for a job: its arguments are ids, never ORM objects; a job on one product's
data takes the product id first and runs with that product in scope
(`product_job=True`); and work whose rows must exist first is enqueued with
`enqueue_after_commit`, so a job never runs before (or without) the commit that
makes it necessary. The database stays the truth: periodic sweeps repair what a
lost job (a crash between commit and enqueue) left undone.
"""
from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlparse

import click
from flask import current_app
from huey import MemoryHuey, PostgresHuey, SqliteHuey, crontab  # noqa: F401  (crontab: for @periodic users)
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Declaration:
    func: Callable
    name: str
    retries: int
    retry_delay: float
    backoff: float
    schedule: Callable | None  # a crontab for periodic work
    product_job: bool


_DECLARED: dict[Callable, _Declaration] = {}


def job(retries: int = 0, retry_delay: float = 0, backoff: float = 2.0, product_job: bool = False):
    """Declare background work run by `enqueue(func, *args)`; a failure is retried `retries`
    times, the first after `retry_delay` seconds, each next one `backoff` times later."""

    def declare(func):
        _DECLARED[func] = _Declaration(func, _name(func), retries, retry_delay, backoff, None, product_job)
        return func

    return declare


def periodic(schedule, retries: int = 0, retry_delay: float = 0):
    """Declare work the engine runs on `schedule` (a huey.crontab), in whichever worker's
    scheduler runs (`flask work --no-periodic` leaves it to others)."""

    def declare(func):
        _DECLARED[func] = _Declaration(func, _name(func), retries, retry_delay, 1.0, schedule, False)
        return func

    return declare


def _name(func) -> str:
    return f"{func.__module__}.{func.__qualname__}"


class Engine:
    """One app's Huey instance and its tasks."""

    def __init__(self, app):
        self.app = app
        self.url = app.config["JOBS_URL"]
        self.huey = _make_huey(self.url, immediate=app.config["JOBS_IMMEDIATE"])
        self._tasks: dict[Callable, object] = {}
        for declaration in list(_DECLARED.values()):
            self._register(declaration)

    def _register(self, declaration: _Declaration) -> None:
        app = self.app

        def run(*args):
            from .tenancy import enter_product

            with app.app_context():
                try:
                    if declaration.product_job:
                        enter_product(args[0])
                    return declaration.func(*args)
                except Exception:
                    db.session.rollback()
                    raise
                finally:
                    db.session.remove()

        options = {"retries": declaration.retries, "retry_delay": declaration.retry_delay, "name": declaration.name}
        if declaration.schedule is not None:
            self._tasks[declaration.func] = self.huey.periodic_task(declaration.schedule, **options)(run)
        else:
            options["retry_backoff"] = declaration.backoff
            self._tasks[declaration.func] = self.huey.task(**options)(run)

    def task_for(self, func):
        if func not in self._tasks:  # declared after this app was made (an import made late)
            if func not in _DECLARED:
                raise LookupError(f"{_name(func)} is not declared with @job")
            self._register(_DECLARED[func])
        return self._tasks[func]

    def enqueue(self, func, *args, delay: float | None = None):
        task = self.task_for(func)
        if delay:
            return task.schedule(args=args, delay=delay)
        return task(*args)

    def pending(self) -> int:
        return self.huey.pending_count() + self.huey.scheduled_count()


def _make_huey(url: str, immediate: bool):
    parsed = urlparse(url)
    name = "maestra"
    if parsed.scheme == "memory":
        return MemoryHuey(name, immediate=immediate, results=False)
    if parsed.scheme == "sqlite":
        return SqliteHuey(name, filename=url[len("sqlite:///"):], immediate=immediate, results=False,
                          immediate_use_memory=True)
    if parsed.scheme.startswith("postgres"):
        dsn = "postgresql://" + url.split("://", 1)[1]
        # Tables come from migration 0004, not from a connection at start: an app builds without the database.
        return PostgresHuey(name, dsn=dsn, immediate=immediate, results=False, create_tables=False)
    raise ValueError(f"JOBS_URL must be sqlite:///PATH, postgresql://... or memory://, not {url!r}")


def engine() -> Engine:
    return current_app.extensions["jobs"]


def enqueue(func, *args, delay: float | None = None):
    """Run `func(*args)` on the engine (now, or after `delay` seconds)."""
    return engine().enqueue(func, *args, delay=delay)


def enqueue_after_commit(func, *args) -> None:
    """Run `func(*args)` on the engine once the session's transaction commits (never if it rolls back)."""
    session = db.session()
    session.connection()  # begins the transaction whose commit or rollback decides
    session.info.setdefault("jobs_after_commit", []).append((current_app._get_current_object(), func, args))


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session):
    for app, func, args in session.info.pop("jobs_after_commit", ()):
        try:
            app.extensions["jobs"].enqueue(func, *args)
        except Exception:  # the commit stands; the periodic sweeps pick up what was not enqueued
            log.exception("could not enqueue %s after commit", _name(func))


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session, previous_transaction):
    if previous_transaction.parent is None:  # the whole transaction (a savepoint's rollback keeps them)
        session.info.pop("jobs_after_commit", None)


class QueueOutageFilter(logging.Filter):
    """Huey's workers log a full traceback each time they cannot read the queue: every second per
    thread while PostgreSQL is down. This turns those into one warning a minute, without the
    traceback (whose text could name the database), and lets every other record through."""

    HUEY_MESSAGE = "Error reading from queue"

    def __init__(self, every_seconds: float = 60.0, clock=time.monotonic):
        super().__init__()
        self.every_seconds, self.clock = every_seconds, clock
        self._last: float | None = None
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != self.HUEY_MESSAGE:
            return True
        now = self.clock()
        with self._lock:
            if self._last is not None and now - self._last < self.every_seconds:
                return False
            self._last = now
        error = record.exc_info[1] if record.exc_info else None
        record.msg = "cannot read the job queue (%s); the workers retry every second (logged once a minute)"
        record.args = (type(error).__name__ if error else "unknown error",)
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def run_worker(app, threads: int = 2, periodic_tasks: bool = True, drain_webhooks: bool = True) -> None:
    """`flask work`: the Huey consumer (jobs and periodic work) and the webhook journal's drain loop,
    until SIGTERM or SIGINT; then each finishes what it is doing and the process exits."""
    from .webhook.journal import drain_forever

    jobs = app.extensions["jobs"]
    if jobs.huey.immediate:
        raise click.ClickException("the job engine runs jobs at once here (JOBS_IMMEDIATE): nothing to work on")
    # What the app loaded lives as long as the process: frozen, it is no longer walked by each full
    # garbage collection, which a batch of thousands of messages triggers again and again (what
    # that cost: bench/README.md, "The drain's CPU"). gunicorn.conf.py does the same.
    gc.freeze()
    stop = threading.Event()
    drainer = None
    if drain_webhooks:
        drainer = threading.Thread(target=drain_forever, args=(app, stop), name="webhook-drain")
        drainer.start()
    consumer = jobs.huey.create_consumer(workers=threads, worker_type="thread", periodic=periodic_tasks,
                                         graceful_signal="TERM", max_delay=1.0)
    outage = QueueOutageFilter()
    worker_log = logging.getLogger("huey.consumer.Worker")  # Huey's workers' logger (its process_name)
    worker_log.addFilter(outage)
    try:
        consumer.run()  # returns once a SIGTERM (or SIGINT) stopped it gracefully
    finally:
        stop.set()
        if drainer is not None:
            drainer.join()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        worker_log.removeFilter(outage)


@click.command("work")
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Jobs run side by side in this process.")
@click.option("--no-periodic", is_flag=True, help="Leave scheduled work (health checks, syncs) to other workers.")
@click.option("--no-webhooks", is_flag=True, help="Do not store journaled webhook deliveries in this process.")
def work_command(threads, no_periodic, no_webhooks):
    """Run every kind of background work until SIGTERM (then finish the current batch and exit)."""
    app = current_app._get_current_object()
    click.echo(f"working: jobs on {_safe(app.extensions['jobs'].url)} with {threads} thread(s)"
               f"{'' if no_webhooks else ', and the webhook journal'}; SIGTERM or Ctrl-C stops")
    run_worker(app, threads=threads, periodic_tasks=not no_periodic, drain_webhooks=not no_webhooks)
    click.echo("stopped")


def _safe(url: str) -> str:
    """The queue's address without a password."""
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def init_app(app) -> None:
    app.extensions["jobs"] = Engine(app)
    app.cli.add_command(work_command)
