"""`make run`'s pieces: the sandbox it builds and the servers it starts and stops."""
from __future__ import annotations

import requests

from portal import demo


def test_demo_sandbox_keeps_state_beside_the_database_and_posts_to_the_portal(tmp_path, monkeypatch):
    for key in ("PORTAL_WEBHOOK_URL", "SANDBOX_STATE_FILE", "META_APP_ID", "META_APP_SECRET", "PORTAL_PORT"):
        monkeypatch.delenv(key, raising=False)
    sandbox = demo.build_sandbox(str(tmp_path))
    try:
        assert sandbox.config["SANDBOX_STATE_FILE"] == str(tmp_path / "sandbox-state.json")
        assert sandbox.config["PORTAL_WEBHOOK_URL"] == "http://127.0.0.1:5000/webhook"
        assert sandbox.config["META_APP_ID"] == "1000000000000001"
    finally:
        sandbox.extensions["sandbox"].dispatcher.stop()


def test_server_thread_serves_and_stops(tmp_path):
    sandbox = demo.build_sandbox(str(tmp_path))
    server = demo.ServerThread(sandbox, 0, "sandbox")
    server.start()
    try:
        assert requests.get(f"{server.url}/phone", timeout=5).status_code == 200
    finally:
        server.stop()
        sandbox.extensions["sandbox"].dispatcher.stop()
    server.join(5)
    assert not server.is_alive()
