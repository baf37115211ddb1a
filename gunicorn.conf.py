"""Production gunicorn settings: `gunicorn wsgi:app` picks this file up from the working directory."""
import multiprocessing
import os

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


def post_worker_init(worker):
    """Each worker drains the webhook journal in a thread of its own (portal/webhook/drainer.py),
    from the start, so deliveries journaled before a restart are stored without waiting for a new one."""
    drainer = getattr(worker.wsgi, "extensions", {}).get("webhook_drainer")
    if drainer is not None and worker.wsgi.config["WEBHOOK_PROCESSING"] == "journal":
        drainer.start()
