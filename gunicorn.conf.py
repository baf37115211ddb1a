"""Production gunicorn settings: `gunicorn wsgi:app` picks this file up from the working directory.

Settings only: background work (the webhook journal, jobs) runs in `flask --app app work`
processes of its own (docs/architecture.md), never from gunicorn's hooks.
"""
import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: requests are short (webhook journaling, htmx partials); scale out with more processes.
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


def pre_fork(server, worker):
    # The preloaded app's objects are shared with each new worker until written: a worker's
    # garbage collector walking them would copy the master's whole heap, page by page, at
    # every recycling (max_requests), while the worker already takes requests.
    gc.freeze()
