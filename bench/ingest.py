"""Ingest benchmark (not a test): `store_changes` in-process on combined batches, per message.

    .venv/bin/python bench/ingest.py              # about a minute; --only sqlite|postgresql

What a journal drainer does: the changes of many bodies stored in one transaction, then
a commit. Shapes: bodies x messages per body (1x100, 20x100, 500x1), from senders the
database already knows (2,000 customers on 4 numbers of 2 products) or new ones.
Each figure is the median over rounds of microseconds per message, commit included, and its
ratio to the floor measured right after it on the same rows: the driver's own `executemany` of those
message rows into a scratch table with the messages table's indexes, then a commit.
Times are only compared within one run (the machine is shared).
Creates a SQLite file in a temporary directory and a fresh PostgreSQL database
(webhook.py's `BENCH_POSTGRES_URL` server), dropped at the end.
"""
from __future__ import annotations

import argparse
import gc
import itertools
import json
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import Column, Index, MetaData, Table, UniqueConstraint

import webhook as wb  # bench/webhook.py: databases, numbers, customers (puts the repo on sys.path)

SHAPES = [(1, 100), (20, 100), (500, 1)]  # (bodies, messages per body)
ROUNDS = 6  # rounds of about 2,000 messages per shape (more for 1x100)
_serial = itertools.count()


def document(number: str, senders: list[str], now: int) -> dict:
    """One body as Meta sends it: `len(senders)` text messages to `number`."""
    messages = [{"from": s, "id": f"wamid.ingest.{next(_serial)}", "timestamp": str(now), "type": "text",
                 "text": {"body": f"Hola, quiero saber el estado de mi pedido {i}"}} for i, s in enumerate(senders)]
    contacts = [{"profile": {"name": f"Customer {s[-4:]}"}, "wa_id": s, "user_id": f"US.{s}"} for s in dict.fromkeys(senders)]
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": number},
        "contacts": contacts, "messages": messages}}]}]}


def batch(bodies: int, per_body: int, known: bool, rng) -> list:
    """The changes of `bodies` bodies, spread over the 4 numbers."""
    from portal.meta import payloads

    numbers, now = list(wb.NUMBERS), int(time.time())
    changes = []
    for body in range(bodies):
        senders = [rng.choice(wb.CUSTOMERS) if known else f"5919{next(_serial):08d}" for _ in range(per_body)]
        changes += payloads.iter_changes(document(numbers[body % 4], senders, now))
    return changes


def floor_table(messages: Table) -> Table:
    """A copy of the messages table without foreign keys or defaults (columns the floor leaves out
    stay empty): same columns, same unique key and indexes."""
    table = Table("floor_messages", MetaData(), *[Column(c.name, c.type, primary_key=c.primary_key, nullable=True)
                                                  for c in messages.columns])
    UniqueConstraint(table.c.product_id, table.c.wamid)
    Index("ix_floor_product", table.c.product_id)
    Index("ix_floor_product_created", table.c.product_id, table.c.created_at, table.c.id)
    Index("ix_floor_conversation_created", table.c.conversation_id, table.c.created_at)
    return table


def floor(conn, table: Table, changes: list, products: dict) -> float:
    """Seconds to insert the batch's message rows with the driver's executemany, and commit."""
    from portal.meta import payloads
    from portal.models.base import utcnow

    sqlite = conn.dialect.name == "sqlite"
    ident = (lambda u: u.hex) if sqlite else (lambda u: u)
    now = utcnow()
    at = (lambda t: t.isoformat(" ")) if sqlite else (lambda t: t)
    rows = []
    for change in changes:
        product = ident(products[change.phone_number_id])
        for message in change.value["messages"]:
            r = payloads.message_columns(message)
            rows.append((ident(uuid.uuid4()), product, None, change.phone_number_id, message["from"], r["wamid"], "in",
                         r["type"], at(r["sent_at"]), at(now), r["text"], False, json.dumps(message)))
    marks = ", ".join(["?" if sqlite else "%s"] * 13)
    sql = (f"INSERT INTO {table.name} (id, product_id, conversation_id, phone_number_id, contact_wa_id, wamid, direction, "
           f"type, sent_at, created_at, text, forwarded, raw) VALUES ({marks}) ON CONFLICT (product_id, wamid) DO NOTHING")
    driver = conn.connection.driver_connection
    start = time.perf_counter()
    cursor = driver.cursor()
    cursor.executemany(sql, rows)
    cursor.close()
    driver.commit()
    return time.perf_counter() - start


def measure(url: str) -> list[tuple]:
    """[(shape, senders, us per message, floor us per message)] on the database at `url`."""
    import random

    env = wb.portal_env(url)
    with tempfile.TemporaryDirectory() as scratch:
        wb.prepare_portal_database(env, Path(scratch) / "upgrade.log")
    from portal import create_app
    from portal.extensions import db
    from portal.models import Message, WhatsAppAccount
    from portal.webhook.ingest import store_changes

    app = create_app(env)
    gc.freeze()  # as `flask work` does (portal/jobs.py run_worker) before it drains
    rng = random.Random(7)
    results = []
    with app.app_context():
        table = floor_table(Message.__table__)
        table.create(db.engine)
        products = {a.phone_number_id: a.product_id for a in db.session.query(WhatsAppAccount)}
        for start in range(0, len(wb.CUSTOMERS), 100):  # every customer known on every number
            for number in wb.NUMBERS:
                from portal.meta import payloads
                store_changes(list(payloads.iter_changes(document(number, wb.CUSTOMERS[start:start + 100], 0))))
        db.session.commit()
        for (bodies, per_body), known in itertools.product(SHAPES, (True, False)):
            spent, spent_floor = [], []
            for _ in range(ROUNDS * max(1, 2000 // (bodies * per_body))):
                changes = batch(bodies, per_body, known, rng)
                start = time.perf_counter()
                store_changes(changes)
                db.session.commit()
                spent.append((time.perf_counter() - start) / (bodies * per_body))
                spent_floor.append(floor(db.session.connection(), table, changes, products) / (bodies * per_body))
                db.session.commit()
            # Medians: the other processes of a shared machine make single rounds jump.
            results.append((f"{bodies}x{per_body}", "known" if known else "new",
                            statistics.median(spent) * 1e6, statistics.median(spent_floor) * 1e6))
        db.session.remove()
        db.engine.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    print(f"{'database':<11} {'batch':<8} {'senders':<8} {'us/msg':>8} {'floor':>7} {'ratio':>6}")
    for name in ("sqlite", "postgresql"):
        if args.only and args.only != name:
            continue
        with ExitStack() as stack:
            url = f"sqlite:///{stack.enter_context(tempfile.TemporaryDirectory())}/ingest.db" if name == "sqlite" \
                else wb.create_postgres_database(stack)
            for shape, senders, us, floor_us in measure(url):
                print(f"{name:<11} {shape:<8} {senders:<8} {us:8.1f} {floor_us:7.1f} {us / floor_us:6.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
