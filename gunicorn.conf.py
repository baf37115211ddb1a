"""Production gunicorn settings: `gunicorn wsgi:app` picks this file up from the working directory."""
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


# The webhook drain process (portal/webhook/drainer.py): started by the master beside the
# workers, at a lower CPU priority, so the workers answer Meta at full speed and the journal
# absorbs bursts. WEBHOOK_DRAIN_PROCESS=0 leaves the draining to the workers themselves.
_drain_process = None


def _portal(app):
    return app if getattr(app, "config", {}).get("WEBHOOK_PROCESSING") == "journal" else None


def when_ready(server):
    global _drain_process
    if os.environ.get("WEBHOOK_DRAIN_PROCESS", "1") == "0" or not _portal(server.app.wsgi()):
        return
    _drain_process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "portal:create_app", "webhooks", "drain", "--forever",
         "--nice", "10", "--exit-with", str(os.getpid())],
        cwd=os.path.dirname(os.path.abspath(__file__)),
    )
    server.log.info("webhook drain process started (pid %s)", _drain_process.pid)


def post_worker_init(worker):
    """Each worker stands by while the drain process lives, and drains itself if it dies."""
    app = _portal(worker.wsgi)
    if app is None:
        return
    drainer = app.extensions["webhook_drainer"]
    if _drain_process is not None and _drain_process.poll() is None:
        drainer.hand_over_to(_drain_process.pid)
    drainer.start()


def on_exit(server):
    if _drain_process is not None and _drain_process.poll() is None:
        _drain_process.terminate()
        try:
            _drain_process.wait(timeout=graceful_timeout)
        except subprocess.TimeoutExpired:
            _drain_process.kill()
