"""The drain process (`flask webhooks drain --forever`, started by gunicorn.conf.py) and the
workers' stand-by while it lives; then the whole production start: gunicorn, its workers and
drain processes, a signed POST, the message in the inbox."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from portal.extensions import db
from portal.webhook import journal
from portal.models import Message
from portal.webhook.drainer import Drainer, run_forever
from tests.conftest import TEST_APP_SECRET, TEST_VERIFY_TOKEN
from tests.webhook import payloads as p
from tests.webhook.conftest import NUMBER_A, NUMBER_B

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WEBHOOK_PROCESSING": "journal"}


def journaled() -> int:
    """Deliveries journaled and not stored yet (the table's, and on SQLite the journal file's)."""
    db.session.expire_all()
    return journal.backlog()


def count(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def wait_for(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def two_messages(tag: str) -> dict:
    return p.envelope(p.messages_change(NUMBER_A, [p.text_message(f"wamid.{tag}.a")]),
                      p.messages_change(NUMBER_B, [p.text_message(f"wamid.{tag}.b")]))


def test_run_forever_stores_deliveries_as_they_come_and_stops_when_told(app, client, two_products, monkeypatch):
    monkeypatch.setattr(Drainer, "start", lambda self: None)
    monkeypatch.setattr(Drainer, "after_response", lambda self: None)
    stop = threading.Event()
    worker = threading.Thread(target=run_forever, args=(app, stop))
    worker.start()
    try:
        for k in range(3):
            assert p.post_signed(client, two_messages(f"forever{k}")).status_code == 200
        assert wait_for(lambda: count(Message) == 6 and journaled() == 0)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()


def test_run_forever_stops_when_its_parent_is_gone(app):
    worker = threading.Thread(target=run_forever, args=(app, threading.Event(), os.getppid() + 1))
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive()


def test_a_worker_stands_by_while_a_drain_process_lives_and_drains_once_it_is_gone(app, client, two_products, monkeypatch):
    monkeypatch.setattr(Drainer, "start", lambda self: None)
    drainer = app.extensions["webhook_drainer"]
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        drainer.hand_over_to([stand_in.pid])
        answer = p.post_signed(client, two_messages("standby"))
        answer.close()  # the answer is sent: a worker with no drain process would drain now
        assert journaled() == 1 and count(Message) == 0
    finally:
        stand_in.kill()
        stand_in.wait()
    drainer._process_checked = 0.0  # (it looks once a second; the test does not wait for that)
    answer = p.post_signed(client, two_messages("takeover"))
    answer.close()
    assert journaled() == 0 and count(Message) == 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[str]:
    out = subprocess.run(["ps", "-ww", "-o", "args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def test_gunicorn_starts_its_drain_processes_and_a_delivery_reaches_the_inbox(app, app_config, two_products, tmp_path):
    """The production start, as gunicorn.conf.py sets it up, on this suite's database."""
    port = _free_port()
    env = {
        **os.environ, "PORTAL_ENV": "production", "DATABASE_URL": app_config["DATABASE_URL"],
        "SECRET_KEY": "gunicorn-test-secret-of-at-least-32-bytes", "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "META_APP_ID": "123456789012345", "META_APP_SECRET": TEST_APP_SECRET, "META_VERIFY_TOKEN": TEST_VERIFY_TOKEN,
        "GUNICORN_WORKERS": "2", "GUNICORN_BIND": f"127.0.0.1:{port}", "LOG_LEVEL": "INFO",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        master = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                                  env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_for(lambda: sum("webhooks drain --forever" in c for c in _children(master.pid)) >= 1), log.read_text()[-3000:]
        drains = [c for c in _children(master.pid) if "webhooks drain --forever" in c]
        assert len(drains) == (1 if app_config["DATABASE_URL"].startswith("sqlite") else os.cpu_count() + 1)

        raw = p.encode(two_messages("gunicorn"))
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = urllib.request.urlopen(urllib.request.Request(
                    f"http://127.0.0.1:{port}/webhook", data=raw, headers=p.signed_headers(raw)), timeout=5)
                break
            except OSError:  # not listening yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert answer.status == 200 and answer.read() == b'{"received":true}'
        assert wait_for(lambda: count(Message) == 2 and journaled() == 0), "not stored by the drain process"
    finally:
        os.killpg(master.pid, signal.SIGTERM)
        master.wait(timeout=30)
    output = log.read_text()
    assert master.returncode == 0, output[-3000:]
    assert "webhook drain processes" in output  # the workers stood by for them
    leftover = subprocess.run(["pgrep", "-f", f"--exit-with {master.pid}"], capture_output=True, text=True).stdout
    assert not leftover.strip(), "a drain process outlived gunicorn"


def test_gunicorn_refuses_a_bad_drain_setting_in_one_line(app_config, tmp_path):
    env = {**os.environ, "PORTAL_ENV": "production", "DATABASE_URL": app_config["DATABASE_URL"],
           "SECRET_KEY": "gunicorn-test-secret-of-at-least-32-bytes", "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "META_APP_ID": "123456789012345", "META_APP_SECRET": TEST_APP_SECRET, "META_VERIFY_TOKEN": TEST_VERIFY_TOKEN,
           "GUNICORN_WORKERS": "1", "GUNICORN_BIND": f"127.0.0.1:{_free_port()}", "WEBHOOK_DRAIN_PROCESSES": "many"}
    done = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "WEBHOOK_DRAIN_PROCESSES must be a whole number from 0 to 64, not 'many'" in done.stdout + done.stderr
