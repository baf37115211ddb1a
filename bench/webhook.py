"""Webhook benchmark (not a test): the portal against a ceiling and a peer, each under its gunicorn settings.

    .venv/bin/python bench/webhook.py            # a few minutes (10 on a busy machine); --record writes bench/README.md

Starts, one after the other, on loopback ports and under `gunicorn -c gunicorn.conf.py` (its 2 x CPUs + 1
sync workers for every target; --web-workers N for another count, the same for all):
  ceiling            a bare Flask app that answers 200 (bench/ceiling_app.py)
  portal-sqlite      the portal (production config) on a SQLite file, plus 1 `flask --app portal:create_app work`
  portal-postgresql  the portal on PostgreSQL (a database of its own on 127.0.0.1:5432, durable commits),
                     plus 2 `flask work` processes (--pg-workers)
  peer-pywa          pywa 4.5 on Flask, one INSERT + commit per message into SQLite (bench/peer_app.py)
and drives each from a separate process, wrk (Debian's package), with pre-signed bodies whose
message ids are all unique: first one message per POST, then 100 per POST. The portal answers once a
delivery is journaled; its messages/s count only messages in the inbox, over the load plus the time
its workers still needed after it (the drain tail). Reports messages/s,
the ratios to the ceiling and to the peer, p50/p99 latency, and checks in each database that every
acknowledged (200) message is stored exactly once. Everything it starts is stopped at the end.
--py-spy DIR records each portal web worker during the load (py-spy, collapsed stacks, as root).
Needs: wrk (apt-get install wrk), pywa==4.5.0 (bench/requirements.txt), PostgreSQL.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))

APP_SECRET = "bench-app-secret-0b9f"
VERIFY_TOKEN = "bench-verify-token"
PG_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WEB_WORKERS = 0  # gunicorn workers per target; 0: gunicorn.conf.py's own count (--web-workers)
THREADS = 4  # wrk threads = connections (one each), so answers map to bodies exactly
NUMBERS = {"106540352242901": "Cardio Plus", "106540352242902": "Cardio Plus",
           "106540352242903": "Flex 60", "106540352242904": "Flex 60"}
CUSTOMERS = [f"5917{n:07d}" for n in range(2000)]
MODES = {"single": 1, "batch": 100}
README_START, README_END = "<!-- webhook-bench:start -->", "<!-- webhook-bench:end -->"


@dataclass
class Target:
    name: str
    module: str  # gunicorn app spec
    chdir: Path
    env: dict
    wamids: callable = None  # () -> list of stored wamids, for the exactly-once check
    backlog: callable = None  # () -> deliveries journaled but not stored yet (the portal in journal mode)
    workers: int = 0  # `flask work` processes started beside gunicorn (the portal), in `chdir`
    database: str | None = None  # PostgreSQL database name: its server backends' CPU is counted too


@dataclass
class Run:
    target: str
    mode: str
    seconds: float
    requests_ok: int
    messages_acked: int
    p50_ms: float
    p99_ms: float
    errors: dict
    exhausted: int
    drain_tail: float = 0.0  # seconds after the load until the journal was empty (counted in `seconds`)
    cpu: dict = field(default_factory=dict)  # CPU seconds over load + tail: web (gunicorn), work (flask work), db (PostgreSQL backends)
    stored_acked: int | None = None
    missing: int | None = None
    duplicates: int | None = None
    notes: list = field(default_factory=list)
    rounds: list = field(default_factory=list)
    cpu_per_msg: dict = field(default_factory=dict)  # CPU seconds per stored message, over every round

    @property
    def req_per_s(self) -> float:
        """Answered POSTs per second of load (the drain tail is not load)."""
        return self.requests_ok / (self.seconds - self.drain_tail)

    @property
    def stored(self) -> int:
        return self.messages_acked if self.stored_acked is None else self.stored_acked

    @property
    def msg_per_s(self) -> float:
        """Acknowledged messages that are stored (for the ceiling: acknowledged, it stores nothing)."""
        stored = self.messages_acked if self.stored_acked is None else self.stored_acked
        return stored / self.seconds


# ---------------------------------------------------------------- bodies

def make_bodies(directory: Path, mode: str, per_post: int, posts_per_thread: int) -> None:
    """One file per wrk thread: `signature<TAB>body` per line; wamid = wamid.bench.<tag>.<thread>.<line>.<k>
    (`mode` here is the tag: the mode and the round, so no body is ever sent twice)."""
    from portal.meta.signatures import webhook_signature

    directory.mkdir(parents=True)
    numbers = list(NUMBERS)
    rng = random.Random(7)
    now = int(time.time())
    for thread in range(THREADS):
        with open(directory / f"{thread}.txt", "w") as out:
            for line in range(1, posts_per_thread + 1):
                number = numbers[(thread + line) % len(numbers)]
                messages, contacts = [], {}
                for k in range(per_post):
                    customer = rng.choice(CUSTOMERS)
                    contacts[customer] = {"profile": {"name": f"Customer {customer[-4:]}"}, "wa_id": customer, "user_id": f"US.{customer}"}
                    messages.append({"from": customer, "id": f"wamid.bench.{mode}.{thread}.{line}.{k}",
                                     "timestamp": str(now + line), "type": "text",
                                     "text": {"body": f"Hola, quiero saber el estado de mi pedido {line}-{k}"}})
                body = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
                    "value": {"messaging_product": "whatsapp",
                              "metadata": {"display_phone_number": "15550783881", "phone_number_id": number},
                              "contacts": list(contacts.values()), "messages": messages},
                    "field": "messages"}]}]}
                raw = json.dumps(body, separators=(",", ":")).encode()
                out.write(f"{webhook_signature(raw, APP_SECRET)}\t{raw.decode()}\n")


def acked_wamids(result: dict, tag: str, per_post: int) -> set[str]:
    return {
        f"wamid.bench.{tag}.{thread['tid']}.{line}.{k}"
        for thread in result["threads"] for line in thread["acked"] for k in range(per_post)
    }


# ---------------------------------------------------------------- databases

def portal_env(database_url: str) -> dict:
    from cryptography.fernet import Fernet

    return {
        "PORTAL_ENV": "production", "DATABASE_URL": database_url, "SECRET_KEY": uuid.uuid4().hex,
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "META_APP_ID": "123456789012345",
        "META_APP_SECRET": APP_SECRET, "META_VERIFY_TOKEN": VERIFY_TOKEN, "LOG_LEVEL": "WARNING",
    }


def prepare_portal_database(env: dict, log: Path) -> None:
    """`flask db upgrade` (the schema and, on PostgreSQL, the job engine's tables), then link the
    bench numbers to two products."""
    with log.open("w") as out:
        subprocess.run([sys.executable, "-m", "flask", "--app", "portal:create_app", "db", "upgrade"], cwd=ROOT,
                       env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=300)
    from portal import create_app
    from portal.extensions import db
    from portal.models import Product, WhatsAppAccount

    app = create_app({k: v for k, v in env.items()})
    with app.app_context():
        products = {}
        for number, name in NUMBERS.items():
            if name not in products:
                products[name] = Product(name=name)
                db.session.add(products[name])
                db.session.flush()
            db.session.add(WhatsAppAccount(product_id=products[name].id, phone_number_id=number,
                                           business_account_id="102290129340398", access_token="bench-token"))
        db.session.commit()
        db.engine.dispose()


def portal_backlog(database_url: str):
    """() -> deliveries journaled and not stored yet: the journal table's, plus the journal file's
    beside a SQLite database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from portal.config import _database_url
    from portal.webhook.journal_file import path_for

    engine = create_engine(_database_url(database_url, ""), poolclass=NullPool)
    journal_file = path_for(database_url)

    def read() -> int:
        with engine.connect() as conn:
            in_table = conn.execute(text("SELECT count(*) FROM webhook_deliveries")).scalar_one()
        if journal_file is None or not os.path.exists(journal_file):
            return in_table
        with closing(sqlite3.connect(journal_file, timeout=30)) as file:
            return in_table + file.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0]

    return read


def portal_wamids(database_url: str):
    def read() -> list[str]:
        from sqlalchemy import create_engine, text

        from portal.config import _database_url

        engine = create_engine(_database_url(database_url, ""))
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT wamid FROM messages WHERE wamid LIKE 'wamid.bench.%'")).scalars().all()
        engine.dispose()
        return rows

    return read


def checkpoint() -> None:
    """A CHECKPOINT before each PostgreSQL run: every bench database shares the server's WAL, so
    without it a run pays for the checkpoint the previous target's writes made due, and its p99
    with it."""
    import psycopg

    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def create_postgres_database(stack: ExitStack) -> str:
    import psycopg

    name = f"maestra_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop():  # a fresh connection: the server may have been restarted meanwhile
        with psycopg.connect(PG_SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    stack.callback(drop)
    return re.sub(r"/[^/]*$", f"/{name}", PG_SERVER)


def prepare_peer_database(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE accounts (phone_number_id TEXT PRIMARY KEY, product_id TEXT NOT NULL)")
    db.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, product_id TEXT, wamid TEXT, wa_id TEXT, name TEXT, "
               "type TEXT, text TEXT, sent_at TEXT)")
    db.execute("CREATE INDEX ix_messages_wamid ON messages (wamid)")
    db.executemany("INSERT INTO accounts VALUES (?, ?)", list(NUMBERS.items()))
    db.commit()
    db.close()


def peer_wamids(path: Path):
    def read() -> list[str]:
        db = sqlite3.connect(path)
        rows = [r[0] for r in db.execute("SELECT wamid FROM messages WHERE wamid LIKE 'wamid.bench.%'")]
        db.close()
        return rows

    return read


# ---------------------------------------------------------------- servers and load

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(target: Target, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, **target.env}
    # Every target gets the portal's gunicorn.conf.py (preloading, gc.freeze, recycling, its worker count:
    # 2 x CPUs + 1 sync workers), then the same flags; --web-workers N overrides the count for all alike.
    workers = ["-w", str(WEB_WORKERS)] if WEB_WORKERS else []
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), *workers, "--backlog", "2048",
               "-b", f"127.0.0.1:{port}", "--chdir", str(target.chdir), target.module]
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{target.name} did not start; see {log}:\n{log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/webhook?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1", timeout=2)
            return process
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    raise RuntimeError(f"{target.name} did not answer within 30 s")


def start_worker(env: dict, log: Path, cwd: Path = ROOT) -> subprocess.Popen:
    """`flask --app portal:create_app work`: the job engine and the webhook journal's drain loop."""
    command = [sys.executable, "-m", "flask", "--app", "portal:create_app", "work"]
    return subprocess.Popen(command, cwd=cwd, env={**os.environ, **env}, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def warm_up(port: int, per_post: int) -> None:
    """A few signed POSTs (ids of their own) so both workers have imported and connected."""
    from portal.meta.signatures import webhook_signature

    for n in range(20):
        messages = [{"from": CUSTOMERS[k], "id": f"wamid.warm.{uuid.uuid4().hex}", "timestamp": str(int(time.time())),
                     "type": "text", "text": {"body": "warm"}} for k in range(per_post)]
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": list(NUMBERS)[n % 4]},
            "contacts": [{"profile": {"name": "w"}, "wa_id": CUSTOMERS[k], "user_id": f"US.{CUSTOMERS[k]}"} for k in range(per_post)], "messages": messages}}]}]}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/webhook", data=body, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": webhook_signature(body, APP_SECRET)})
        for attempt in range(5):  # a 503 (database busy or restarting) is retried, as Meta would
            try:
                urllib.request.urlopen(request, timeout=10).read()
                break
            except urllib.error.HTTPError as error:
                if error.code != 503 or attempt == 4:
                    raise
                time.sleep(0.5)


def wait_started(workers: list[subprocess.Popen], timeout: float = 60) -> None:
    """Until the `flask work` processes are idle: their imports (about a CPU-second each) must
    not fall inside the load."""
    def cpu(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        except OSError:
            return 0

    pids = [w.pid for w in workers]
    deadline = time.time() + timeout
    before = {pid: cpu(pid) for pid in pids}
    while pids and time.time() < deadline:
        time.sleep(0.25)
        for worker in workers:
            if worker.poll() is not None:
                raise RuntimeError(f"a `flask work` process exited with {worker.returncode}")
        now = {pid: cpu(pid) for pid in pids}
        if all(now[pid] - before[pid] <= 2 for pid in pids):  # 20 ms in 250: idle, polling the journal
            return
        before = now


def wait_drained(backlog, timeout: float = 300) -> float:
    """Seconds until the journal is empty."""
    started = time.perf_counter()
    while backlog():
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"the journal still holds {backlog()} deliveries after {timeout:.0f} s")
        time.sleep(0.01)
    return time.perf_counter() - started


def run_wrk(port: int, bodies: Path, result_file: Path, seconds: int) -> dict:
    env = {**os.environ, "BENCH_BODIES": str(bodies), "BENCH_RESULT": str(result_file)}
    command = ["wrk", "-t", str(THREADS), "-c", str(THREADS), "-d", f"{seconds}s", "--timeout", "5s",
               "-s", str(BENCH / "wrk_bodies.lua"), f"http://127.0.0.1:{port}"]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=seconds + 120)
    return json.loads(result_file.read_text())


def web_workers(master: subprocess.Popen) -> list[int]:
    """gunicorn's worker processes (the master's children)."""
    found = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def start_profilers(server: subprocess.Popen, seconds: int, directory: Path, tag: str) -> list[subprocess.Popen]:
    """py-spy on each web worker for the load's duration, idle time included (waits on the disk, the
    database): collapsed stacks per worker, one text file each (flamegraph.pl or speedscope draw them)."""
    directory.mkdir(parents=True, exist_ok=True)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return [subprocess.Popen([py_spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250",
                              "--nonblocking", "--idle", "--format", "raw", "--output", str(directory / f"{tag}-{pid}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for pid in web_workers(server)]


def cpu_seconds(pid: int, children: bool = False) -> float:
    """CPU time of a process (user + system), with `children` that of its reaped children too
    (gunicorn's recycled workers)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def backend_pids(database: str | None) -> set[int]:
    """PostgreSQL server processes serving `database` (same machine: their CPU is readable in /proc)."""
    if not database:
        return set()
    import psycopg

    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        return {row[0] for row in admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))}


class CpuMeter:
    """CPU seconds of a target's processes between start() and stop(): the web server (gunicorn's
    master, its workers, recycled ones included), the `flask work` processes, and the PostgreSQL
    backends serving its database. Load-independent where wall-clock rates are not: on a shared
    machine a target's rate depends on how much CPU it was given, its CPU per message much less."""

    def __init__(self, server: subprocess.Popen, workers: list[subprocess.Popen], database: str | None):
        self.server, self.workers, self.database = server, workers, database
        self.backends: set[int] = set()

    def _read(self) -> dict:
        web = cpu_seconds(self.server.pid, children=True) + sum(cpu_seconds(pid) for pid in web_workers(self.server))
        work = sum(cpu_seconds(w.pid) for w in self.workers)
        self.backends |= backend_pids(self.database)
        return {"web": web, "work": work, "db": {pid: cpu_seconds(pid) for pid in self.backends}}

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> dict:
        after = self._read()
        db = sum(after["db"][pid] - self.before["db"].get(pid, 0.0) for pid in after["db"] if after["db"][pid])
        return {"web": after["web"] - self.before["web"], "work": after["work"] - self.before["work"], "db": db}


def measure(target: Target, mode: str, tag: str, bodies: Path, work: Path, seconds: int, profile: Path | None = None) -> Run:
    per_post = MODES[mode]
    port = free_port()
    server = start_server(target, port, work / f"{target.name}-{tag}.log")
    workers = [start_worker(target.env, work / f"{target.name}-{tag}-work{n}.log", target.chdir) for n in range(target.workers)]
    try:
        warm_up(port, per_post)
        wait_started(workers)
        if target.backlog:
            wait_drained(target.backlog)
        if target.database:
            checkpoint()
        profilers = start_profilers(server, seconds, profile, f"{target.name}-{tag}") if profile and target.workers else []
        meter = CpuMeter(server, workers, target.database)
        meter.start()
        result = run_wrk(port, bodies, work / f"{target.name}-{tag}.json", seconds)
        # The portal answers once a delivery is journaled; a message counts as stored only once
        # it is in the inbox, so the time its workers still need after the load is counted too.
        tail = wait_drained(target.backlog) if target.backlog else 0.0
        cpu = meter.stop()
        for profiler in profilers:
            profiler.wait(timeout=60)
    finally:
        stop_server(server)
        for worker in workers:
            stop_server(worker)
    acked_bodies = sum(len(t["acked"]) for t in result["threads"])
    run = Run(
        target=target.name, mode=mode, seconds=result["duration_us"] / 1e6 + tail, drain_tail=tail, requests_ok=acked_bodies,
        messages_acked=acked_bodies * per_post, p50_ms=result["p50_us"] / 1000, p99_ms=result["p99_us"] / 1000,
        errors={k: v for k, v in result["errors"].items() if v}, exhausted=sum(t["exhausted"] for t in result["threads"]),
        cpu=cpu,
    )
    if target.wamids:
        acked = acked_wamids(result, tag, per_post)
        stored = [w for w in target.wamids() if w.startswith(f"wamid.bench.{tag}.")]
        stored_set = set(stored)
        run.duplicates = len(stored) - len(stored_set)
        run.missing = len(acked - stored_set)
        run.stored_acked = len(acked & stored_set)
    if run.exhausted:
        run.notes.append(f"{run.exhausted} of {THREADS} load threads sent all their bodies before the end, then went quiet")
    return run


# ---------------------------------------------------------------- report

def median_run(runs: list[Run]) -> Run:
    """The round with the median stored msgs/s, carrying the checks of every round."""
    chosen = sorted(runs, key=lambda r: r.msg_per_s)[len(runs) // 2]
    if chosen.missing is not None:
        chosen.missing = sum(r.missing for r in runs)
        chosen.duplicates = sum(r.duplicates for r in runs)
    chosen.notes = sorted({note for r in runs for note in r.notes})
    chosen.rounds = [round(r.msg_per_s) for r in runs]
    # CPU per message over every round (the sums): steadier than any one round's.
    chosen.cpu_per_msg = {part: sum(r.cpu.get(part, 0.0) for r in runs) / max(1, sum(r.stored for r in runs))
                          for part in ("web", "work", "db")}
    return chosen


def report(runs: list[Run], seconds: int, workers: str, load: tuple) -> str:
    by = {(r.target, r.mode): r for r in runs}
    ceiling = by.get(("ceiling", "single"))
    peer = by.get(("peer-pywa", "single"))
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} CPUs, "
        f"gunicorn -c gunicorn.conf.py ({WEB_WORKERS or os.cpu_count() * 2 + 1} sync workers), {workers}, wrk -t{THREADS} -c{THREADS} -d{seconds}s, median of the rounds "
        f"(load average: {load[0]:.1f} before, {os.getloadavg()[0]:.1f} at the end), Python {sys.version.split()[0]}.",
        "",
        "| target | msgs/POST | POST/s (200) | stored msgs/s | vs ceiling req/s | vs peer msgs/s | p50 ms | p99 ms | drain tail s | acked not stored | stored twice | msgs/s of each round | CPU us/msg web + work + db | vs ceiling by CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for run in runs:
        vs_ceiling = f"{run.msg_per_s / ceiling.req_per_s:.2f}" if ceiling and run.target != "ceiling" else "-"
        peer_same_mode = by.get(("peer-pywa", run.mode))
        vs_peer = f"{run.msg_per_s / peer_same_mode.msg_per_s:.1f}x" if peer_same_mode and peer_same_mode.msg_per_s and run.target.startswith(("portal", "variant")) else "-"
        check = lambda v: "-" if v is None else str(v)  # noqa: E731
        stored = f"{run.msg_per_s:,.0f}" if run.target != "ceiling" else f"({run.msg_per_s:,.0f} acked)"
        lines.append(
            f"| {run.target} | {MODES[run.mode]} | {run.req_per_s:,.0f} | {stored} | {vs_ceiling} | {vs_peer} | "
            f"{run.p50_ms:.1f} | {run.p99_ms:.1f} | {f'{run.drain_tail:.2f}' if run.target.startswith(('portal', 'variant')) else '-'} | "
            f"{check(run.missing)} | {check(run.duplicates)} | "
            f"{', '.join(f'{r:,}' for r in run.rounds)} | {_cpu_cell(run)} | {_cpu_ratio(run, ceiling)} |"
        )
    notes = [f"- {r.target}/{r.mode}: {'; '.join(r.notes + [f'errors {r.errors}' if r.errors else ''])}".rstrip("; ")
             for r in runs if r.notes or r.errors]
    if notes:
        lines += ["", *notes]
    lines += ["", _verdict(by, ceiling, peer)]
    return "\n".join(lines)


def _cpu_total(run: Run) -> float:
    return sum(run.cpu_per_msg.values())


def _cpu_cell(run: Run) -> str:
    parts = [run.cpu_per_msg[p] * 1e6 for p in ("web", "work", "db")]
    return f"{sum(parts):,.0f} = {' + '.join(f'{p:,.0f}' for p in parts)}"


def _cpu_ratio(run: Run, ceiling: Run | None) -> str:
    """The ceiling's CPU per request over this target's CPU per stored message: what "vs ceiling"
    would read on a machine where both are bound by the same CPUs (waits, such as fsync, aside)."""
    if not ceiling or run.target == "ceiling" or not _cpu_total(run):
        return "-"
    return f"{_cpu_total(ceiling) / _cpu_total(run):.2f}"


def _verdict(by, ceiling, peer) -> str:
    """The targets of issue 13."""
    out = []
    for name in ("portal-sqlite", "portal-postgresql", "variant-sqlite", "variant-postgresql"):
        db_name = name.split("-")[1]
        single, batch = by.get((name, "single")), by.get((name, "batch"))
        if not (single and batch and ceiling and peer):
            continue
        if db_name == "sqlite":
            rate = ("(a) >= peer and >= 0.5 ceiling",
                    single.msg_per_s >= peer.msg_per_s and single.msg_per_s >= 0.5 * ceiling.req_per_s)
        else:
            rate = ("(a) >= 0.3 ceiling (durable commits)", single.msg_per_s >= 0.3 * ceiling.req_per_s)
        checks = {
            rate[0]: rate[1],
            "(b) >= 10,000 msgs/s in batches": batch.msg_per_s >= 10_000,
            "(c) p99 < 100 ms": max(single.p99_ms, batch.p99_ms) < 100,
            "(d) exactly once": not (single.missing or single.duplicates or batch.missing or batch.duplicates),
        }
        out.append(f"Targets of {name}: " + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in checks.items()) + ".")
    return "\n".join(out)


def record(text: str) -> None:
    readme = BENCH / "README.md"
    content = readme.read_text()
    start, end = content.index(README_START) + len(README_START), content.index(README_END)
    readme.write_text(content[:start] + "\n" + text + "\n" + content[end:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per target, median reported (default 3)")
    parser.add_argument("--record", action="store_true", help="write the figures into bench/README.md")
    parser.add_argument("--only", nargs="*", help="target names to run (default: all)")
    parser.add_argument("--sqlite-workers", type=int, default=1, help="`flask work` processes beside SQLite (default 1)")
    parser.add_argument("--pg-workers", type=int, default=2, help="`flask work` processes beside PostgreSQL (default 2)")
    parser.add_argument("--web-workers", type=int, default=0,
                        help="gunicorn workers for every target (default: gunicorn.conf.py's, 2 x CPUs + 1)")
    parser.add_argument("--variant", type=Path, metavar="DIR",
                        help="also measure the portal from DIR (a copy of the repository with a proposed change), same rounds")
    parser.add_argument("--py-spy", type=Path, metavar="DIR", help="record the portal's web workers with py-spy into DIR")
    args = parser.parse_args()
    global WEB_WORKERS
    WEB_WORKERS = args.web_workers
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    load_before = os.getloadavg()

    def interrupted(signum, _frame):  # SIGTERM (and SIGINT, ignored in background jobs): stop everything started
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="maestra-bench-")))
        sqlite_url = f"sqlite:///{work / 'portal.db'}"
        pg_url = create_postgres_database(stack)
        peer_db = work / "peer.db"
        targets = [
            Target("ceiling", "ceiling_app:app", BENCH, {}),
            Target("portal-sqlite", "wsgi:app", ROOT, portal_env(sqlite_url), portal_wamids(sqlite_url), portal_backlog(sqlite_url),
                   workers=args.sqlite_workers),
            Target("portal-postgresql", "wsgi:app", ROOT, portal_env(pg_url), portal_wamids(pg_url), portal_backlog(pg_url),
                   workers=args.pg_workers, database=pg_url.rsplit("/", 1)[1]),
        ]
        if args.variant:
            variant_sqlite, variant_pg = f"sqlite:///{work / 'variant.db'}", create_postgres_database(stack)
            targets += [
                Target("variant-sqlite", "wsgi:app", args.variant.resolve(), portal_env(variant_sqlite), portal_wamids(variant_sqlite),
                       portal_backlog(variant_sqlite), workers=args.sqlite_workers),
                Target("variant-postgresql", "wsgi:app", args.variant.resolve(), portal_env(variant_pg), portal_wamids(variant_pg),
                       portal_backlog(variant_pg), workers=args.pg_workers, database=variant_pg.rsplit("/", 1)[1]),
            ]
        targets += [
            Target("peer-pywa", "peer_app:app", BENCH,
                   {"PEER_DB": str(peer_db), "BENCH_APP_SECRET": APP_SECRET, "BENCH_VERIFY_TOKEN": VERIFY_TOKEN},
                   peer_wamids(peer_db)),
        ]
        if args.only:
            targets = [t for t in targets if t.name in args.only]
        print("preparing databases and pre-signed bodies ...", flush=True)
        for target in targets:
            if target.workers:
                prepare_portal_database(target.env, work / f"{target.name}-migrate.log")
        prepare_peer_database(peer_db)
        # Enough bodies for ~6,000 POST/s (single) and ~320 POST/s (batch) per run, never repeated (the ceiling and pywa may still run out: noted, not counted).
        for round_ in range(args.rounds):
            make_bodies(work / f"single{round_}", f"single{round_}", 1, 1500 * args.seconds)
            make_bodies(work / f"batch{round_}", f"batch{round_}", 100, 80 * args.seconds)

        # Rounds interleave the targets, so a busy moment of the machine does not fall on one
        # target only; each target's median round is reported, and the exactly-once check
        # covers every round.
        rounds: dict[tuple, list[Run]] = {}
        failures: list[str] = []
        for round_ in range(args.rounds):
            for mode in MODES:
                for target in targets:
                    print(f"  round {round_ + 1} {target.name:18} {mode:6} ...", end=" ", flush=True)
                    try:
                        run = measure(target, mode, f"{mode}{round_}", work / f"{mode}{round_}", work, args.seconds, args.py_spy)
                    except Exception as error:  # e.g. the shared PostgreSQL restarted: report, go on
                        failures.append(f"- {target.name}/{mode} round {round_ + 1} not measured: {type(error).__name__}: {str(error)[:120]}")
                        print("not measured:", type(error).__name__, flush=True)
                        continue
                    rounds.setdefault((target.name, mode), []).append(run)
                    print(f"{run.req_per_s:8,.0f} POST/s  {run.msg_per_s:9,.0f} msgs/s  p99 {run.p99_ms:6.1f} ms"
                          + (f"  missing {run.missing} dup {run.duplicates}" if run.missing is not None else ""), flush=True)
        runs = [median_run(rounds[(target.name, mode)]) for mode in MODES for target in targets if (target.name, mode) in rounds]
        workers = f"`flask work` x{args.sqlite_workers} (SQLite) / x{args.pg_workers} (PostgreSQL)"
        text = report(runs, args.seconds, workers, load_before) + ("\n\n" + "\n".join(failures) if failures else "")
        print()
        print(text)
        if args.record:
            record(text)
            print("\nrecorded in bench/README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
