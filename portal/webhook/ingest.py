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
connection and transaction: one account lookup per batch, one bulk statement
per table, no ORM object per message. The statements of the message path are
in fastsql.py (plain SQL, see why there). Every statement names product_id
itself, since no product scope filters them.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import bindparam

from ..extensions import db
from ..meta import payloads
from ..meta.payloads import Change
from ..models import INBOUND, STATUS_RANK, AccountEvent, Contact, Conversation, Message, UnroutedChange, WhatsAppAccount
from ..models.base import utcnow
from . import account_events, statuses
from .fastsql import FastBulkUpdate, FastInsert, FastKnownSenders, FastLookup, FastSelect
from .upsert import insert_ignoring_conflicts

accounts = WhatsAppAccount.__table__
contacts = Contact.__table__
conversations = Conversation.__table__
messages = Message.__table__
events = AccountEvent.__table__
unrouted = UnroutedChange.__table__

KNOWN_SENDERS = FastKnownSenders(accounts, contacts, conversations)
LOOKUP_ACCOUNTS = FastLookup(accounts, ["product_id", "phone_number_id", "business_account_id"], "phone_number_id", "business_account_id")
# Contacts and conversations are read first and only the missing ones inserted: most
# messages come from people already known, and a row write costs far more than a read.
# The insert still tolerates the conflict (two workers may both find a contact missing);
# what the insert did not return is read again.
FIND_CONTACTS = FastSelect(contacts, ["id", "wa_id", "profile_name"], "wa_id")
INSERT_CONTACTS = FastInsert(
    contacts, ["id", "product_id", "wa_id", "profile_name", "created_at", "updated_at"],
    "(product_id, wa_id) DO NOTHING", returning=["id", "wa_id"],
)
RENAME_CONTACTS = FastBulkUpdate(
    contacts, [("id", "id"), ("profile_name", "profile_name"), ("updated_at", "updated_at")],
    "profile_name = v.profile_name, updated_at = v.updated_at",
)
FIND_CONVERSATIONS = FastSelect(conversations, ["id", "phone_number_id", "contact_id"], "contact_id")
INSERT_CONVERSATIONS = FastInsert(
    conversations, ["id", "product_id", "phone_number_id", "contact_id", "unread_count", "created_at"],
    "(product_id, phone_number_id, contact_id) DO NOTHING", returning=["id", "phone_number_id", "contact_id"],
)
MESSAGE_COLUMNS = [
    "id", "product_id", "conversation_id", "phone_number_id", "contact_wa_id", "wamid", "direction", "type",
    "sent_at", "created_at", "text", "media_id", "media_mime_type", "media_filename", "latitude", "longitude",
    "location_name", "location_address", "reply_id", "reply_title", "context_wamid", "forwarded", "raw",
]
INSERT_MESSAGES = FastInsert(messages, MESSAGE_COLUMNS, "(product_id, wamid) DO NOTHING", returning=["product_id", "wamid"])
# Every SET expression reads the row's old values, so the CASEs compare against the old time.
BUMP_CONVERSATIONS = FastBulkUpdate(
    conversations,
    [("id", "id"), ("n", "unread_count"), ("at", "last_message_at"), ("preview", "last_message_preview")],
    "unread_count = conversations.unread_count + v.n, "
    "last_message_preview = CASE WHEN conversations.last_message_at IS NULL OR conversations.last_message_at <= v.at "
    "THEN v.preview ELSE conversations.last_message_preview END, "
    "last_message_at = CASE WHEN conversations.last_message_at IS NULL OR conversations.last_message_at <= v.at "
    "THEN v.at ELSE conversations.last_message_at END, "
    "last_inbound_at = CASE WHEN conversations.last_inbound_at IS NULL OR conversations.last_inbound_at < v.at "
    "THEN v.at ELSE conversations.last_inbound_at END",
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
    by_number, by_waba = _routes(conn, changes, batch)
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


def _routes(conn, changes: list[Change], batch: "_Batch"):
    """phone_number_id -> account, WABA id -> accounts, for every account the batch names.

    The same query also brings the contacts and conversations already stored for the
    batch's senders (into `batch`), so a message from someone known costs no extra read.
    """
    numbers = {c.phone_number_id for c in changes if c.phone_number_id}
    wabas = {c.waba_id for c in changes if not c.phone_number_id and c.waba_id and c.field != "messages"}
    by_number: dict[str, dict] = {}
    by_waba: dict[str, list[dict]] = defaultdict(list)
    if numbers:
        senders = set()
        for change in changes:
            if change.phone_number_id and change.field == "messages":
                for message in payloads.listed(change.value, "messages"):
                    wa_id = payloads.sender(message)
                    if wa_id:
                        senders.add(wa_id)
        for product_id, number, contact_id, wa_id, name, conversation_id in KNOWN_SENDERS.run(conn, sorted(numbers), sorted(senders)):
            by_number[number] = {"product_id": product_id, "phone_number_id": number}
            if contact_id is not None:
                batch.known_contacts[(product_id, wa_id)] = (contact_id, name)
                if conversation_id is not None:
                    batch.known_conversations[(product_id, number, contact_id)] = conversation_id
    if wabas:
        for product_id, number, waba in LOOKUP_ACCOUNTS.run(conn, [], sorted(wabas)):
            # A WABA-level event goes once to each product with numbers in that WABA.
            if all(a["product_id"] != product_id for a in by_waba[waba]):
                by_waba[waba].append({"product_id": product_id, "phone_number_id": number, "business_account_id": waba})
    return by_number, by_waba


class _Batch:
    """Rows gathered from a batch of changes, written table by table."""

    def __init__(self):
        self.contact_names: dict[tuple, str | None] = {}  # (product_id, wa_id) -> profile name
        self.messages: dict[tuple, dict] = {}  # (product_id, wamid) -> row
        self.statuses: list[dict] = []
        self.events: dict[str, dict] = {}  # event_key -> row
        self.unrouted: dict[str, dict] = {}  # change_key -> row
        # Read with the routing (see _routes): what is already stored for the batch's senders.
        self.known_contacts: dict[tuple, tuple] = {}  # (product_id, wa_id) -> (contact id, profile name)
        self.known_conversations: dict[tuple, uuid.UUID] = {}  # (product_id, number, contact id) -> id

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
        for message in raw_messages:
            row = payloads.message_columns(message) if isinstance(message, dict) else None
            if row is None:
                understood = False
                continue
            wa_id = payloads.sender(message)
            row.update(product_id=product_id, phone_number_id=number, contact_wa_id=wa_id, direction=INBOUND)
            self.messages.setdefault((product_id, row["wamid"]), row)
            if wa_id:
                self.contact_names[(product_id, wa_id)] = names.get(wa_id) or self.contact_names.get((product_id, wa_id))
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
        if self.messages:
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
        contact_ids = self._upsert_contacts(conn)
        conversation_ids = self._upsert_conversations(conn, contact_ids)
        rows = []
        for (product_id, _), row in sorted(self.messages.items(), key=lambda item: item[0]):
            wa_id = row["contact_wa_id"]
            row["conversation_id"] = conversation_ids.get((product_id, row["phone_number_id"], wa_id))
            rows.append(row)
        now = utcnow()
        for row in rows:
            row["id"] = uuid.uuid4()
            row["created_at"] = now
        inserted = set(INSERT_MESSAGES.run(conn, rows))
        outcome.messages = len(inserted)
        outcome.duplicates = len(rows) - len(inserted)
        new_rows = [row for row in rows if (row["product_id"], row["wamid"]) in inserted]
        if new_rows:
            _apply_reactions(conn, [r for r in new_rows if r["type"] == "reaction"])
            _bump_conversations(conn, [r for r in new_rows if r["type"] != "reaction" and r["conversation_id"]])

    def _upsert_contacts(self, conn) -> dict[tuple, uuid.UUID]:
        """(product_id, wa_id) -> contact id, creating the missing contacts and renaming changed ones."""
        per_product: dict[uuid.UUID, dict[str, str | None]] = defaultdict(dict)
        for (product_id, wa_id), name in self.contact_names.items():
            per_product[product_id][wa_id] = name
        ids: dict[tuple, uuid.UUID] = {}
        now = utcnow()
        for product_id, names in sorted(per_product.items()):
            wanted = sorted(names)
            known = {w: self.known_contacts[(product_id, w)] for w in wanted if (product_id, w) in self.known_contacts}
            missing = [wa_id for wa_id in wanted if wa_id not in known]
            if missing:
                rows = [{"id": uuid.uuid4(), "product_id": product_id, "wa_id": wa_id, "profile_name": names[wa_id],
                         "created_at": now, "updated_at": now} for wa_id in missing]
                created = dict((wa_id, cid) for cid, wa_id in INSERT_CONTACTS.run(conn, rows))
                raced = [wa_id for wa_id in missing if wa_id not in created]
                if raced:  # another worker created them meanwhile
                    known.update({w: (cid, stored) for cid, w, stored in FIND_CONTACTS.run(conn, product_id, raced)})
                known.update({wa_id: (cid, names[wa_id]) for wa_id, cid in created.items()})
            # A name Meta did not send this time does not erase the one we know.
            renamed = [{"id": known[w][0], "profile_name": names[w], "updated_at": now}
                       for w in wanted if names[w] and names[w] != known[w][1]]
            if renamed:
                RENAME_CONTACTS.run(conn, renamed)
            ids.update({(product_id, wa_id): known[wa_id][0] for wa_id in wanted})
        return ids

    def _upsert_conversations(self, conn, contact_ids: dict) -> dict[tuple, uuid.UUID]:
        """(product_id, phone_number_id, wa_id) -> conversation id, creating the missing ones."""
        per_product: dict[uuid.UUID, set] = defaultdict(set)
        for row in self.messages.values():
            if row["contact_wa_id"]:
                per_product[row["product_id"]].add((row["phone_number_id"], row["contact_wa_id"]))
        ids: dict[tuple, uuid.UUID] = {}
        now = utcnow()
        for product_id, keys in sorted(per_product.items()):
            by_contact = {(number, contact_ids[(product_id, wa_id)]): wa_id for number, wa_id in keys}

            def find(contact_list):
                return {(number, cid): conversation_id
                        for conversation_id, number, cid in FIND_CONVERSATIONS.run(conn, product_id, contact_list)}

            known = {(number, cid): self.known_conversations[(product_id, number, cid)]
                     for number, cid in by_contact if (product_id, number, cid) in self.known_conversations}
            missing = sorted(key for key in by_contact if key not in known)
            if missing:
                rows = [{"id": uuid.uuid4(), "product_id": product_id, "phone_number_id": number, "contact_id": cid,
                         "unread_count": 0, "created_at": now} for number, cid in missing]
                created = {(number, cid): conversation_id for conversation_id, number, cid in INSERT_CONVERSATIONS.run(conn, rows)}
                if len(created) < len(missing):  # another worker created some meanwhile
                    known.update(find(sorted({cid for key, cid in missing if (key, cid) not in created})))
                known.update(created)
            ids.update({(product_id, number, wa_id): known[(number, cid)] for (number, cid), wa_id in by_contact.items()})
        return ids


_SET_REACTION = (
    messages.update()
    .where(messages.c.product_id == bindparam("p_product"), messages.c.wamid == bindparam("p_target"))
    .values(reaction_emoji=bindparam("p_emoji"))
)


def _apply_reactions(conn, reactions: list[dict]) -> None:
    """A new reaction sets (or, with an empty emoji, clears) the emoji on the message it targets.

    A reaction to a message not stored (yet) is kept as its own row only."""
    params = [
        {"p_product": r["product_id"], "p_target": r["context_wamid"], "p_emoji": r["text"]}
        for r in sorted(reactions, key=lambda r: r["sent_at"] or utcnow()) if r["context_wamid"]
    ]
    if params:
        conn.execute(_SET_REACTION, params)


def _bump_conversations(conn, new_messages: list[dict]) -> None:
    """Once per NEW message: unread + 1, latest time, preview, and the 24-hour window."""
    if not new_messages:
        return
    per_conversation: dict[uuid.UUID, dict] = {}
    now = utcnow()
    for row in new_messages:
        at = row["sent_at"] or now
        entry = per_conversation.setdefault(row["conversation_id"], {"n": 0, "at": at, "preview": payloads.preview(row)})
        entry["n"] += 1
        if at >= entry["at"]:
            entry.update(at=at, preview=payloads.preview(row))
    BUMP_CONVERSATIONS.run(conn, [{"id": cid, **values} for cid, values in sorted(per_conversation.items())])
