"""After the load: what the database and the pages hold, compared with what was sent."""
from __future__ import annotations

import os
import random
import re
import sqlite3
import uuid
from collections import Counter, defaultdict
from contextlib import closing

from sqlalchemy import create_engine, text

from portal.config import _database_url
from portal.inbox.queries import CONVERSATIONS_PAGE
from portal.inbox.sending import RETRYABLE_CODES
from portal.webhook.journal_file import path_for

from .load import UUID, Agent, Customers

FINAL_OK = ("sent", "delivered", "read", "played")


def journal_backlog(database_url: str) -> int:
    """Deliveries the portal answered 200 but has not stored yet (the journal table's, and the
    journal file's beside a SQLite database)."""
    engine = create_engine(_database_url(database_url, ""))
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM webhook_deliveries")).scalar()
    engine.dispose()
    journal_file = path_for(database_url)
    if journal_file is not None and os.path.exists(journal_file):
        with closing(sqlite3.connect(journal_file, timeout=30)) as file:
            left += file.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0]
    return left


def check_database(database_url: str, product_ids: list[str], customers: Customers, outbound: dict,
                   phone_product: dict[str, int], agents: list[Agent]) -> dict:
    """Counts, and `problems`: a list of sentences, empty when everything holds."""
    engine = create_engine(_database_url(database_url, ""))
    index_of = {pid: i for i, pid in enumerate(product_ids)}
    problems: list[str] = []
    with engine.connect() as conn:
        inbound = conn.execute(text(
            "SELECT m.product_id, m.wamid, m.phone_number_id, c.product_id, ct.product_id "
            "FROM messages m LEFT JOIN conversations c ON c.id = m.conversation_id "
            "LEFT JOIN contacts ct ON ct.id = c.contact_id WHERE m.direction = 'in'")).all()
        out_rows = conn.execute(text(
            "SELECT m.product_id, m.wamid, m.status, m.error_code, m.error_title, m.text, c.product_id "
            "FROM messages m LEFT JOIN conversations c ON c.id = m.conversation_id WHERE m.direction = 'out'")).all()
        pending_statuses = conn.execute(text("SELECT count(*) FROM pending_statuses")).scalar()
        unrouted = conn.execute(text("SELECT count(*) FROM unrouted_changes")).scalar()
        rejected = conn.execute(text("SELECT count(*) FROM rejected_webhooks")).scalar()
        conversation_products = conn.execute(text(
            "SELECT count(*) FROM conversations c JOIN contacts ct ON ct.id = c.contact_id "
            "WHERE ct.product_id <> c.product_id")).scalar()
        conversation_numbers = conn.execute(text(
            "SELECT c.product_id, c.phone_number_id FROM conversations c")).all()
    engine.dispose()

    # ---- inbound: every distinct message once, in its product
    by_wamid = defaultdict(list)
    for row in inbound:
        by_wamid[row[1]].append(row)
    acked = {w: s for w, s in customers.sent.items() if s.acked}
    missing = [w for w in acked if w not in by_wamid]
    doubled = [w for w, rows in by_wamid.items() if len(rows) > 1]
    cross = [w for w, rows in by_wamid.items() for r in rows
             if w in customers.sent and (index_of.get(str(r[0])) != customers.sent[w].product
                                         or str(r[3]) != str(r[0]) or str(r[4]) != str(r[0])
                                         or r[2] != customers.sent[w].phone_id)]
    unknown = [w for w in by_wamid if w not in customers.sent]
    stored_unacked = [w for w, s in customers.sent.items() if not s.acked and w in by_wamid]
    cross += [f"conversation of {n}" for p, n in conversation_numbers if phone_product.get(n) != index_of.get(str(p))]
    for label, items in (("acknowledged inbound messages missing", missing), ("inbound messages stored twice", doubled),
                         ("cross-product rows", cross), ("inbound rows nobody sent", unknown)):
        if items:
            problems.append(f"{len(items)} {label} (e.g. {items[:3]})")
    if conversation_products:
        problems.append(f"{conversation_products} conversations whose contact is another product's")

    # ---- outbound: what Meta accepted is known once, at its latest status; nothing silently lost
    out_by_wamid = defaultdict(list)
    for row in out_rows:
        if row[1]:
            out_by_wamid[row[1]].append(row)
    accepted_unknown = [w for w in outbound if w not in out_by_wamid]
    out_doubled = [w for w, rows in out_by_wamid.items() if len(rows) > 1]
    wrong_status = [(w, rows[0][2], outbound[w]["status"]) for w, rows in out_by_wamid.items()
                    if w in outbound and rows[0][2] != outbound[w]["status"]]
    out_unknown = [w for w in out_by_wamid if w not in outbound]
    out_cross = [w for w, rows in out_by_wamid.items() if w in outbound
                 and (index_of.get(str(rows[0][0])) != phone_product.get(outbound[w]["phone_id"]) or str(rows[0][6]) != str(rows[0][0]))]
    states = Counter()
    for row in out_rows:
        if row[1] and row[2] in FINAL_OK:
            states["accepted by Meta"] += 1
        elif row[2] == "failed" and row[1] is None and row[3] in RETRYABLE_CODES:
            states["failed, retryable"] += 1
        elif row[2] == "failed" and row[4]:
            states[f"failed, final (code {row[3]})"] += 1
        elif row[2] == "pending" and row[1] is None:
            states["pending (retryable after 2 min)"] += 1
        else:
            states[f"other: {row[2]} wamid={'yes' if row[1] else 'no'}"] += 1
    texts = Counter(row[5] for row in out_rows)
    replies = [r for a in agents for r in a.replies]
    answered_lost = [r.text for r in replies if r.status == 200 and texts[r.text] == 0]
    unanswered_absent = [r.text for r in replies if r.status != 200 and texts[r.text] == 0]
    replies_doubled = [t for t, n in texts.items() if n > 1]
    for label, items in (("replies Meta accepted that the portal does not know", accepted_unknown),
                         ("outbound messages stored twice", out_doubled),
                         ("outbound statuses not at their latest state (wamid, portal, Meta)", wrong_status),
                         ("outbound rows with a wamid Meta never issued", out_unknown),
                         ("outbound cross-product rows", out_cross),
                         ("replies answered 200 but not stored", answered_lost),
                         ("replies stored twice", replies_doubled)):
        if items:
            problems.append(f"{len(items)} {label} (e.g. {items[:3]})")
    other = {k: v for k, v in states.items() if k.startswith("other")}
    if other:
        problems.append(f"outbound messages in no clear state: {other}")
    if unrouted or rejected:
        problems.append(f"{unrouted} unrouted changes and {rejected} rejected webhooks (expected none)")

    return {
        "inbound_sent": len(customers.sent), "inbound_acked": len(acked), "inbound_stored": len(by_wamid),
        "inbound_missing": len(missing), "inbound_doubled": len(doubled), "cross_product": len(cross) + len(out_cross)
        + conversation_products, "stored_though_unacked": len(stored_unacked),
        "replies_posted": len(replies), "replies_answered_200": sum(r.status == 200 for r in replies),
        "replies_no_answer_or_5xx": sum(r.status is None or r.status >= 500 for r in replies),
        "replies_no_answer_not_stored": len(unanswered_absent), "retries_pressed": sum(r.retries for r in replies),
        "outbound_states": dict(states), "meta_accepted": len(outbound),
        "meta_final_statuses": dict(Counter(o["status"] for o in outbound.values())),
        "status_mismatches": len(wrong_status), "pending_statuses_left": pending_statuses,
        "problems": problems,
    }


def check_pages(agents: list[Agent], database_url: str, product_ids: list[str], rng: random.Random) -> dict:
    """What members see: each product's conversation list and a few threads, and every feed item
    an agent was shown, against the database (right product, nothing twice)."""
    engine = create_engine(_database_url(database_url, ""))
    problems: list[str] = []
    pages = 0
    with engine.connect() as conn:
        message_product = {str(m): str(p) for m, p in conn.execute(text("SELECT id, product_id FROM messages")).all()}
        conversations = defaultdict(set)
        for c, p in conn.execute(text("SELECT id, product_id FROM conversations")).all():
            conversations[str(p)].add(str(c))
        latest = {}  # what the conversations page must show: the most recent CONVERSATIONS_PAGE
        for pid in product_ids:
            latest[pid] = {str(c) for (c,) in conn.execute(text(
                "SELECT id FROM conversations WHERE product_id = :p "
                "ORDER BY last_message_at DESC NULLS LAST, id DESC LIMIT :n"), {"p": uuid.UUID(pid), "n": CONVERSATIONS_PAGE})}
        message_conversation = {str(m): str(c) for m, c in conn.execute(text("SELECT id, conversation_id FROM messages")).all()}
    engine.dispose()
    feed_shown = feed_twice = 0
    for agent in agents:
        pid = agent.pid
        listing = agent.session.get(f"{agent.base}/p/{pid}/conversations", timeout=30)
        pages += 1
        shown = set(re.findall(r'href="/p/' + pid + r'/conversations/(' + UUID + r')"', listing.text))
        if listing.status_code != 200 or shown != latest[pid]:
            problems.append(f"product {agent.product}: conversations page shows {len(shown)} conversations, not the "
                            f"{len(latest[pid])} latest of its {len(conversations[pid])} (HTTP {listing.status_code})")
        for conversation in rng.sample(sorted(conversations[pid]), min(3, len(conversations[pid]))):
            page = agent.session.get(f"{agent.base}/p/{pid}/conversations/{conversation}", timeout=30)
            pages += 1
            ids = re.findall(r'id="msg-(' + UUID + r')"', page.text)
            if page.status_code != 200 or len(ids) != len(set(ids)) or any(
                    message_conversation.get(i) != conversation for i in ids):
                problems.append(f"product {agent.product}: thread {conversation} shows foreign or repeated messages")
        counts = Counter(agent.feed_items)
        feed_shown += len(counts)
        feed_twice += sum(1 for n in counts.values() if n > 1)
        foreign = [i for i in counts if message_product.get(i) != pid]
        if foreign:
            problems.append(f"product {agent.product}: the live feed showed {len(foreign)} messages of other products")
    if feed_twice:
        problems.append(f"{feed_twice} feed items shown twice to the same agent")
    return {"pages_checked": pages, "feed_items_shown": feed_shown, "feed_items_twice": feed_twice, "problems": problems}
