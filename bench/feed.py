"""Benchmark of the inbox feed (not a test): does a poll stay cheap as the messages table grows?

Seeds 1,000 products and first 10,000 then 1,000,000 messages (Core bulk inserts;
COPY on PostgreSQL), and after each size measures, for one product, server-side
time of:
  - a feed poll with nothing new        GET /p/<id>/feed?after=<cursor>  (204)
  - a feed poll with 10 new messages    GET /p/<id>/feed?after=<cursor>  (200)
  - the first feed render               GET /p/<id>/feed
  - a conversation page                 GET /p/<id>/conversations/<id>
  - the inbox list, and searches         GET /p/<id>/conversations?status=all&q=...
relative to trivial routes of the same app measured in the same run: a bare one
(/bench/trivial) and a product page that only says "ok" (same login and tenancy
work as every product page). Time is the full WSGI call through Flask's test
client (routing, session, login, tenancy, query, template), median of N calls.

Usage:  .venv/bin/python bench/feed.py [--db sqlite|postgresql|both] [--messages 1000000] [--calls 300]
PostgreSQL: a database of its own is created on --pg-url and dropped at the end.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet  # noqa: E402
from flask_login import login_required  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Contact, Conversation, Membership, Message, Product, User, WhatsAppAccount  # noqa: E402
from portal.tenancy import product_blueprint  # noqa: E402

PRODUCTS = 1000
CONVERSATIONS_PER_PRODUCT = 10
PASSWORD = "bench-password-1"
HX = {"HX-Request": "true"}
NOW = datetime.utcnow().replace(microsecond=0)
SPAN = timedelta(days=30)  # seeded traffic spreads over the last 30 days, all products interleaved


# ---- databases ----------------------------------------------------------------------------

class Database:
    def __init__(self, kind: str, pg_url: str):
        self.kind = kind
        if kind == "sqlite":
            self.dir = tempfile.TemporaryDirectory(prefix="maestra-bench-")
            self.url = "sqlite:///" + str(Path(self.dir.name) / "bench.db")
        else:
            base = make_url(pg_url).set(drivername="postgresql+psycopg")
            self.name = f"maestra_bench_{uuid.uuid4().hex[:10]}"
            self.admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            self.url = base.set(database=self.name).render_as_string(hide_password=False)

    def drop(self):
        if self.kind == "sqlite":
            self.dir.cleanup()
        else:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.admin.dispose()


def make_app(url: str):
    app = create_app({
        "PORTAL_ENV": "test", "DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "LOG_LEVEL": "WARNING",
    })
    trivial = product_blueprint("bench_trivial", __name__)
    trivial.add_url_rule("/bench/trivial", "ok", lambda: "ok")
    app.register_blueprint(trivial)
    app.add_url_rule("/bench/trivial", "bench_bare", lambda: "ok")
    app.add_url_rule("/bench/trivial-login", "bench_login", login_required(lambda: "ok"))
    return app


# ---- seeding ------------------------------------------------------------------------------

class Seed:
    """Products, their numbers, contacts and conversations; then messages in bulk.

    Traffic is interleaved in TIME (every product's messages spread over the same
    30 days); rows are only INSERTED product by product, with ascending ids, so
    the indexes grow mostly in order and a million rows take tens of seconds,
    not many minutes. Query plans do not depend on the insertion order.
    """

    def __init__(self):
        self.products = sorted(uuid.uuid4() for _ in range(PRODUCTS))
        self.numbers = {p: f"1{i:09d}" for i, p in enumerate(self.products)}
        conversation_ids = iter(sorted(uuid.uuid4() for _ in range(PRODUCTS * CONVERSATIONS_PER_PRODUCT)))
        # product -> [(conversation id, wa_id)]
        self.conversations: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {
            p: [(next(conversation_ids), f"5917{i * CONVERSATIONS_PER_PRODUCT + c:07d}") for c in range(CONVERSATIONS_PER_PRODUCT)]
            for i, p in enumerate(self.products)
        }
        self.seeded = 0
        self._serial = 0

    def next_id(self) -> uuid.UUID:
        """Ascending UUIDs (a counter, then random bits): appended at the end of the primary key."""
        self._serial += 1
        return uuid.UUID(int=(self._serial << 64) | random.getrandbits(64))

    def base(self):
        user = User(email="bench@example.com")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.flush()
        db.session.execute(insert(Product), [{"id": p, "name": f"Product {i}", "created_at": NOW} for i, p in enumerate(self.products)])
        db.session.add(Membership(product_id=self.products[0], user_id=user.id, role="owner"))
        db.session.add_all(WhatsAppAccount(product_id=p, phone_number_id=self.numbers[p], business_account_id=f"2{i:09d}",
                                           access_token="EAAG-bench") for i, p in enumerate(self.products))
        contacts, conversations = [], []
        for p in self.products:
            for c, (conversation_id, wa_id) in enumerate(self.conversations[p]):
                contact_id = uuid.uuid4()
                contacts.append({"id": contact_id, "product_id": p, "wa_id": wa_id, "profile_name": f"Customer {c}",
                                 "created_at": NOW, "updated_at": NOW})
                conversations.append({"id": conversation_id, "product_id": p, "phone_number_id": self.numbers[p],
                                      "contact_id": contact_id, "last_message_at": NOW, "last_inbound_at": NOW,
                                      "last_message_preview": "hello", "unread_count": 0, "created_at": NOW})
        db.session.execute(insert(Contact), contacts)
        db.session.execute(insert(Conversation), conversations)
        db.session.commit()
        # The measured conversation holds more than a page at every table size, so every run renders the same work.
        product = self.products[0]
        conversation, wa_id = self.conversations[product][0]
        _bulk_insert_messages([
            self.row(product, conversation, wa_id, NOW - SPAN + i * (SPAN / 60), f"C{i}", i) for i in range(60)])

    def row(self, product, conversation, wa_id, at, wamid, i) -> dict:
        return {"id": self.next_id(), "product_id": product, "conversation_id": conversation,
                "phone_number_id": self.numbers[product], "contact_wa_id": wa_id, "wamid": f"wamid.{wamid}",
                "direction": "in" if i % 3 else "out", "type": "text", "text": f"Seeded message {wamid}",
                "created_at": at, "sent_at": at, "forwarded": False, "status": None if i % 3 else "read"}

    def messages(self, total: int) -> float:
        """Grow the messages table to `total` rows (spread evenly over the products); returns seconds spent."""
        started = time.perf_counter()
        rng = random.Random(total)
        needed = total - self.seeded
        span_us = int(SPAN.total_seconds() * 1e6)
        rows: list[dict] = []
        for index, product in enumerate(self.products):
            count = needed // PRODUCTS + (1 if index < needed % PRODUCTS else 0)
            conversations = self.conversations[product]
            for i, offset in enumerate(sorted(rng.randrange(span_us) for _ in range(count))):
                conversation, wa_id = conversations[rng.randrange(len(conversations))]
                rows.append(self.row(product, conversation, wa_id, NOW - SPAN + timedelta(microseconds=offset),
                                     f"B{self.seeded + len(rows)}", i))
            if len(rows) >= 50_000:
                _bulk_insert_messages(rows)
                self.seeded += len(rows)
                rows = []
        if rows:
            _bulk_insert_messages(rows)
            self.seeded += len(rows)
        return time.perf_counter() - started


MESSAGE_COLUMNS = ["id", "product_id", "conversation_id", "phone_number_id", "contact_wa_id", "wamid", "direction",
                   "type", "text", "created_at", "sent_at", "forwarded", "status"]


def _bulk_insert_messages(rows: list[dict]) -> None:
    if db.engine.dialect.name == "postgresql":
        # COPY is the fast path on PostgreSQL (Core executemany would take minutes for 1M rows).
        raw = db.engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY messages ({', '.join(MESSAGE_COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([row[c] for c in MESSAGE_COLUMNS])
            raw.commit()
        finally:
            raw.close()
    else:
        # Plain sqlite3 executemany with values in SQLAlchemy's storage formats (hex UUIDs, datetimes with
        # microseconds): several times faster than going through the Core type processors.
        raw = db.engine.raw_connection()
        try:
            raw.execute("PRAGMA cache_size=-262144")  # 256 MB while seeding: index pages stay in memory
            raw.cursor().executemany(
                f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)}) VALUES ({', '.join('?' * len(MESSAGE_COLUMNS))})",
                [[_sqlite_value(row[c]) for c in MESSAGE_COLUMNS] for row in rows],
            )
            raw.commit()
        finally:
            raw.close()


def _sqlite_value(value):
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def add_new_messages(product_id, count: int) -> None:
    """What arrives between two polls: `count` messages stamped now for the measured product."""
    conversation, wa_id = SEED.conversations[product_id][0]
    now = datetime.utcnow()
    with db.engine.begin() as conn:
        conn.execute(insert(Message.__table__), [
            {"id": uuid.uuid4(), "product_id": product_id, "conversation_id": conversation,
             "phone_number_id": SEED.numbers[product_id],
             "contact_wa_id": wa_id, "wamid": f"wamid.N{uuid.uuid4().hex}", "direction": "in", "type": "text",
             "text": f"New {i}", "created_at": now + timedelta(microseconds=i), "sent_at": now, "forwarded": False}
            for i in range(count)])


# ---- measuring ----------------------------------------------------------------------------

def medians_ms(client, routes: dict[str, tuple], calls: int) -> dict[str, tuple[float, float, float]]:
    """Per route: best wall ms, median wall ms, median CPU ms of this process (the request's own work:
    wall time on a shared machine also counts waiting for a CPU). Interleaved rounds, so drift hits
    every route alike."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in routes}
    warmup = max(10, calls // 10)
    for round_ in range(calls + warmup):
        for name, (url, expect, headers) in routes.items():
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.get(url, headers=headers)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert response.status_code == expect, (url, response.status_code)
            if round_ >= warmup:
                samples[name].append((wall, cpu))
    return {
        name: (min(w for w, _ in values) * 1000, statistics.median(w for w, _ in values) * 1000,
               statistics.median(c for _, c in values) * 1000)
        for name, values in samples.items()
    }


def poll_query_ms(app, calls: int = 200) -> float:
    """The poll's query alone, in the database (best of N): what the index makes independent of table size."""
    product = SEED.products[0]
    floor = datetime.utcnow() - timedelta(seconds=5)
    with app.app_context():
        conn = db.session.connection()
        params = {"p": product.hex if conn.dialect.name == "sqlite" else product, "t": floor}
        sql = text("SELECT * FROM messages WHERE product_id = :p AND created_at >= :t "
                   "ORDER BY created_at DESC, id DESC LIMIT 60")
        best = float("inf")
        for _ in range(calls):
            started = time.perf_counter()
            conn.execute(sql, params).all()
            best = min(best, time.perf_counter() - started)
        db.session.rollback()
    return best * 1000


def measure(app, calls: int) -> dict[str, float]:
    product = SEED.products[0]
    client = app.test_client()
    response = client.post("/login", data={"email": "bench@example.com", "password": PASSWORD})
    assert response.status_code == 302, "bench login failed"
    feed = f"/p/{product}/feed"
    page = client.get(feed, headers=HX).get_data(as_text=True)
    cursor = page.split("after=", 1)[1].split('"', 1)[0].split("&", 1)[0]
    conversation = SEED.conversations[product][0][0]
    trivial = {
        "trivial route (bare)": ("/bench/trivial", 200, None),
        "trivial logged-in route": ("/bench/trivial-login", 200, None),
        "trivial product page": (f"/p/{product}/bench/trivial", 200, None),
    }
    figures = medians_ms(client, {**trivial, "feed poll, nothing new": (f"{feed}?after={cursor}", 204, HX)}, calls)
    with app.app_context():
        add_new_messages(product, 10)
    # The same cursor again and again: each poll finds the same 10 new messages.
    figures.update(medians_ms(client, {
        **trivial,
        "feed poll, 10 new": (f"{feed}?after={cursor}", 200, HX),
        "feed first render (50)": (feed, 200, HX),
        "conversation page": (f"/p/{product}/conversations/{conversation}", 200, None),
    }, calls // 2))
    # Search (issue 17): the inbox list with ?q=, over message text (FTS5 / GIN) and contact name or number.
    # "seeded" is in every message of every product (the worst case: the index answers all of them);
    # "C17" is in one message; "Customer 3" is a contact name.
    inbox = f"/p/{product}/conversations?status=all&q="
    figures.update(medians_ms(client, {
        **trivial,
        "inbox list, no search": (f"/p/{product}/conversations?status=all", 200, None),
        "search, one message": (inbox + "C17", 200, None),
        "search, every message": (inbox + "seeded", 200, None),
        "search, contact name": (inbox + "Customer%203", 200, None),
    }, max(calls // 6, 10)))
    return figures


def query_plan(app) -> str:
    product = SEED.products[0]
    with app.app_context():
        conn = db.session.connection()
        if conn.dialect.name == "sqlite":
            rows = conn.execute(text(
                "EXPLAIN QUERY PLAN SELECT * FROM messages WHERE product_id = :p AND created_at >= :t "
                "ORDER BY created_at DESC, id DESC LIMIT 60"), {"p": product.hex, "t": NOW}).all()
            return "; ".join(str(r[-1]) for r in rows)
        rows = conn.execute(text(
            "EXPLAIN SELECT * FROM messages WHERE product_id = :p AND created_at >= :t "
            "ORDER BY created_at DESC, id DESC LIMIT 60"), {"p": product, "t": NOW}).all()
        return " / ".join(r[0].strip() for r in rows)


SEED: Seed


def run(kind: str, pg_url: str, sizes: list[int], calls: int) -> list[dict]:
    global SEED
    database = Database(kind, pg_url)
    results = []
    try:
        app = make_app(database.url)
        with app.app_context():
            db.create_all()
            SEED = Seed()
            SEED.base()
        for size in sizes:
            with app.app_context():
                seconds = SEED.messages(size)
                if kind == "postgresql":
                    db.session.execute(text("ANALYZE"))
                    db.session.commit()
            print(f"[{kind}] {size:,} messages seeded in {seconds:.1f} s", flush=True)
            # Measured with no app context pushed, so each request gets its own, as in production.
            figures = measure(app, calls)
            results.append({"db": kind, "messages": size, "figures": figures, "plan": query_plan(app),
                            "query_ms": poll_query_ms(app)})
            _print(results[-1])
        with app.app_context():
            db.engine.dispose()
    finally:
        database.drop()
    return results


def _print(result: dict) -> None:
    figures = result["figures"]
    base = figures["trivial product page"][2]
    print(f"  plan: {result['plan']}")
    print(f"  poll query alone, in the database: best {result['query_ms']:.3f} ms")
    for name, (best, median, cpu) in figures.items():
        print(f"  {name:28s} wall best {best:7.3f} median {median:7.3f} ms | CPU median {cpu:7.3f} ms"
              f"  x{cpu / base:5.2f} of the trivial product page, x{cpu / figures['trivial route (bare)'][2]:5.2f} bare,"
              f" x{cpu / figures['trivial logged-in route'][2]:5.2f} logged-in")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started = time.perf_counter()
    all_results = []
    for kind in kinds:
        all_results += run(kind, args.pg_url, [args.small, args.messages], args.calls)
    print("\nSummary (median CPU ms of the request; 'norm' = relative to the trivial product page of the same run)")
    for kind in kinds:
        small, large = [r for r in all_results if r["db"] == kind]
        sf, lf = small["figures"], large["figures"]
        for name in ("feed poll, nothing new", "feed poll, 10 new", "feed first render (50)", "conversation page"):
            s_norm = sf[name][2] / sf["trivial product page"][2]
            l_norm = lf[name][2] / lf["trivial product page"][2]
            print(f"  {kind:10s} {name:24s} {small['messages']:>9,}: {sf[name][2]:7.3f} (norm {s_norm:4.2f})"
                  f"  {large['messages']:>9,}: {lf[name][2]:7.3f} (norm {l_norm:4.2f})  large/small of norms {l_norm / s_norm:4.2f}"
                  f"  | at {large['messages']:,} vs logged-in route {lf[name][2] / lf['trivial logged-in route'][2]:4.2f}"
                  f", vs bare route {lf[name][2] / lf['trivial route (bare)'][2]:4.2f}")
        print(f"  {kind:10s} poll query alone (best)  {small['messages']:>9,}: {small['query_ms']:7.3f}"
              f"  {large['messages']:>9,}: {large['query_ms']:7.3f}  large/small {large['query_ms'] / small['query_ms']:4.2f}")
    print(f"total run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
