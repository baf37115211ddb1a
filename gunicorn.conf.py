"""Production gunicorn settings: `gunicorn wsgi:app` picks this file up from the working directory."""
import gc
import multiprocessing
import os
import subprocess
import sys

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: requests are short (webhook ingest, htmx partials); scale out with more processes.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30  # Meta retries an unanswered webhook; never hold it longer than this
graceful_timeout = 20
keepalive = 5
max_requests = 5000  # recycle workers to bound any slow leak
max_requests_jitter = 500
limit_request_line = 8190
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None  # the app writes one JSON line per request itself (portal/observability.py)
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
preload_app = True


# The webhook drain processes (portal/webhook/drainer.py): started by the master beside the
# workers, at a lower CPU priority (WEBHOOK_DRAIN_NICE, default 10), so the workers only
# journal and answer Meta at full speed, and the journal absorbs bursts.
# WEBHOOK_DRAIN_PROCESSES: how many; by default one per CPU plus one on PostgreSQL (its drains
# run side by side, each waiting on round trips) and one on SQLite (a single writer). 0 leaves
# the draining to the workers themselves.
_drain_processes: list = []


def _portal(app):
    return app if getattr(app, "config", {}).get("WEBHOOK_PROCESSING") == "journal" else None


def _setting(name: str, default: int, low: int, high: int) -> int:
    """A whole-number setting from the environment, refused at start with one clear line."""
    raw = os.environ.get(name) or str(default)
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise SystemExit(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    return int(raw)


def _drain_process_count(app) -> int:
    default = 1 if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else multiprocessing.cpu_count() + 1
    return _setting("WEBHOOK_DRAIN_PROCESSES", default, 0, 64)


def when_ready(server):
    app = _portal(server.app.wsgi())
    if not app:
        return
    nice = _setting("WEBHOOK_DRAIN_NICE", 10, 0, 19)
    for _ in range(_drain_process_count(app)):
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "portal:create_app", "webhooks", "drain", "--forever",
             "--nice", str(nice), "--exit-with", str(os.getpid())],
            cwd=os.path.dirname(os.path.abspath(__file__)),
        )
        _drain_processes.append(process)
        server.log.info("webhook drain process started (pid %s)", process.pid)


def pre_fork(server, worker):
    # The preloaded app's objects are shared with each new worker until written: a worker's
    # garbage collector walking them would copy the master's whole heap, page by page, at
    # every recycling (max_requests), while the worker already takes requests.
    gc.freeze()


def post_worker_init(worker):
    """Each worker stands by while a drain process lives, and drains itself if none does."""
    app = _portal(worker.wsgi)
    if app is None:
        return
    drainer = app.extensions["webhook_drainer"]
    if _drain_processes:  # (not .poll(): a worker is not their parent; the drainer checks they live)
        drainer.hand_over_to([process.pid for process in _drain_processes])
        worker.log.info("worker %s: webhook drain processes %s store the deliveries", worker.pid,
                        [process.pid for process in _drain_processes])
    drainer.start()


def on_exit(server):
    for process in _drain_processes:
        if process.poll() is None:
            process.terminate()  # each stops after the batch it is storing
    for process in _drain_processes:
        try:
            process.wait(timeout=graceful_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    app = _portal(server.app.wsgi())
    if app is not None:
        _drain_the_journal_file(server, app)


def _drain_the_journal_file(server, app, seconds: float = graceful_timeout) -> None:
    """The workers and drain processes are gone: store what is left in a journal file on this
    host (WEBHOOK_JOURNAL=file, or beside SQLite), so that nothing acknowledged waits in it for
    the next start, or is lost with a disk that does not outlive this server. If the database
    fails, or this takes longer than `seconds`, the rest stays in the file for the next start."""
    import time

    from portal.extensions import db
    from portal.webhook.journal import backlog, drain_once

    if app.extensions.get("webhook_journal_file") is None:
        return
    deadline = time.monotonic() + seconds
    with app.app_context():
        db.engine.dispose()  # connections this process may hold from before the forks
        try:
            while time.monotonic() < deadline and drain_once().deliveries:
                pass
            left = backlog()
        except Exception as error:
            server.log.warning("webhook journal not drained on exit (%s); the next start drains it", type(error).__name__)
            return
        finally:
            db.session.remove()
    if left:
        server.log.warning("%d webhook deliveries still journaled on exit; the next start drains them", left)
