"""Live servers for browser tests: the portal and the Meta sandbox on free ports,
wired to each other only through configuration, and Debian's Chromium via Playwright.

Where Chromium or Playwright is missing, the tests that need them are reported
as SKIPPED (never as passed).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal.extensions import db
from portal.webhook.journal import drain_forever
from portal.sandbox import create_app as create_sandbox
from tests.conftest import TEST_APP_ID, TEST_APP_SECRET

# E2E_SCREENSHOTS=docs/screenshots refreshes the README's pictures; by default they go to a temporary folder.
SCREENSHOTS = os.environ.get("E2E_SCREENSHOTS")


@pytest.fixture
def shots(tmp_path):
    """Where screenshots go, and a helper that takes one of a page."""
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


class ServerThread(threading.Thread):
    def __init__(self, app):
        super().__init__(daemon=True)
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def run(self):
        self.server.serve_forever()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Live:
    portal_url: str
    sandbox_url: str
    app: object  # the portal
    sandbox: object  # the sandbox's Sandbox (world, dispatcher)


@pytest.fixture
def live(app_config, request):
    """Sandbox first (its URL goes into the portal's config), then the portal (its URL is the webhook target)."""
    sandbox_app = create_sandbox({
        "PORTAL_ENV": "test",
        "META_APP_ID": TEST_APP_ID,
        "META_APP_SECRET": TEST_APP_SECRET,
        "SANDBOX_STATUS_DELAYS": (0.3, 0.6, 0.9),
        "SANDBOX_TEMPLATE_REVIEW": "manual",  # as in the demo: templates are approved on the sandbox's page
    })
    sandbox_server = ServerThread(sandbox_app)
    sandbox_server.start()
    # Journal mode, as in production: sandbox -> /webhook -> journal -> the worker's drain loop -> inbox.
    app_config.update(META_GRAPH_URL=sandbox_server.url, META_DIALOG_URL=sandbox_server.url, FEED_POLL_SECONDS=1,
                      WEBHOOK_PROCESSING="journal")
    app = request.getfixturevalue("app")
    portal_server = ServerThread(app)
    portal_server.start()
    box = sandbox_app.extensions["sandbox"]
    box.dispatcher.url = f"{portal_server.url}/webhook"
    stop_worker = threading.Event()
    worker = threading.Thread(target=drain_forever, args=(app, stop_worker), daemon=True)
    worker.start()
    try:
        yield Live(portal_server.url, sandbox_server.url, app, box)
    finally:
        stop_worker.set()
        worker.join()
        portal_server.stop()
        sandbox_server.stop()
        box.dispatcher.stop()
        db.session.remove()
