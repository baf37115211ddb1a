"""Everything the soak starts and must stop: a PostgreSQL database, the sandbox, gunicorn, the
`flask work` processes, and the PostgreSQL outage (the server is ALWAYS started again, whatever happens)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_SERVER = os.environ.get("SOAK_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} did not start; see {log}:\n{log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s; see {log}")


def stop_process(process: subprocess.Popen | None, seconds: float = 15) -> None:
    """SIGTERM to the process group, SIGKILL after `seconds`."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------- the database

class Database:
    """A fresh database on the local server, dropped at the end."""

    def __init__(self):
        import psycopg

        self.name = f"maestra_soak_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_SERVER, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        self.url = re.sub(r"/[^/]*$", f"/{self.name}", PG_SERVER)

    def drop(self) -> None:
        import psycopg

        for _ in range(30):  # the server may just be coming back from the outage
            try:
                with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                return
            except psycopg.OperationalError:
                time.sleep(1)
        print(f"warning: could not drop database {self.name}", file=sys.stderr)


def migrate(env: dict, log: Path) -> None:
    """`flask db upgrade` against the soak database, as an operator would run it."""
    with log.open("w") as out:
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi:app", "db", "upgrade"], cwd=ROOT,
                       env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=120)


# ---------------------------------------------------------------- servers

def start_sandbox(port: int, webhook_url: str, products: int, customers: list[str], log: Path) -> subprocess.Popen:
    command = [sys.executable, str(ROOT / "bench" / "soaklib" / "sandbox_server.py"), "--port", str(port),
               "--webhook-url", webhook_url, "--products", str(products), "--customers", ",".join(customers)]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PORTAL_ENV": "test"}, stdout=log.open("w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    wait_http(f"http://127.0.0.1:{port}/soak/world", process, log)
    return process


def start_gunicorn(env: dict, port: int, log: Path) -> subprocess.Popen:
    """`gunicorn wsgi:app -c gunicorn.conf.py`, 2 sync workers, on loopback."""
    env = {**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2"}
    command = [sys.executable, "-m", "gunicorn", "wsgi:app", "-c", "gunicorn.conf.py"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    wait_http(f"http://127.0.0.1:{port}/readyz", process, log)
    return process


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    """`flask --app portal:create_app work`: the job engine and the webhook journal's drain loop."""
    command = [sys.executable, "-m", "flask", "--app", "portal:create_app", "work"]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log.open("a"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn master's children from /proc: its web workers."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:
            pids.append(int(entry.name))
    return sorted(pids)


# ---------------------------------------------------------------- the PostgreSQL outage

def _cluster() -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql"))
    return [versions[-1], "main"]


class PostgresOutage:
    """Stop the local PostgreSQL server and start it again. `start()` is idempotent and is
    called from finally blocks, signal handlers and atexit, so the server is always restarted."""

    def __init__(self):
        self.stopped = False
        self.lock = threading.RLock()  # start() may run from a signal handler while held
        self.window: tuple[float, float] | None = None  # epoch seconds: stop issued .. start returned

    def stop(self) -> None:
        with self.lock:
            began = time.time()
            self.stopped = True  # before the command: a signal mid-command must still restart
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *_cluster(), "stop", "-m", "fast"],
                           check=True, capture_output=True, timeout=60)
            self.window = (began, began)

    def start(self) -> None:
        with self.lock:
            if not self.stopped:
                return
            for attempt in range(5):
                result = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *_cluster(), "start"],
                                        capture_output=True, timeout=60, check=False)
                if result.returncode == 0 or b"already running" in result.stderr:
                    break
                time.sleep(1)
            self.stopped = False
            if self.window:
                self.window = (self.window[0], time.time())

    def run(self, seconds: float, stop_event: threading.Event) -> None:
        """Stop, wait `seconds` (less if the soak is stopping), start."""
        try:
            self.stop()
            stop_event.wait(seconds)
        finally:
            self.start()
