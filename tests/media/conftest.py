"""Media fixtures: two products with a number each (tests/webhook), Graph URLs, and the engine's retries."""
from __future__ import annotations

import base64
import hashlib

import pytest

from portal.jobs import engine
from tests.conftest import TEST_GRAPH_URL
from tests.inbox.conftest import inbox  # noqa: F401
from tests.webhook.conftest import NUMBER_A, NUMBER_B, WABA_A, WABA_B, link_number, two_products  # noqa: F401

GRAPH = f"{TEST_GRAPH_URL}/v25.0"
LOOKASIDE = "https://lookaside.fbsbx.com/whatsapp_business/attachments/"


def b64_sha256(data: bytes) -> str:
    """As in recorded webhook payloads (pywa's fixtures): base64 of the digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def media_info(media_id: str, data: bytes, mime_type: str, url: str | None = None) -> dict:
    """GET /{media-id}, as Meta documents it: url, mime_type, sha256 (hex), file_size, id."""
    return {"messaging_product": "whatsapp", "url": url or f"{LOOKASIDE}?mid={media_id}&ext=1&hash=abc",
            "mime_type": mime_type, "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data), "id": media_id}


def run_retries() -> int:
    """Run every retry the engine scheduled, as if their time had come (in tests jobs run at once,
    but a retry waits for its delay on the engine's schedule)."""
    huey = engine().huey
    scheduled = huey.scheduled()
    if not scheduled:
        return 0
    when = max(task.eta for task in scheduled)
    tasks = huey.read_schedule(when)
    for task in tasks:
        huey.execute(task, timestamp=when)
    return len(tasks)


@pytest.fixture
def media_root(app):
    return app.config["MEDIA_ROOT"]
