"""Route every change of a webhook batch to its product and store it exactly once.

Routing: a change belongs to the product whose linked account has its
`value.metadata.phone_number_id`; nothing else decides the product. Account
level fields that carry no phone number (account_update, template updates...)
are routed by the entry id (the WABA id) to the products with numbers in that
WABA. What cannot be routed is kept in unrouted_changes and replayed later.

Exactly once: every write is an INSERT that tolerates the conflict on a unique
key (messages (product_id, wamid), contacts (product_id, wa_id), conversations
(product_id, phone_number_id, contact_id), account_events.event_key,
unrouted_changes.change_key), so a retried or concurrent delivery cannot store
twice, and side effects (unread counters, reactions, account state) follow only
from rows this transaction actually inserted.

Speed: this runs cross-product (no product in scope) on the session's
connection and transaction: one account lookup per batch, then per product
one lookup and one bulk statement per table, no ORM object per message (a
batch may hold the changes of many bodies: thousands of messages). The
statements of the message path are in fastsql.py (plain SQL, see why there).
Every statement names product_id itself, since no product scope filters them.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import any_, bindparam, literal_column, or_, select
from sqlalchemy.dialects import postgresql

from ..extensions import db
from ..meta import payloads
from ..meta.payloads import Change
from ..models import INBOUND, STATUS_RANK, AccountEvent, Contact, Conversation, Message, UnroutedChange, WhatsAppAccount
from ..models.base import utcnow
from . import account_events, statuses
from .fastsql import FastBulkUpdate, FastFind, FastInsert, FastLookup, new_ids, stored_form
from .upsert import insert_ignoring_conflicts

accounts = WhatsAppAccount.__table__
contacts = Contact.__table__
conversations = Conversation.__table__
messages = Message.__table__
events = AccountEvent.__table__
unrouted = UnroutedChange.__table__

LOOKUP_ACCOUNTS = FastLookup(accounts, ["product_id", "phone_number_id", "business_account_id"], "phone_number_id", "business_account_id")
# Contacts and conversations are read first and only the missing ones inserted: most
# messages come from people already known, and a row write costs far more than a read.
# The insert still tolerates the conflict (two workers may both find a contact missing);
# what the insert did not return is read again. Ids stay in the driver's form from one
# statement to the next (`stored`): they are never needed as UUID objects here.
FIND_CONTACTS = FastFind(contacts, ["wa_id"], ["id", "profile_name"], stored=("id", "product_id"))
INSERT_CONTACTS = FastInsert(
    contacts, ["id", "product_id", "wa_id", "profile_name", "created_at", "updated_at"],
    "(product_id, wa_id) DO NOTHING", returning=["id", "wa_id"], stored=("id", "product_id"),
)
RENAME_CONTACTS = FastBulkUpdate(
    contacts, [("id", "id"), ("product_id", "product_id"), ("profile_name", "profile_name"), ("updated_at", "updated_at")],
    "profile_name = v.profile_name, updated_at = v.updated_at", stored=("id", "product_id"),
)
# Separate lookups by the whole unique key (see FastFind), not one join: the join's plan
# went wrong on tables without statistics.
FIND_CONVERSATIONS = FastFind(conversations, ["phone_number_id", "contact_id"], ["id"], stored=("id", "product_id", "contact_id"))
INSERT_CONVERSATIONS = FastInsert(
    conversations, ["id", "product_id", "phone_number_id", "contact_id", "unread_count", "created_at"],
    "(product_id, phone_number_id, contact_id) DO NOTHING", returning=["id", "phone_number_id", "contact_id"],
    stored=("id", "product_id", "contact_id"),
)
MESSAGE_COLUMNS = [
    "id", "product_id", "conversation_id", "phone_number_id", "contact_wa_id", "wamid", "direction", "type",
    "sent_at", "created_at", "text", "media_id", "media_mime_type", "media_filename", "latitude", "longitude",
    "location_name", "location_address", "reply_id", "reply_title", "context_wamid", "forwarded", "raw",
]
INSERT_MESSAGES = FastInsert(messages, MESSAGE_COLUMNS, "(product_id, wamid) DO NOTHING", returning=["product_id", "wamid"],
                             stored=("id", "product_id", "conversation_id"))
# Every SET expression reads the row's old values, so the CASEs compare against the old time.
BUMP_CONVERSATIONS = FastBulkUpdate(
    conversations,
    [("id", "id"), ("product_id", "product_id"), ("n", "unread_count"), ("at", "last_message_at"),
     ("preview", "last_message_preview")],
    "unread_count = conversations.unread_count + v.n, "
    "status = 'open', "  # a customer writing again reopens a pending or resolved conversation
    "last_message_preview = CASE WHEN conversations.last_message_at IS NULL OR conversations.last_message_at <= v.at "
    "THEN v.preview ELSE conversations.last_message_preview END, "
    "last_message_at = CASE WHEN conversations.last_message_at IS NULL OR conversations.last_message_at <= v.at "
    "THEN v.at ELSE conversations.last_message_at END, "
    "last_inbound_at = CASE WHEN conversations.last_inbound_at IS NULL OR conversations.last_inbound_at < v.at "
    "THEN v.at ELSE conversations.last_inbound_at END",
    stored=("id", "product_id"),
)


@dataclass
class Outcome:
    """What one batch did (the figures are for logs and tests)."""

    messages: int = 0  # new messages stored
    duplicates: int = 0  # messages already stored before
    statuses: int = 0  # statuses seen (applied or kept pending)
    events: int = 0  # new account events
    unrouted: int = 0  # changes kept because no product has their number
    unrouted_keys: set[str] = field(default_factory=set)


def ingest(document: dict) -> Outcome:
    """Store one parsed webhook body. The caller commits (and answers 200 only then)."""
    return store_changes(list(payloads.iter_changes(document)))


def store_changes(changes: list[Change]) -> Outcome:
    """Route and store `changes` in the session's transaction."""
    conn = db.session.connection()
    batch = _Batch()
    by_number, by_waba = _routes(conn, changes)
    for change in changes:
        if change.phone_number_id:
            account = by_number.get(change.phone_number_id)
            targets = [account] if account else []
        elif change.field != "messages" and change.waba_id:
            targets = by_waba.get(change.waba_id, [])
        else:
            targets = []
        if not targets:
            batch.keep_unrouted(change)
        for account in targets:
            batch.add(change, account)
    return batch.write(conn)


def _routes(conn, changes: list[Change]):
    """phone_number_id -> account, WABA id -> accounts, for every account the batch names (one query)."""
    numbers = {c.phone_number_id for c in changes if c.phone_number_id}
    wabas = {c.waba_id for c in changes if not c.phone_number_id and c.waba_id and c.field != "messages"}
    by_number: dict[str, dict] = {}
    by_waba: dict[str, list[dict]] = defaultdict(list)
    if not numbers and not wabas:
        return by_number, by_waba
    for product_id, number, waba in LOOKUP_ACCOUNTS.run(conn, sorted(numbers), sorted(wabas)):
        if number in numbers:
            by_number[number] = {"product_id": product_id, "phone_number_id": number}
        if waba in wabas and all(a["product_id"] != product_id for a in by_waba[waba]):
            # A WABA-level event goes once to each product with numbers in that WABA.
            by_waba[waba].append({"product_id": product_id, "phone_number_id": number, "business_account_id": waba})
    return by_number, by_waba


class _Batch:
    """Rows gathered from a batch of changes, written table by table.

    Message rows and contact names are grouped per product (product_id -> wamid / wa_id ->
    ...): a batch holds thousands of them and only a few products, and UUIDs hash slowly."""

    def __init__(self):
        self.contact_names: dict[uuid.UUID, dict[str, str | None]] = defaultdict(dict)  # product -> wa_id -> name
        self.messages: dict[uuid.UUID, dict[str, dict]] = defaultdict(dict)  # product -> wamid -> row
        self.statuses: list[dict] = []
        self.events: dict[str, dict] = {}  # event_key -> row
        self.unrouted: dict[str, dict] = {}  # change_key -> row

    def keep_unrouted(self, change: Change) -> None:
        self.unrouted[change.key] = {
            "id": uuid.uuid4(), "change_key": change.key, "phone_number_id": change.phone_number_id,
            "business_account_id": change.waba_id, "field": change.field, "payload": change.raw,
            "received_at": utcnow(),
        }

    def add(self, change: Change, account: dict) -> None:
        if change.field == "messages" and self._add_messages(change, account):
            return
        self.add_event(change, account)

    def add_event(self, change: Change, account: dict) -> None:
        product_id = account["product_id"]
        key = payloads.canonical_hash([str(product_id), change.key])
        self.events[key] = {
            "id": uuid.uuid4(), "product_id": product_id, "event_key": key,
            "phone_number_id": change.phone_number_id, "business_account_id": change.waba_id,
            "field": change.field, "payload": change.raw, "created_at": utcnow(),
        }

    def _add_messages(self, change: Change, account: dict) -> bool:
        """Gather messages and statuses; False when part of the change is not understood
        (then the whole change is kept as an account event too, so nothing is lost)."""
        value = change.value
        product_id, number = account["product_id"], change.phone_number_id
        understood = set(value) <= payloads.MESSAGE_VALUE_KEYS
        names = payloads.profile_names(value)
        raw_messages = value.get("messages", [])
        raw_statuses = value.get("statuses", [])
        if not isinstance(raw_messages, list) or not isinstance(raw_statuses, list):
            return False
        stored, known_names = self.messages[product_id], self.contact_names[product_id]
        for message in raw_messages:
            row = payloads.message_columns(message) if isinstance(message, dict) else None
            if row is None:
                understood = False
                continue
            wa_id = payloads.sender(message)
            row["phone_number_id"], row["contact_wa_id"], row["direction"] = number, wa_id, INBOUND
            stored.setdefault(row["wamid"], row)
            if wa_id:
                known_names[wa_id] = names.get(wa_id) or known_names.get(wa_id)
        for status in raw_statuses:
            row = payloads.status_columns(status) if isinstance(status, dict) else None
            if row is None or row["status"] not in STATUS_RANK:
                understood = False
                continue
            row["product_id"] = product_id
            self.statuses.append(row)
        return understood

    # Writing, in foreign-key order. Rows are sorted by their unique keys so two
    # workers storing overlapping batches lock rows in the same order (no deadlock).

    def write(self, conn) -> Outcome:
        outcome = Outcome()
        if any(self.messages.values()):
            self._write_messages(conn, outcome)
        if self.statuses:
            outcome.statuses = len(self.statuses)
            statuses.apply(conn, self.statuses)
        if self.events:
            inserted = insert_ignoring_conflicts(
                conn, events, sorted(self.events.values(), key=lambda r: r["event_key"]), ["event_key"],
                returning=events.c.event_key,
            )
            outcome.events = len(inserted)
            account_events.apply_side_effects([self.events[key] for (key,) in inserted])
        if self.unrouted:
            insert_ignoring_conflicts(conn, unrouted, sorted(self.unrouted.values(), key=lambda r: r["change_key"]), ["change_key"])
            outcome.unrouted = len(self.unrouted)
            outcome.unrouted_keys = set(self.unrouted)
        return outcome

    def _write_messages(self, conn, outcome: Outcome) -> None:
        dialect = conn.dialect
        # product -> its id as the driver stores it; sorting those sorts as the UUIDs do.
        products = {product_id: stored_form(dialect, messages.c.product_id, product_id)
                    for product_id, rows in self.messages.items() if rows}
        rows = []
        for product_id in sorted(products):
            contact_ids = self._upsert_contacts(conn, products[product_id], self.contact_names[product_id])
            conversation_ids = self._upsert_conversations(conn, products[product_id], self.messages[product_id], contact_ids)
            by_wamid = self.messages[product_id]
            for wamid in sorted(by_wamid):
                row = by_wamid[wamid]
                row["product_id"] = products[product_id]
                row["conversation_id"] = conversation_ids.get((row["phone_number_id"], row["contact_wa_id"]))
                rows.append(row)
        now = utcnow()
        for row, new_id in zip(rows, new_ids(dialect, len(rows))):
            row["id"] = new_id
            row["created_at"] = now
        inserted = set(INSERT_MESSAGES.run(conn, rows))
        outcome.messages = len(inserted)
        outcome.duplicates = len(rows) - len(inserted)
        new_rows = [row for row in rows if (row["product_id"], row["wamid"]) in inserted]
        if new_rows:
            product_of = {stored: product_id for product_id, stored in products.items()}
            _apply_reactions(conn, [r for r in new_rows if r["type"] == "reaction"], product_of)
            _apply_earlier_reactions(conn, [r for r in new_rows if r["type"] != "reaction" and r["direction"] == INBOUND], product_of)
            _bump_conversations(conn, [r for r in new_rows if r["type"] != "reaction" and r["conversation_id"]])

    @staticmethod
    def _upsert_contacts(conn, product_id, names: dict[str, str | None]) -> dict[str, object]:
        """wa_id -> contact id (stored form) for one product's senders, creating the missing
        contacts and renaming changed ones."""
        wanted = sorted(names)
        known = {w: (cid, stored) for w, cid, stored in FIND_CONTACTS.run(conn, product_id, [(w,) for w in wanted])}
        missing = [wa_id for wa_id in wanted if wa_id not in known]
        now = utcnow()
        if missing:
            rows = [{"id": cid, "product_id": product_id, "wa_id": wa_id, "profile_name": names[wa_id],
                     "created_at": now, "updated_at": now} for wa_id, cid in zip(missing, new_ids(conn.dialect, len(missing)))]
            created = {wa_id: cid for cid, wa_id in INSERT_CONTACTS.run(conn, rows)}
            raced = [wa_id for wa_id in missing if wa_id not in created]
            if raced:  # another worker created them meanwhile
                known.update({w: (cid, stored) for w, cid, stored in FIND_CONTACTS.run(conn, product_id, [(w,) for w in raced])})
            known.update({wa_id: (cid, names[wa_id]) for wa_id, cid in created.items()})
        # A name Meta did not send this time does not erase the one we know.
        renamed = [{"id": known[w][0], "product_id": product_id, "profile_name": names[w], "updated_at": now}
                   for w in wanted if names[w] and names[w] != known[w][1]]
        if renamed:
            RENAME_CONTACTS.run(conn, renamed)
        return {wa_id: known[wa_id][0] for wa_id in wanted}

    @staticmethod
    def _upsert_conversations(conn, product_id, rows: dict[str, dict], contact_ids: dict) -> dict[tuple, object]:
        """(phone_number_id, wa_id) -> conversation id (stored form) for one product's messages,
        creating the missing ones."""
        by_contact = {(row["phone_number_id"], contact_ids[row["contact_wa_id"]]): row["contact_wa_id"]
                      for row in rows.values() if row["contact_wa_id"]}
        if not by_contact:
            return {}

        def find(keys) -> dict:
            return {(number, cid): conversation_id for number, cid, conversation_id in FIND_CONVERSATIONS.run(conn, product_id, keys)}

        known = find(sorted(by_contact))
        missing = sorted(key for key in by_contact if key not in known)
        if missing:
            now = utcnow()
            rows = [{"id": conversation_id, "product_id": product_id, "phone_number_id": number, "contact_id": cid,
                     "unread_count": 0, "created_at": now}
                    for (number, cid), conversation_id in zip(missing, new_ids(conn.dialect, len(missing)))]
            created = {(number, cid): conversation_id for conversation_id, number, cid in INSERT_CONVERSATIONS.run(conn, rows)}
            if len(created) < len(missing):  # another worker created some meanwhile
                known.update(find([key for key in missing if key not in created]))
            known.update(created)
        return {(number, wa_id): known[(number, cid)] for (number, cid), wa_id in by_contact.items()}


# A reaction replaces the one a message shows only if it was made at the same time or later:
# a reaction and its removal may be stored in either order (Meta reorders; drains run side by side).
_SET_REACTION = (
    messages.update()
    .where(messages.c.product_id == bindparam("p_product"), messages.c.wamid == bindparam("p_target"),
           or_(messages.c.reaction_at.is_(None), messages.c.reaction_at <= bindparam("p_at")))
    .values(reaction_emoji=bindparam("p_emoji"), reaction_at=bindparam("p_at"))
)
# The reactions already stored for messages new in this batch (they arrived first); the literal
# type lets both databases use the partial index ix_messages_reaction_target. PostgreSQL gets
# the targets as one array (= ANY): an IN list of a batch's wamids cost a few milliseconds to
# render and plan, per batch.
_REACTIONS_OF_PRODUCT = (
    select(messages.c.context_wamid, messages.c.text, messages.c.sent_at, messages.c.created_at)
    .where(messages.c.product_id == bindparam("p_product"), messages.c.type == literal_column("'reaction'"))
)
_EARLIER_REACTIONS_IN_ARRAY = _REACTIONS_OF_PRODUCT.where(
    messages.c.context_wamid == any_(bindparam("p_targets", type_=postgresql.ARRAY(messages.c.context_wamid.type))))
_EARLIER_REACTIONS_IN_LIST = _REACTIONS_OF_PRODUCT.where(messages.c.context_wamid.in_(bindparam("p_targets", expanding=True)))


def _apply_reactions(conn, reactions: list[dict], product_of: dict) -> None:
    """A new reaction sets (or, with an empty emoji, clears) the emoji on the message it targets,
    unless that message shows a later one. A reaction to a message not stored yet is kept as its
    own row, and applied when the message comes (_apply_earlier_reactions)."""
    params = [
        {"p_product": product_of[r["product_id"]], "p_target": r["context_wamid"], "p_emoji": r["text"],
         "p_at": r["sent_at"] or r["created_at"]}
        for r in sorted(reactions, key=lambda r: r["sent_at"] or r["created_at"]) if r["context_wamid"]
    ]
    if params:
        conn.execute(_SET_REACTION, params)


def _apply_earlier_reactions(conn, new_messages: list[dict], product_of: dict) -> None:
    """New messages that reactions stored before them target: each shows the latest of those."""
    targets: dict = defaultdict(list)
    for row in new_messages:
        targets[row["product_id"]].append(row["wamid"])
    found = []
    for stored_product, wamids in targets.items():
        product_id = product_of[stored_product]
        for start in range(0, len(wamids), 1000):
            for target, emoji, sent_at, created_at in conn.execute(
                    _EARLIER_REACTIONS_IN_ARRAY if conn.dialect.name == "postgresql" else _EARLIER_REACTIONS_IN_LIST,
                    {"p_product": product_id, "p_targets": wamids[start:start + 1000]}):
                found.append({"product_id": stored_product, "context_wamid": target, "text": emoji,
                              "sent_at": sent_at, "created_at": created_at})
    _apply_reactions(conn, found, product_of)


def _bump_conversations(conn, new_messages: list[dict]) -> None:
    """Once per NEW message: unread + 1, latest time, preview, and the 24-hour window."""
    if not new_messages:
        return
    per_conversation: dict = {}
    now = utcnow()
    for row in new_messages:
        at = row["sent_at"] or now
        entry = per_conversation.get(row["conversation_id"])
        if entry is None:
            per_conversation[row["conversation_id"]] = {"n": 1, "at": at, "row": row}
            continue
        entry["n"] += 1
        if at >= entry["at"]:
            entry["at"], entry["row"] = at, row
    BUMP_CONVERSATIONS.run(conn, [{"id": cid, "product_id": v["row"]["product_id"], "n": v["n"], "at": v["at"],
                                   "preview": payloads.preview(v["row"])}
                                  for cid, v in sorted(per_conversation.items())])
