"""Soak test (a script, not a test): the portal under gunicorn on PostgreSQL with the Meta sandbox,
under mixed load and injected faults, then checked from the database and the pages.

    .venv/bin/python bench/soak.py [--seconds 60] [--kill-worker] [--stop-postgres] [--graph-faults 0.2] [--all-faults]

Starts on loopback ports: the sandbox (bench/soaklib/sandbox_server.py: portal/sandbox plus 10
businesses, fault injection and /soak controls) and the portal (`gunicorn wsgi:app -c gunicorn.conf.py`,
2 sync workers, PORTAL_ENV=test so META_* may point at the sandbox, plus 2 `flask --app portal:create_app
work` processes) on a fresh PostgreSQL database (created, `flask db upgrade`d, dropped at the end). Sets up 10 products x 2 numbers through the
portal's models, with business tokens the sandbox issued. Then, for --seconds, at once:
  customers   signed webhooks to /webhook in Meta's shape (portal/sandbox/payloads.py): one message per
              POST or batches (several entries and changes), 10% of bodies delivered twice; a POST that
              is not answered 200 is retried with backoff until it is (Meta's rule);
  agents      one logged-in member per product polls its live feed (?after=cursor) and replies
              (CSRF token from the page), pressing Retry on replies that failed retryably;
  statuses    the sandbox sends sent/delivered/read after each accepted send (retried until 200),
              and the soak sends them again in shuffled order, single or in one POST;
  faults      --kill-worker: SIGKILL one gunicorn worker and one `flask work` process at 25% of the run
              (another `flask work` is started, as a process supervisor would);
              --stop-postgres: PostgreSQL stopped for 10 s at 45% (always started again);
              --graph-faults R: a share R of Graph calls answers 500 (Meta's transient error) or hangs
              past META_HTTP_TIMEOUT. --all-faults = all three, R = 0.2.
Then every webhook is stored (the workers drain the journal) and the database and pages are checked.
Exit status 1 when a check fails.
"""
from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests
from soaklib import checks, processes
from soaklib.load import Agent, Customers, Number, Recorder, StatusInjector, WebhookSender

APP_ID = "1000000000000001"
APP_SECRET = "soak-app-secret-7d41"
PASSWORD = "soak-password-1"
PRODUCTS = 10
CUSTOMER_IDS = [f"5917{n:07d}" for n in range(300)]
META_HTTP_TIMEOUT = 2.0
OUTAGE_SECONDS = 10.0
OUTAGE_GRACE = 3.0  # after PostgreSQL is back, the pools reconnect (pool_pre_ping)
KILL_GRACE = 1.0
WORKERS = 2  # `flask work` processes


def portal_env(database_url: str, sandbox_url: str) -> dict:
    from cryptography.fernet import Fernet

    return {
        "PORTAL_ENV": "test", "DATABASE_URL": database_url, "SECRET_KEY": uuid.uuid4().hex,
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "META_APP_ID": APP_ID,
        "META_APP_SECRET": APP_SECRET, "META_VERIFY_TOKEN": "soak-verify", "META_GRAPH_URL": sandbox_url,
        "META_DIALOG_URL": sandbox_url, "META_HTTP_TIMEOUT": str(META_HTTP_TIMEOUT),
        "LOGIN_RATE_LIMIT": "10000 per minute", "LOG_LEVEL": "WARNING",
        "WEBHOOK_PROCESSING": "journal",  # as in production: 200 once journaled, stored by `flask work`
        "JOBS_URL": database_url,  # as in production: the job queue in the same PostgreSQL (PORTAL_ENV=test would use memory)
    }


def setup_products(env: dict, world: dict) -> list[dict]:
    """10 products, each with an owner and the two numbers of one sandbox business (its token)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        from portal import create_app
        from portal.extensions import db
        from portal.models import User, WhatsAppAccount
        from portal.products.members import create_product

        app = create_app({"PORTAL_ENV": "test"})
        out = []
        with app.app_context():
            for index, business in enumerate(world["businesses"]):
                user = User(email=f"agent{index}@soak.maestra")
                user.set_password(PASSWORD)
                db.session.add(user)
                db.session.flush()
                product = create_product(f"Soak product {index:02d}", user)
                for phone in business["phones"]:
                    db.session.add(WhatsAppAccount(
                        product_id=product.id, meta_app_id=APP_ID, phone_number_id=phone["id"],
                        business_account_id=business["waba_id"], access_token=business["token"],
                        phone_number=phone["display"], display_name=f"Soak {index:02d}",
                        connected_by_user_id=user.id))
                out.append({"id": str(product.id), "email": user.email, "phones": business["phones"],
                            "waba_id": business["waba_id"]})
            db.session.commit()
            db.engine.dispose()
        return out
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def classify(attempts, outage, kills) -> dict:
    """5xx and no-answer per endpoint, inside the injected faults or outside them."""
    def in_outage(t):
        return outage is not None and outage[0] <= t <= outage[1] + OUTAGE_GRACE

    def near_kill(t):
        return any(k - 0.5 <= t <= k + KILL_GRACE for k in kills)

    table = defaultdict(Counter)
    for a in attempts:
        if a.status is not None and a.status < 500:
            continue
        what = "no answer" if a.status is None else str(a.status)
        if in_outage(a.at):
            where = "during PostgreSQL outage"
        elif a.status is None and near_kill(a.at):
            where = "at worker kill"
        else:
            where = "OUTSIDE faults"
        table[f"{a.origin}: {a.endpoint}"][f"{what} {where}"] += 1
    return {k: dict(v) for k, v in table.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=120, help="customer webhook POSTs per second offered (default 120)")
    parser.add_argument("--kill-worker", action="store_true")
    parser.add_argument("--stop-postgres", action="store_true")
    parser.add_argument("--graph-faults", type=float, default=0.0, metavar="SHARE")
    parser.add_argument("--all-faults", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.all_faults:
        args.kill_worker = args.stop_postgres = True
        args.graph_faults = args.graph_faults or 0.2
    if not 5 <= args.seconds <= 180:
        parser.error("--seconds must be between 5 and 180 (a run stays well under 5 minutes)")

    outage = processes.PostgresOutage()
    atexit.register(outage.start)  # whatever happens, PostgreSQL runs again

    def on_signal(signum, _frame):
        outage.start()
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop = threading.Event()
    threads: list[threading.Thread] = []

    with ExitStack() as stack:
        stack.callback(outage.start)
        logs = ROOT / "instance" / "soak-logs"
        logs.mkdir(parents=True, exist_ok=True)
        print("starting: PostgreSQL database, sandbox, gunicorn, flask work ...", flush=True)
        database = processes.Database()
        stack.callback(database.drop)
        sandbox_port, portal_port = processes.free_port(), processes.free_port()
        sandbox_url, portal_url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{portal_port}"
        env = portal_env(database.url, sandbox_url)
        processes.migrate(env, logs / "migrate.log")
        os.environ["META_APP_SECRET"] = APP_SECRET  # the sandbox signs with the same app secret
        sandbox = processes.start_sandbox(sandbox_port, f"{portal_url}/webhook", PRODUCTS, CUSTOMER_IDS,
                                          logs / "sandbox.log")
        stack.callback(processes.stop_process, sandbox)
        world = requests.get(f"{sandbox_url}/soak/world", timeout=10).json()
        products = setup_products(env, world)
        gunicorn = processes.start_gunicorn(env, portal_port, logs / "gunicorn.log")
        stack.callback(processes.stop_process, gunicorn, 25)
        for old_log in logs.glob("work-*.log"):
            old_log.unlink()
        workers = [processes.start_worker(env, logs / f"work-{n}.log") for n in range(WORKERS)]
        stack.callback(lambda: [processes.stop_process(w, 25) for w in workers])
        stack.callback(stop.set)
        stack.callback(outage.start)  # runs first on the way out: PostgreSQL back before the drop

        numbers = [Number(p["id"], p["digits"], prod["waba_id"], i) for i, prod in enumerate(products) for p in prod["phones"]]
        phone_product = {n.phone_id: n.product for n in numbers}
        recorder = Recorder()
        load_seconds = args.seconds
        hard_deadline = time.time() + load_seconds + 60  # retries keep going a while after the load stops
        sender = WebhookSender(f"{portal_url}/webhook", APP_SECRET, recorder, hard_deadline)
        customers = Customers(numbers, CUSTOMER_IDS, sender, args.rate, threads=12)
        injector = StatusInjector(sandbox_url, {n.phone_id: n for n in numbers}, sender)
        agents = [Agent(portal_url, i, p["id"], p["email"], PASSWORD, recorder, reply_every=3.0, poll_every=1.0)
                  for i, p in enumerate(products)]
        for agent in agents:
            agent.login()
        requests.post(f"{sandbox_url}/soak/faults", json={"rate": args.graph_faults, "hang_seconds": META_HTTP_TIMEOUT + 1},
                      timeout=5)

        kills: list[float] = []
        events: list[str] = []

        def faults_thread():
            began = time.time()
            if args.kill_worker and not stop.wait(0.25 * load_seconds):
                web = processes.worker_pids(gunicorn.pid)
                if web:
                    victim = random.choice(web)
                    os.kill(victim, signal.SIGKILL)
                    kills.append(time.time())
                    events.append(f"t={time.time() - began:.1f}s SIGKILL gunicorn worker {victim} (workers {web})")
                # And one `flask work` process, mid-drain as likely as not: what it had taken goes
                # back to the journal (its transaction dies with it) for the other; a supervisor
                # (systemd, the Procfile's runner) starts another, here at once.
                doomed = random.choice(workers)
                os.kill(doomed.pid, signal.SIGKILL)
                doomed.wait()
                events.append(f"t={time.time() - began:.1f}s SIGKILL flask work {doomed.pid} "
                              f"(workers {[w.pid for w in workers]})")
                replacement = processes.start_worker(env, logs / f"work-{WORKERS}.log")
                workers[workers.index(doomed)] = replacement
                events.append(f"t={time.time() - began:.1f}s started flask work {replacement.pid}")
            if args.stop_postgres:
                wait = 0.45 * load_seconds - (time.time() - began)
                if wait <= 0 or not stop.wait(wait):
                    events.append(f"t={time.time() - began:.1f}s PostgreSQL stopped")
                    outage.run(OUTAGE_SECONDS, stop)
                    events.append(f"t={time.time() - began:.1f}s PostgreSQL started "
                                  f"(down {outage.window[1] - outage.window[0]:.1f}s)")

        def probe_thread():
            """A load balancer's view: /healthz (process up) and /readyz (database reachable)."""
            session = requests.Session()
            while not stop.wait(0.5):
                for path in ("/healthz", "/readyz"):
                    started = time.time()
                    try:
                        status = session.get(portal_url + path, timeout=5).status_code
                    except requests.RequestException:
                        status, session = None, requests.Session()
                    recorder.add(f"GET {path}", status, started)

        print(f"load for {load_seconds:.0f} s: {args.rate:.0f} customer POST/s offered, {len(agents)} agents, "
              f"faults: kill-worker={args.kill_worker} stop-postgres={args.stop_postgres} graph={args.graph_faults}",
              flush=True)
        load_started = time.time()
        cpu_before, load_before = _cpu_seconds(), os.getloadavg()[0]
        threads += [threading.Thread(target=customers.run, args=(stop, i), daemon=True) for i in range(customers.threads)]
        threads += [threading.Thread(target=a.run, args=(stop, i), daemon=True) for i, a in enumerate(agents)]
        threads += [threading.Thread(target=injector.run, args=(stop,), daemon=True),
                    threading.Thread(target=faults_thread, daemon=True), threading.Thread(target=probe_thread, daemon=True)]
        for thread in threads:
            thread.start()
        stop.wait(load_seconds)
        stop.set()
        load_ended = time.time()
        harness_cpu, load_after = _cpu_seconds() - cpu_before, os.getloadavg()[0]
        for thread in threads:
            thread.join(timeout=max(1, hard_deadline - time.time()))
        requests.post(f"{sandbox_url}/soak/faults", json={"rate": 0}, timeout=5)
        outage.start()

        # Drain: the sandbox's queued status webhooks, then a last pass of shuffled statuses.
        drain_deadline = time.time() + 45
        while time.time() < drain_deadline:
            if requests.get(f"{sandbox_url}/soak/state", timeout=10).json()["pending"] == 0:
                break
            time.sleep(0.5)
        injector.pass_once(random.Random(5))
        while time.time() < drain_deadline:
            state = requests.get(f"{sandbox_url}/soak/state", params={"deliveries": 1}, timeout=10).json()
            if state["pending"] == 0:
                break
            time.sleep(0.5)
        # Then the portal's own journal: every delivery it answered 200 must reach the inbox.
        while time.time() < drain_deadline and checks.journal_backlog(database.url):
            time.sleep(0.2)
        journal_left = checks.journal_backlog(database.url)
        drained = state["pending"] == 0 and journal_left == 0
        exited = [f"pid {w.pid} exit {w.returncode}" for w in workers if w.poll() is not None]
        from soaklib.load import Attempt

        sandbox_attempts = [Attempt(t, "POST /webhook", s, 0.0, "sandbox") for t, s in state["deliveries"]]

        print("checking the database and the pages ...", flush=True)
        db_result = checks.check_database(database.url, [p["id"] for p in products], customers, state["outbound"],
                                          phone_product, agents)
        page_result = checks.check_pages(agents, database.url, [p["id"] for p in products], random.Random(3))
        attempts = recorder.attempts + sandbox_attempts
        errors = classify(attempts, outage.window, kills)
        outside = sum(n for per in errors.values() for k, n in per.items() if "OUTSIDE" in k)
        webhook_503_outage = sum(n for k, per in errors.items() if k.endswith("/webhook")
                                 for what, n in per.items() if what.startswith("503 during"))
        webhook_other_outage = sum(n for k, per in errors.items() if k.endswith("/webhook")
                                   for what, n in per.items() if "during" in what and not what.startswith("503"))
        by_endpoint = defaultdict(list)
        for a in recorder.attempts:
            if a.status is not None and a.status < 500:
                by_endpoint[a.endpoint].append(a.ms)
        ok_latencies = [a.ms for a in recorder.attempts if a.endpoint == "POST /webhook" and a.status == 200]
        acked = [s for s in customers.sent.values() if s.acked]
        seconds = load_ended - load_started
        full_buckets = int(seconds // 5)  # complete 5-second windows of the load
        buckets = Counter({b: 0 for b in range(full_buckets)})
        buckets.update(int((a.at - load_started) // 5) for a in recorder.attempts
                       if a.endpoint == "POST /webhook" and a.status == 200 and a.at < load_started + 5 * full_buckets)
        figures = {
            "run": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
            "seconds": round(seconds, 1),
            "machine_load_1m_before_after": [round(load_before, 1), round(load_after, 1)],
            "load_generator_cpu_share": round(harness_cpu / seconds, 2), "offered_post_per_s": args.rate,
            "faults": {"kill_worker": args.kill_worker, "stop_postgres": args.stop_postgres,
                       "graph_faults": args.graph_faults}, "fault_events": events,
            "graph_fault_counts": state["faults"],
            "webhook_posts_200": sender.posts_ok, "customer_bodies": customers.bodies, "batches": customers.batches,
            "duplicate_bodies": customers.duplicates, "unacked_bodies": customers.unacked_bodies,
            "status_posts_injected": injector.posts, "sandbox_webhooks": len(sandbox_attempts),
            "messages_per_s": round(len(acked) / seconds, 1),
            "webhook_200_per_s_min_max_5s_window": [round(min(buckets.values(), default=0) / 5, 1), round(max(buckets.values(), default=0) / 5, 1)],
            "webhook_p50_ms": round(percentile(ok_latencies, 0.5), 1),
            "webhook_p99_ms": round(percentile(ok_latencies, 0.99), 1),
            "feed_polls": sum(a.polls for a in agents), "drained": drained, "journal_left": journal_left,
            "work_processes_exited_by_themselves": exited,
            "readyz": dict(Counter(f"{a.status} {'during outage' if outage.window and outage.window[0] <= a.at <= outage.window[1] + OUTAGE_GRACE else 'outside'}"
                                   for a in recorder.attempts if a.endpoint == "GET /readyz")),
            "http_attempts": len(attempts),
            "latency_ms_by_endpoint": {e: {"n": len(v), "p50": round(percentile(v, 0.5), 1), "p99": round(percentile(v, 0.99), 1)}
                                       for e, v in sorted(by_endpoint.items())}, "errors_by_endpoint": errors, "5xx_outside_faults": outside,
            "webhook_503_during_outage": webhook_503_outage, "webhook_other_during_outage": webhook_other_outage,
            "database": db_result, "pages": page_result,
        }
        problems = db_result["problems"] + page_result["problems"]
        if outside:
            problems.append(f"{outside} 5xx or unanswered requests outside the injected faults")
        if webhook_other_outage:
            problems.append(f"/webhook answered {webhook_other_outage} times with something else than 503 during the outage")
        if customers.unacked_bodies:
            problems.append(f"{customers.unacked_bodies} webhook bodies never acknowledged within the run")
        if state["pending"]:
            problems.append("the sandbox still had webhooks queued at the end")
        if journal_left:
            problems.append(f"{journal_left} acknowledged deliveries still in the journal at the end")
        if exited:
            problems.append(f"`flask work` processes stopped by themselves: {', '.join(exited)}")
        figures["verdict"] = "PASS" if not problems else "FAIL"
        figures["problems"] = problems
        print(json.dumps(figures, indent=2, default=str))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, default=str))
        print(f"\nverdict: {figures['verdict']}: {len(acked)} messages acknowledged in {seconds:.0f} s "
              f"({figures['messages_per_s']}/s), {db_result['inbound_missing']} lost, "
              f"{db_result['inbound_doubled']} doubled, {db_result['cross_product']} cross-product, "
              f"{outside} 5xx outside faults; webhook p50 {figures['webhook_p50_ms']} ms p99 {figures['webhook_p99_ms']} ms",
              flush=True)
        for problem in problems:
            print(f"  - {problem}")
        return 0 if not problems else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as interrupted:
        print(f"interrupted ({interrupted}); everything stopped", file=sys.stderr)
        sys.exit(130)
