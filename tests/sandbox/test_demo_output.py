"""Issue 19, item 4: the demo's real output holds no secret.

`make run`'s own process (`python -m portal.demo`) is started on non-default ports (item 14: the
portal must find its sandbox on SANDBOX_PORT with no other setting), a product is connected through
the sandbox's OAuth dialog and a customer writes; then everything the demo printed is searched for
the app secret, the session key, the OAuth code and every access token the sandbox issued. Before
the fix, Alembic's fileConfig replaced the portal's redacting log handler while migrating, and
werkzeug's request lines printed client_secret, fb_exchange_token, input_token and the code.
"""
from __future__ import annotations

import html
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
CARDIO_BUSINESS, CARDIO_NUMBER, ANA = "2100000000000001", "4100000000000001", "15551230001"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise AssertionError(f"the demo did not answer at {url}")


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def running_demo(tmp_path):
    portal_port, sandbox_port = _free_port(), _free_port()
    secret = {"META_APP_SECRET": "demo-run-secret-" + secrets.token_hex(8), "SECRET_KEY": secrets.token_urlsafe(40)}
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("META_", "PORTAL_", "SANDBOX_", "WEBHOOK_", "LOG_")) and key != "DATABASE_URL"}
    env.update(secret, PORTAL_ENV="demo", PORTAL_PORT=str(portal_port), SANDBOX_PORT=str(sandbox_port),
               DATABASE_URL="sqlite:///" + str(tmp_path / "demo.db"), TOKEN_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
               SANDBOX_STATE_FILE=str(tmp_path / "sandbox-state.json"), SANDBOX_STATUS_DELAYS="0,0,0")
    output = tmp_path / "demo-output.txt"
    with output.open("w") as out:
        demo = subprocess.Popen([sys.executable, "-m", "portal.demo"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(f"http://127.0.0.1:{portal_port}/healthz")
        _wait_for(f"http://127.0.0.1:{sandbox_port}/phone")
        yield {"portal": f"http://127.0.0.1:{portal_port}", "sandbox": f"http://127.0.0.1:{sandbox_port}",
               "output": output, "state": tmp_path / "sandbox-state.json", **secret, "process": demo}
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGTERM)
            try:
                demo.wait(30)
            except subprocess.TimeoutExpired:
                demo.kill()


def _connect_and_write(portal: str, sandbox: str) -> str:
    """Log in, Connect with Meta, pick the Cardio business in the sandbox's dialog, come back; a
    customer writes. Returns the OAuth code the dialog gave."""
    browser = requests.Session()
    login = browser.get(f"{portal}/login").text
    dashboard = browser.post(f"{portal}/login", data={"email": "cardio@demo.maestra", "password": "maestra-demo",
                                                      "csrf_token": _csrf(login)})
    product = re.search(r"/p/([0-9a-f-]{36})/", dashboard.url).group(1)
    start = browser.post(f"{portal}/p/{product}/meta/connect", data={"csrf_token": _csrf(dashboard.text)},
                         allow_redirects=False)
    dialog_url = start.headers["Location"]
    assert dialog_url.startswith(sandbox + "/"), "the portal's dialog URL is not the sandbox on SANDBOX_PORT"
    dialog = browser.get(dialog_url).text
    fields = {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', dialog)}
    fields.update(decision="authorize", business_id=CARDIO_BUSINESS)
    back = browser.post(dialog_url.split("?", 1)[0], data=fields, allow_redirects=False).headers["Location"]
    code = re.search(r"[?&]code=([^&]+)", back).group(1)
    connected = browser.get(back)
    assert connected.status_code == 200 and "+1 555-010-1001" in connected.text, "the product did not connect"
    sent = requests.post(f"{sandbox}/api/messages", json={"number": CARDIO_NUMBER, "from": ANA, "type": "text",
                                                          "text": "Hello from the demo test"}, timeout=30)
    assert sent.json()["delivered"] is True
    return code


@pytest.mark.slow
def test_the_demo_prints_no_secret(running_demo):
    code = _connect_and_write(running_demo["portal"], running_demo["sandbox"])
    time.sleep(0.5)  # (the last request lines reach the output; nothing is asserted about speed)
    running_demo["process"].send_signal(signal.SIGTERM)
    running_demo["process"].wait(30)
    printed = running_demo["output"].read_text()
    state = json.loads(running_demo["state"].read_text())
    tokens = set(re.findall(r'"(EAA[A-Za-z0-9]{20,})"', json.dumps(state)))
    assert tokens, "the sandbox issued no token: the flow did not run"
    # The request lines were written (so the check below looked at them), only redacted.
    assert "/meta-oauth-callback" in printed and "oauth/access_token" in printed
    for name, value in [("META_APP_SECRET", running_demo["META_APP_SECRET"]),
                        ("SECRET_KEY", running_demo["SECRET_KEY"]), ("the OAuth code", code),
                        *(("an access token", token) for token in tokens)]:
        assert value not in printed, f"{name} is in the demo's output"
