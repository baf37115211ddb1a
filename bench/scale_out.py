"""Scale-out check (not a test): 2 web nodes behind nginx plus 2 workers on one PostgreSQL.

    .venv/bin/python bench/scale_out.py          # about 4 minutes; --record writes bench/README.md

Every "host" is a copy of the application in a directory of its own (its own instance/), all on
loopback: web nodes run `gunicorn -c gunicorn.conf.py wsgi:app` (2 sync workers each), worker
hosts run `flask --app portal:create_app work`, and nginx (Debian's package, run in the
foreground with -p/-c on a config written into a temporary directory, no system service)
balances POST /webhook over the web nodes. One fresh PostgreSQL database for the run (dropped
at the end). Load is wrk with pre-signed bodies (bench/wrk_bodies.lua: it knows which body each
200 answered), as in bench/webhook.py. Three steps:

  1. throughput   through nginx with 1 web node, then with 2 (interleaved rounds), 2 workers each
                  time: POSTs answered 200 per second and acknowledged messages STORED per second
                  (load time plus the drain tail), exactly-once checked per round;
  2. faults       through nginx with 2 web nodes and 2 workers for --seconds: at 40% of the run one
                  web node (gunicorn's master and its workers) and one worker are SIGKILLed (the worker
                  is not replaced); then every acknowledged message must be stored exactly once;
  3. lost host    a burst of 100-message POSTs to a web host that also runs a worker; right after
                  the burst every process of that host is SIGKILLed and its directory (instance/
                  included) deleted; then `flask webhooks drain` from another directory must store
                  every acknowledged message (on PostgreSQL the journal is the database's table:
                  nothing acknowledged lived on the web host).

Exit status 1 when a check fails. Needs: wrk and nginx (apt-get install -y wrk nginx), PostgreSQL
on 127.0.0.1:5432 (BENCH_POSTGRES_URL overrides).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import webhook as wb  # noqa: E402  (bench/webhook.py: bodies, databases, servers, wrk)

README_START, README_END = "<!-- scale-out:start -->", "<!-- scale-out:end -->"
APP_FILES = ("portal", "templates", "static", "migrations", "wsgi.py", "app.py", "gunicorn.conf.py")


# ---------------------------------------------------------------- hosts

def make_host(parent: Path, name: str) -> Path:
    """A copy of the application: what a deploy puts on a machine (instance/ is made by the app)."""
    host = parent / name
    host.mkdir()
    for item in APP_FILES:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, host / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, host / item)
    return host


def start_web(host: Path, env: dict, port: int, log: Path) -> subprocess.Popen:
    return wb.start_server(wb.Target(host.name, "wsgi:app", host, env), port, log)


def start_worker(host: Path, env: dict, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "flask", "--app", "portal:create_app", "work"]
    return subprocess.Popen(command, cwd=host, env={**os.environ, **env}, stdout=log.open("a"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the process and everything in its group (gunicorn's master and workers)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 5m;
    client_body_buffer_size 1m;   # bodies stay in memory
    upstream portal {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://portal;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            # A node that refuses the connection is skipped (nginx never re-sends a POST
            # that reached a node: a 502 then, and Meta retries).
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""


def start_nginx(directory: Path, port: int, upstreams: list[int]) -> subprocess.Popen:
    directory.mkdir(parents=True, exist_ok=True)
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in upstreams)
    conf = directory / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=directory, servers=servers, port=port))
    process = subprocess.Popen(["nginx", "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")],
                               stdout=(directory / "stdout.log").open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.time() + 15
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx did not start: {(directory / 'error.log').read_text()[-1500:]}")
        try:
            import urllib.request

            urllib.request.urlopen(f"http://127.0.0.1:{port}/webhook?hub.mode=subscribe&hub.verify_token="
                                   f"{wb.VERIFY_TOKEN}&hub.challenge=1", timeout=2).read()
            return process
        except OSError:
            time.sleep(0.2)
    wb.stop_server(process)
    raise RuntimeError("nginx did not answer within 15 s")


# ---------------------------------------------------------------- checks

def check(result: dict, tag: str, per_post: int, wamids) -> dict:
    acked = wb.acked_wamids(result, tag, per_post)
    stored = [w for w in wamids() if w.startswith(f"wamid.bench.{tag}.")]
    stored_set = set(stored)
    return {"acked": len(acked), "stored": len(stored_set), "missing": len(acked - stored_set),
            "doubled": len(stored) - len(stored_set), "stored_not_acked": len(stored_set - acked)}


def load_figures(result: dict, per_post: int, tail: float, counted: dict) -> dict:
    seconds = result["duration_us"] / 1e6
    posts = sum(len(t["acked"]) for t in result["threads"])
    return {"post_per_s": posts / seconds, "stored_msg_per_s": (counted["acked"] - counted["missing"]) / (seconds + tail),
            "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000, "drain_tail_s": tail,
            "errors": {k: v for k, v in result["errors"].items() if v}}


# ---------------------------------------------------------------- steps

def step_throughput(stack, work, env, wamids, backlog, seconds, rounds) -> list[dict]:
    nodes = [make_host(work, f"web{n}") for n in (1, 2)]
    ports = [wb.free_port(), wb.free_port()]
    webs = [start_web(host, env, port, work / f"{host.name}.log") for host, port in zip(nodes, ports)]
    for web in webs:
        stack.callback(wb.stop_server, web)
    worker_host = make_host(work, "workers")
    workers = [start_worker(worker_host, env, work / f"work{n}.log") for n in range(2)]
    for worker in workers:
        stack.callback(wb.stop_server, worker)
    rows = []
    for round_ in range(rounds):
        for count in (1, 2):
            tag = f"tp{count}n{round_}"
            bodies = work / tag
            wb.make_bodies(bodies, tag, 1, 1500 * seconds)
            port = wb.free_port()
            nginx = start_nginx(work / f"nginx-{tag}", port, ports[:count])
            try:
                wb.warm_up(port, 1)
                wb.wait_started(workers)
                wb.wait_drained(backlog)
                result = wb.run_wrk(port, bodies, work / f"{tag}.json", seconds)
                tail = wb.wait_drained(backlog)
            finally:
                wb.stop_server(nginx)
            counted = check(result, tag, 1, wamids)
            row = {"nodes": count, "round": round_ + 1, **load_figures(result, 1, tail, counted), **counted}
            rows.append(row)
            print(f"  {count} node(s), round {round_ + 1}: {row['post_per_s']:,.0f} POST/s, "
                  f"{row['stored_msg_per_s']:,.0f} stored msgs/s, p99 {row['p99_ms']:.1f} ms, "
                  f"missing {row['missing']} doubled {row['doubled']}", flush=True)
    for process in webs + workers:
        wb.stop_server(process)
    return rows


def step_faults(stack, work, env, wamids, backlog, seconds) -> dict:
    nodes = [make_host(work, f"fweb{n}") for n in (1, 2)]
    ports = [wb.free_port(), wb.free_port()]
    webs = [start_web(host, env, port, work / f"{host.name}.log") for host, port in zip(nodes, ports)]
    worker_host = make_host(work, "fworkers")
    workers = [start_worker(worker_host, env, work / f"fwork{n}.log") for n in range(2)]
    for process in webs + workers:
        stack.callback(wb.stop_server, process)
    tag = "faults"
    bodies = work / tag
    wb.make_bodies(bodies, tag, 1, 1500 * seconds)
    port = wb.free_port()
    nginx = start_nginx(work / "nginx-faults", port, ports)
    stack.callback(wb.stop_server, nginx)
    wb.warm_up(port, 1)
    wb.wait_started(workers)
    events = []
    began = time.time()

    def faults():
        time.sleep(0.4 * seconds)
        kill(webs[0])
        events.append(f"t={time.time() - began:.1f}s SIGKILL web node 1 (gunicorn master and workers, pid {webs[0].pid})")
        kill(workers[0])
        events.append(f"t={time.time() - began:.1f}s SIGKILL worker pid {workers[0].pid}")

    killer = threading.Thread(target=faults)
    killer.start()
    result = wb.run_wrk(port, bodies, work / f"{tag}.json", seconds)
    killer.join()
    tail = wb.wait_drained(backlog)
    wb.stop_server(nginx)
    for process in webs + workers:
        wb.stop_server(process)
    counted = check(result, tag, 1, wamids)
    statuses = {k: v for k, v in result["errors"].items() if v}
    return {**load_figures(result, 1, tail, counted), **counted, "events": events, "wrk_errors": statuses}


def step_lost_host(work, env, wamids, backlog, seconds) -> dict:
    host = make_host(work, "doomed")
    port = wb.free_port()
    web = start_web(host, env, port, work / "doomed-web.log")
    worker = start_worker(host, env, work / "doomed-work.log")
    try:
        tag = "lost"
        bodies = work / tag
        wb.make_bodies(bodies, tag, 100, 80 * seconds)
        wb.warm_up(port, 1)
        wb.wait_started([worker])
        wb.wait_drained(backlog)
        result = wb.run_wrk(port, bodies, work / f"{tag}.json", seconds)
    finally:
        kill(web)  # every process of the web host, at once
        kill(worker)
    left = backlog()
    had_instance = (host / "instance").exists()
    shutil.rmtree(host)  # its local files: instance/ and the code
    other = make_host(work, "elsewhere")
    started = time.perf_counter()
    drain = subprocess.run([sys.executable, "-m", "flask", "--app", "portal:create_app", "webhooks", "drain"],
                           cwd=other, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    drain_seconds = time.perf_counter() - started
    counted = check(result, tag, 100, wamids)
    return {"journaled_at_kill": left, "instance_deleted": had_instance, "drain_exit": drain.returncode,
            "drain_output": (drain.stdout + drain.stderr).strip().splitlines()[-1:], "drain_seconds": drain_seconds,
            "left_after": backlog(), **counted}


# ---------------------------------------------------------------- report

def report(rows: list[dict], faults: dict, lost: dict, seconds: int, burst: int, load: tuple) -> tuple[str, list[str]]:
    problems = []
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} CPUs "
        f"(load average {load[0]:.1f} before, {os.getloadavg()[0]:.1f} at the end), nginx in front of web nodes "
        f"of `gunicorn -c gunicorn.conf.py -w 2`, 2 `flask work`, one PostgreSQL, wrk -t{wb.THREADS} -c{wb.THREADS} "
        f"-d{seconds}s, 1 message per POST.",
        "",
        "| web nodes | round | POST/s (200) | stored msgs/s | p50 ms | p99 ms | drain tail s | acked not stored | stored twice |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(f"| {row['nodes']} | {row['round']} | {row['post_per_s']:,.0f} | {row['stored_msg_per_s']:,.0f} | "
                     f"{row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['drain_tail_s']:.2f} | {row['missing']} | {row['doubled']} |")
        if row["missing"] or row["doubled"]:
            problems.append(f"throughput with {row['nodes']} node(s), round {row['round']}: "
                            f"{row['missing']} acknowledged not stored, {row['doubled']} stored twice")
    for nodes in (1, 2):
        mine = sorted(r["stored_msg_per_s"] for r in rows if r["nodes"] == nodes)
        if mine:
            lines.append(f"\nMedian with {nodes} node(s): {mine[len(mine) // 2]:,.0f} stored msgs/s.")
    lines += [
        "",
        f"Faults ({seconds} s, 2 nodes, 2 workers): {'; '.join(faults['events'])}. "
        f"{faults['acked']:,} messages acknowledged ({faults['post_per_s']:,.0f} POST/s), "
        f"**{faults['missing']} acknowledged not stored, {faults['doubled']} stored twice**; "
        f"{faults['stored_not_acked']} stored without a 200 (cut off by the kill: Meta would retry, and the "
        f"retry is a duplicate the unique constraints absorb); wrk errors {faults['wrk_errors'] or 'none'}; "
        f"drain tail {faults['drain_tail_s']:.2f} s (one worker left).",
        "",
        f"Lost web host: a {burst} s burst of 100-message POSTs ({lost['acked']:,} messages acknowledged), then "
        f"SIGKILL of its gunicorn and its worker with {lost['journaled_at_kill']:,} deliveries still journaled; its "
        f"directory deleted (instance/ {'included' if lost['instance_deleted'] else 'never made'}); `flask webhooks drain` "
        f"from another directory (exit {lost['drain_exit']}, {lost['drain_seconds']:.1f} s: "
        f"\"{' '.join(lost['drain_output'])}\"): **{lost['missing']} acknowledged not stored, {lost['doubled']} "
        f"stored twice**, {lost['left_after']} left in the journal.",
    ]
    if faults["missing"] or faults["doubled"]:
        problems.append(f"faults: {faults['missing']} acknowledged not stored, {faults['doubled']} stored twice")
    if lost["missing"] or lost["doubled"] or lost["left_after"] or lost["drain_exit"]:
        problems.append(f"lost host: {lost['missing']} acknowledged not stored, {lost['doubled']} stored twice, "
                        f"{lost['left_after']} left, drain exit {lost['drain_exit']}")
    if not lost["journaled_at_kill"]:
        problems.append("lost host: the journal was empty at the kill, so the step proved nothing (a longer burst?)")
    lines += ["", "Verdict: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)) + "."]
    return "\n".join(lines), problems


def record(text: str) -> None:
    readme = ROOT / "bench" / "README.md"
    content = readme.read_text()
    start, end = content.index(README_START) + len(README_START), content.index(README_END)
    readme.write_text(content[:start] + "\n" + text + "\n" + content[end:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration of each load (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds per node count (default 2)")
    parser.add_argument("--record", action="store_true", help="write the figures into bench/README.md")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            print(f"{tool} is missing: apt-get install -y {tool}", file=sys.stderr)
            return 2
    load = os.getloadavg()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="maestra-scale-")))
        os.chmod(work, 0o755)
        pg_url = wb.create_postgres_database(stack)
        env = wb.portal_env(pg_url)
        print("preparing the database ...", flush=True)
        wb.prepare_portal_database(env, work / "migrate.log")
        wamids, backlog = wb.portal_wamids(pg_url), wb.portal_backlog(pg_url)
        print("1. throughput through nginx, 1 and 2 web nodes ...", flush=True)
        rows = step_throughput(stack, work, env, wamids, backlog, args.seconds, args.rounds)
        print("2. a web node and a worker SIGKILLed mid-run ...", flush=True)
        faults = step_faults(stack, work, env, wamids, backlog, args.seconds)
        print("3. a web host lost after a burst, drained from elsewhere ...", flush=True)
        burst = max(3, args.seconds // 2)
        lost = step_lost_host(work, env, wamids, backlog, burst)
        text, problems = report(rows, faults, lost, args.seconds, burst, load)
        print()
        print(text)
        if args.record:
            record(text)
            print("\nrecorded in bench/README.md")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
