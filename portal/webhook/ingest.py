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

from sqlalchemy import any_, bindparam, func, literal_column, or_, select
from sqlalchemy.dialects import postgresql

from ..extensions import db
from ..meta import payloads
from ..meta.payloads import Change
from ..models import (
    INBOUND, ORIGIN_BUSINESS_APP, ORIGIN_HISTORY, OUTBOUND, STATUS_RANK, TARGETING_TYPES, AccountEvent, Contact,
    Conversation, Message, UnroutedChange, WhatsAppAccount,
)
from ..models.base import utcnow
from ..outgoing import from_ingest as outgoing
from . import account_events, identities, statuses
from .fastsql import FastBulkUpdate, FastFind, FastInsert, FastLookup, id_order, new_ids, stored_form
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
# A contact is found by its phone number, or by its business-scoped user id (BSUID) when Meta
# shares no phone number; the insert tolerates a conflict on either.
FIND_CONTACTS = FastFind(contacts, ["wa_id"], ["id", "profile_name", "user_id"], stored=("id", "product_id"))
FIND_CONTACTS_BY_USER = FastFind(contacts, ["user_id"], ["id", "profile_name"], stored=("id", "product_id"))
INSERT_CONTACTS = FastInsert(
    contacts, ["id", "product_id", "wa_id", "user_id", "username", "profile_name", "created_at", "updated_at"],
    "DO NOTHING", returning=["id", "wa_id", "user_id"], stored=("id", "product_id"),
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
    "origin", "group_id",
]
INSERT_MESSAGES = FastInsert(messages, MESSAGE_COLUMNS, "(product_id, wamid) DO NOTHING", returning=["product_id", "wamid"],
                             stored=("id", "product_id", "conversation_id"))
# Every SET expression reads the row's old values, so the CASEs compare against the old time.
BUMP_CONVERSATIONS = FastBulkUpdate(
    conversations,
    [("id", "id"), ("product_id", "product_id"), ("n", "unread_count"), ("at", "last_message_at"),
     ("preview", "last_message_preview"), ("message", "last_message_id")],
    "unread_count = conversations.unread_count + v.n, "
    "status = 'open', "  # a customer writing again reopens a pending or resolved conversation
    "last_message_preview = CASE WHEN conversations.last_message_at IS NULL OR conversations.last_message_at <= v.at "
    "THEN v.preview ELSE conversations.last_message_preview END, "
    "last_message_id = CASE WHEN conversations.last_message_at IS NULL OR conversations.last_message_at <= v.at "
    "THEN v.message ELSE conversations.last_message_id END, "
    "last_message_at = CASE WHEN conversations.last_message_at IS NULL OR conversations.last_message_at <= v.at "
    "THEN v.at ELSE conversations.last_message_at END, "
    "last_inbound_at = CASE WHEN conversations.last_inbound_at IS NULL OR conversations.last_inbound_at < v.at "
    "THEN v.at ELSE conversations.last_inbound_at END",
    stored=("id", "product_id", "last_message_id"),
)
# What the business typed on the WhatsApp Business app, and past chats: the conversation's
# latest message and preview move, but nothing is unread and the 24-hour window stays as it is.
BUMP_QUIETLY = FastBulkUpdate(
    conversations,
    [("id", "id"), ("product_id", "product_id"), ("at", "last_message_at"), ("preview", "last_message_preview"),
     ("message", "last_message_id")],
    "last_message_preview = CASE WHEN conversations.last_message_at IS NULL OR conversations.last_message_at <= v.at "
    "THEN v.preview ELSE conversations.last_message_preview END, "
    "last_message_id = CASE WHEN conversations.last_message_at IS NULL OR conversations.last_message_at <= v.at "
    "THEN v.message ELSE conversations.last_message_id END, "
    "last_message_at = CASE WHEN conversations.last_message_at IS NULL OR conversations.last_message_at <= v.at "
    "THEN v.at ELSE conversations.last_message_at END",
    stored=("id", "product_id", "last_message_id"),
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
        self.people: dict[uuid.UUID, dict[str, payloads.Person]] = defaultdict(dict)  # product -> key -> person
        self.messages: dict[uuid.UUID, dict[str, dict]] = defaultdict(dict)  # product -> wamid -> row
        self.identities: list[tuple[uuid.UUID, dict]] = []  # (product, ids that name one customer)
        self.position = 0  # of each message in the batch: Meta's order, which breaks ties of equal timestamps
        self.statuses: list[dict] = []
        self.events: dict[str, dict] = {}  # event_key -> row
        self.unrouted: dict[str, dict] = {}  # change_key -> row
        self.new_messages: list[dict] = []  # rows this batch inserted (for outgoing webhooks)
        self.new_events: list[dict] = []

    def keep_unrouted(self, change: Change) -> None:
        self.unrouted[change.key] = {
            "id": uuid.uuid4(), "change_key": change.key, "phone_number_id": change.phone_number_id,
            "business_account_id": change.waba_id, "field": change.field, "payload": change.raw,
            "received_at": utcnow(),
        }

    def add(self, change: Change, account: dict) -> None:
        reader = self._READERS.get(change.field)
        if reader is not None and reader(self, change, account):
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
        understood = set(value) <= payloads.MESSAGE_VALUE_KEYS
        raw_messages = value.get("messages", [])
        raw_statuses = value.get("statuses", [])
        if not isinstance(raw_messages, list) or not isinstance(raw_statuses, list):
            return False
        contacts_ = payloads.People(value)
        for message in raw_messages:
            person = payloads.author(message, contacts_) if isinstance(message, dict) else None
            understood &= self._add_message(message, person, account, change.phone_number_id, INBOUND)
        for status in raw_statuses:
            row = payloads.status_columns(status) if isinstance(status, dict) else None
            if row is None or row["status"] not in STATUS_RANK:
                understood = False
                continue
            row["product_id"] = account["product_id"]
            self.statuses.append(row)
        self._identity_changes(account, raw_messages, value)
        return understood

    def _add_echoes(self, change: Change, account: dict) -> bool:
        """`smb_message_echoes`: what the business sent from the WhatsApp Business app (coexistence),
        stored as outbound messages to the customer in `to`."""
        value = change.value
        echoes = value.get("message_echoes")
        if not isinstance(echoes, list):
            return False
        understood = set(value) <= payloads.ECHO_VALUE_KEYS
        contacts_ = payloads.People(value)
        for echo in echoes:
            person = payloads.author(echo, contacts_, counterpart_key="to") if isinstance(echo, dict) else None
            understood &= self._add_message(echo, person, account, change.phone_number_id, OUTBOUND,
                                            origin=ORIGIN_BUSINESS_APP)
        return understood

    def _add_history(self, change: Change, account: dict) -> bool:
        """`history`: the app's past chats, thread by thread; a message is the customer's when it
        comes from the thread's id, else the business's. Stored as past messages."""
        value = change.value
        chunks = value.get("history")
        if not isinstance(chunks, list):
            return False
        understood = set(value) <= payloads.HISTORY_VALUE_KEYS
        for chunk in chunks:
            chunk = chunk if isinstance(chunk, dict) else {}
            if chunk.get("errors") or not isinstance(chunk.get("threads"), list):
                understood = False  # e.g. the business declined to share its history: kept as an event
            for thread in payloads.listed(chunk, "threads"):
                thread_id = payloads.text(thread.get("id"), 64)
                if not thread_id:
                    understood = False
                    continue
                person = payloads.Person(wa_id=None if payloads.is_bsuid(thread_id) else thread_id,
                                         user_id=payloads.text(thread.get("user_id"), 64)
                                         or (thread_id if payloads.is_bsuid(thread_id) else None))
                for message in payloads.listed(thread, "messages"):
                    sender = payloads.text(message.get("from"), 64)
                    direction = INBOUND if sender in (person.wa_id, person.user_id) else OUTBOUND
                    understood &= self._add_message(message, person, account, change.phone_number_id, direction,
                                                    origin=ORIGIN_HISTORY)
        return understood

    def _add_message(self, message, person, account: dict, number: str, direction: str, origin=None) -> bool:
        row = payloads.message_columns(message) if isinstance(message, dict) else None
        if row is None:
            return False
        product_id = account["product_id"]
        key = person.key if person else None
        row.update(phone_number_id=number, contact_wa_id=key, direction=direction, origin=origin,
                   position=self.position)
        self.position += 1
        if self.messages[product_id].setdefault(row["wamid"], row) is row and key:
            known = self.people[product_id].get(key)
            if known is None:
                self.people[product_id][key] = payloads.Person(person.wa_id, person.user_id, person.name, person.username)
            else:
                known.absorb(person)
        return True

    def _identity_changes(self, account: dict, raw_messages: list, value: dict) -> None:
        """System messages that say a customer's phone number or BSUID changed (and the
        `user_id_update` shape): the contacts they name become one, with the new ids."""
        for message in raw_messages:
            system = message.get("system") if isinstance(message, dict) and message.get("type") == "system" else None
            if not isinstance(system, dict):
                continue
            ids = {
                "wa_id": payloads.wa_id_or_none(message.get("from")) or payloads.wa_id_or_none(system.get("wa_id")),
                "user_id": payloads.bsuid_or_none(system.get("user_id")) or payloads.bsuid_or_none(message.get("from_user_id")),
                "previous_user_id": payloads.bsuid_or_none(system.get("previous_user_id")),
                "new_wa_id": payloads.wa_id_or_none(system.get("new_wa_id")),
            }
            if sum(1 for v in ids.values() if v) >= 2:
                self.identities.append((account["product_id"], ids))

    def _add_user_id_update(self, change: Change, account: dict) -> bool:
        """`user_id_update` (announced in 2026, then folded into system messages; read in case it comes):
        each item names a customer's phone number and/or previous and new BSUIDs."""
        items = payloads.listed(change.value, "user_id_update") or payloads.listed(change.value, "contacts")
        for item in items:
            ids = {"wa_id": payloads.wa_id_or_none(item.get("wa_id")),
                   "user_id": payloads.bsuid_or_none(item.get("user_id") or item.get("new_user_id")),
                   "previous_user_id": payloads.bsuid_or_none(item.get("previous_user_id") or item.get("old_user_id")),
                   "new_wa_id": None}
            if sum(1 for v in ids.values() if v) >= 2:
                self.identities.append((account["product_id"], ids))
        return False  # kept as an account event as well

    _READERS = {"messages": _add_messages, "smb_message_echoes": _add_echoes, "history": _add_history,
                "user_id_update": _add_user_id_update}

    # Writing, in foreign-key order. Rows are sorted by their unique keys so two
    # workers storing overlapping batches lock rows in the same order (no deadlock).

    def write(self, conn) -> Outcome:
        outcome = Outcome()
        if any(self.messages.values()):
            self._write_messages(conn, outcome)
        if self.identities:
            identities.apply(conn, self.identities)
        if self.statuses:
            outcome.statuses = len(self.statuses)
            statuses.apply(conn, self.statuses)
        if self.events:
            inserted = insert_ignoring_conflicts(
                conn, events, sorted(self.events.values(), key=lambda r: r["event_key"]), ["event_key"],
                returning=events.c.event_key,
            )
            outcome.events = len(inserted)
            self.new_events = [self.events[key] for (key,) in inserted]
            account_events.apply_side_effects(self.new_events)
        if self.unrouted:
            insert_ignoring_conflicts(conn, unrouted, sorted(self.unrouted.values(), key=lambda r: r["change_key"]), ["change_key"])
            outcome.unrouted = len(self.unrouted)
            outcome.unrouted_keys = set(self.unrouted)
        names = {product_id: {key: person.name for key, person in people.items()} for product_id, people in self.people.items()}
        outgoing.record_batch(conn, self.new_messages, self.statuses, self.new_events, names)
        return outcome

    def _write_messages(self, conn, outcome: Outcome) -> None:
        dialect = conn.dialect
        # product -> its id as the driver stores it; sorting those sorts as the UUIDs do.
        products = {product_id: stored_form(dialect, messages.c.product_id, product_id)
                    for product_id, rows in self.messages.items() if rows}
        rows = []
        for product_id in sorted(products):
            contact_ids = self._upsert_contacts(conn, product_id, products[product_id], self.people[product_id])
            conversation_ids = self._upsert_conversations(conn, products[product_id], self.messages[product_id], contact_ids)
            by_wamid = self.messages[product_id]
            for wamid in sorted(by_wamid):
                row = by_wamid[wamid]
                row["product_id"] = products[product_id]
                row["conversation_id"] = conversation_ids.get((row["phone_number_id"], row["contact_wa_id"]))
                rows.append(row)
        now = utcnow()
        # Lists order by (created_at, id): ids ascending in Meta's order (time, then place in the
        # delivery) keep a burst of one second in the order it was sent. Past chats take their own
        # time, so they sit in the past of their thread and never reach the live feed.
        in_order = sorted(rows, key=lambda r: (r["sent_at"] or now, r["position"]))
        for row, new_id in zip(in_order, new_ids(dialect, len(rows))):
            row["id"] = new_id
            row["created_at"] = (row["sent_at"] or now) if row["origin"] == ORIGIN_HISTORY else now
        inserted = set(INSERT_MESSAGES.run(conn, rows))
        outcome.messages = len(inserted)
        outcome.duplicates = len(rows) - len(inserted)
        new_rows = [row for row in in_order if (row["product_id"], row["wamid"]) in inserted]
        self.new_messages = new_rows
        if new_rows:
            product_of = {stored: product_id for product_id, stored in products.items()}
            targeting = [r for r in new_rows if r["type"] in TARGETING_TYPES]
            _apply_targeting(conn, targeting, product_of)
            standalone = [r for r in new_rows if r["type"] not in TARGETING_TYPES]
            targeting += _apply_earlier_targeting(conn, standalone, product_of)
            _bump_conversations(conn, [r for r in standalone if r["conversation_id"]])
            _refresh_previews(conn, [r for r in targeting if r["type"] != "reaction" and r["context_wamid"]], product_of)
            _download_media_after_commit([r for r in standalone if r["type"] in payloads.MEDIA_TYPES and r["media_id"]],
                                         product_of)

    @staticmethod
    def _upsert_contacts(conn, product_id, stored_product, people: dict[str, payloads.Person]) -> dict[str, object]:
        """key (phone number, else BSUID) -> contact id (stored form) for one product's customers,
        creating the missing contacts, joining a phone number to the BSUID-only contact it now
        comes with, and renaming changed ones."""
        phones = sorted(key for key, person in people.items() if person.wa_id)
        # A BSUID-only message and one with both ids in the same batch: one customer, found by the phone.
        aliases = {people[w].user_id: w for w in phones if people[w].user_id in people}
        users = sorted(key for key, person in people.items() if not person.wa_id and key not in aliases)
        known = {}  # key -> (contact id, profile name)
        bsuid_of = {}  # phone number -> the BSUID its contact has
        for wa_id, cid, name, user_id in FIND_CONTACTS.run(conn, stored_product, [(w,) for w in phones]):
            known[wa_id], bsuid_of[wa_id] = (cid, name), user_id
        for user_id, cid, name in FIND_CONTACTS_BY_USER.run(conn, stored_product, [(u,) for u in users]):
            known[user_id] = (cid, name)
        # A phone number that comes with a BSUID its contact does not have yet: the first message of a
        # new customer (no contact has the BSUID: nothing to join), or a customer first known only by
        # the BSUID now showing the phone number, or a BSUID that changed (rare: one join each).
        unjoined = [w for w in phones if people[w].user_id and (w not in known or bsuid_of[w] != people[w].user_id)]
        if unjoined:
            with_bsuid = {u for u, _cid, _name in FIND_CONTACTS_BY_USER.run(conn, stored_product,
                                                                             [(people[w].user_id,) for w in unjoined])}
            for wa_id in unjoined:
                person = people[wa_id]
                if wa_id in known or person.user_id in with_bsuid:
                    cid = identities.join(conn, product_id, wa_id=person.wa_id, user_id=person.user_id,
                                          username=person.username)
                    known[wa_id] = (stored_form(conn.dialect, contacts.c.id, cid), None)
        missing = [key for key in phones + users if key not in known]
        now = utcnow()
        if missing:
            rows = [{"id": cid, "product_id": stored_product, "wa_id": people[key].wa_id, "user_id": people[key].user_id,
                     "username": people[key].username, "profile_name": people[key].name,
                     "created_at": now, "updated_at": now}
                    for key, cid in zip(missing, new_ids(conn.dialect, len(missing)))]
            created = {wa_id or user_id: cid for cid, wa_id, user_id in INSERT_CONTACTS.run(conn, rows)}
            raced = [key for key in missing if key not in created]
            if raced:  # another worker created them meanwhile
                known.update({w: (cid, name) for w, cid, name, _u in FIND_CONTACTS.run(
                    conn, stored_product, [(k,) for k in raced if people[k].wa_id])})
                known.update({u: (cid, name) for u, cid, name in FIND_CONTACTS_BY_USER.run(
                    conn, stored_product, [(k,) for k in raced if not people[k].wa_id])})
            known.update({key: (cid, people[key].name) for key, cid in created.items()})
        # A name Meta did not send this time does not erase the one we know.
        renamed = [{"id": known[k][0], "product_id": stored_product, "profile_name": people[k].name, "updated_at": now}
                   for k in phones + users if k in known and people[k].name and people[k].name != known[k][1]]
        if renamed:
            RENAME_CONTACTS.run(conn, renamed)
        found = {key: known[key][0] for key in phones + users if key in known}
        found.update({user_id: found[wa_id] for user_id, wa_id in aliases.items() if wa_id in found})
        return found

    @staticmethod
    def _upsert_conversations(conn, product_id, rows: dict[str, dict], contact_ids: dict) -> dict[tuple, object]:
        """(phone_number_id, wa_id) -> conversation id (stored form) for one product's messages,
        creating the missing ones."""
        # (number, key) of each message; two keys (phone number and BSUID) may name one contact.
        pairs = {(row["phone_number_id"], row["contact_wa_id"]) for row in rows.values() if row["contact_wa_id"] in contact_ids}
        by_contact = {(number, contact_ids[key]) for number, key in pairs}
        if not by_contact:
            return {}

        def find(keys) -> dict:
            return {(number, cid): conversation_id for number, cid, conversation_id in FIND_CONVERSATIONS.run(conn, product_id, keys)}

        known = find(list(by_contact))  # a read: any order
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
        return {(number, key): known[(number, contact_ids[key])] for number, key in pairs}


# A reaction replaces the one a message shows only if it was made at the same time or later:
# a reaction and its removal may be stored in either order (Meta reorders; drains run side by side).
_SET_REACTION = (
    messages.update()
    .where(messages.c.product_id == bindparam("p_product"), messages.c.wamid == bindparam("p_target"),
           or_(messages.c.reaction_at.is_(None), messages.c.reaction_at <= bindparam("p_at")))
    .values(reaction_emoji=bindparam("p_value"), reaction_at=bindparam("p_at"))
)
# An edit changes the text (or caption) of the message it names, unless a later edit already did or
# the message was deleted; the text before the first edit is kept for the audit.
_EDIT = (
    messages.update()
    .where(messages.c.product_id == bindparam("p_product"), messages.c.wamid == bindparam("p_target"),
           messages.c.type.not_in(TARGETING_TYPES), messages.c.revoked_at.is_(None),
           or_(messages.c.edited_at.is_(None), messages.c.edited_at <= bindparam("p_at")))
    .values(original_text=func.coalesce(messages.c.original_text, messages.c.text), text=bindparam("p_value"),
            edited_at=bindparam("p_at"))
)
# A deletion marks the message it names; its text stays in the row (audit), the thread shows the deletion.
_REVOKE = (
    messages.update()
    .where(messages.c.product_id == bindparam("p_product"), messages.c.wamid == bindparam("p_target"),
           messages.c.type.not_in(TARGETING_TYPES), messages.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("p_at"))
)
_TARGETING_STATEMENTS = {"reaction": _SET_REACTION, "edit": _EDIT, "revoke": _REVOKE}
# The reactions, edits and deletions already stored for messages new in this batch (they arrived
# first); the literal types let both databases use the partial index ix_messages_target. PostgreSQL
# gets the targets as one array (= ANY): an IN list of a batch's wamids cost a few milliseconds to
# render and plan, per batch.
_TARGETING_OF_PRODUCT = (
    select(messages.c.context_wamid, messages.c.type, messages.c.text, messages.c.sent_at, messages.c.created_at)
    .where(messages.c.product_id == bindparam("p_product"),
           messages.c.type.in_([literal_column(f"'{kind}'") for kind in TARGETING_TYPES]))
)
_EARLIER_IN_ARRAY = _TARGETING_OF_PRODUCT.where(
    messages.c.context_wamid == any_(bindparam("p_targets", type_=postgresql.ARRAY(messages.c.context_wamid.type))))
_EARLIER_IN_LIST = _TARGETING_OF_PRODUCT.where(messages.c.context_wamid.in_(bindparam("p_targets", expanding=True)))


def _apply_targeting(conn, rows: list[dict], product_of: dict) -> None:
    """New reactions, edits and deletions act on the message they name: a reaction sets (or, with an
    empty emoji, clears) its emoji unless it shows a later one; an edit changes its text; a deletion
    marks it deleted. One naming a message not stored yet is kept as its own row, and applied when
    the message comes (_apply_earlier_targeting). Oldest first, so the latest wins."""
    by_kind: dict[str, list] = defaultdict(list)
    for r in sorted(rows, key=lambda r: r["sent_at"] or r["created_at"]):
        if r["context_wamid"]:
            by_kind[r["type"]].append({"p_product": product_of[r["product_id"]], "p_target": r["context_wamid"],
                                       "p_value": r["text"], "p_at": r["sent_at"] or r["created_at"]})
    for kind, params in sorted(by_kind.items()):
        conn.execute(_TARGETING_STATEMENTS[kind], params)


def _apply_earlier_targeting(conn, new_messages: list[dict], product_of: dict) -> None:
    """New messages that reactions, edits or deletions stored before them name: applied now."""
    targets: dict = defaultdict(list)
    for row in new_messages:
        if row["direction"] == INBOUND or row["origin"]:
            targets[row["product_id"]].append(row["wamid"])
    found = []
    for stored_product, wamids in targets.items():
        product_id = product_of[stored_product]
        for start in range(0, len(wamids), 1000):
            for target, kind, body, sent_at, created_at in conn.execute(
                    _EARLIER_IN_ARRAY if conn.dialect.name == "postgresql" else _EARLIER_IN_LIST,
                    {"p_product": product_id, "p_targets": wamids[start:start + 1000]}):
                found.append({"product_id": stored_product, "context_wamid": target, "type": kind, "text": body,
                              "sent_at": sent_at, "created_at": created_at})
    _apply_targeting(conn, found, product_of)
    return found


_EDITED = select(messages.c.conversation_id, messages.c.type, messages.c.text, messages.c.revoked_at,
                 messages.c.sent_at, messages.c.created_at).where(
    messages.c.product_id == bindparam("p_product"), messages.c.wamid == bindparam("p_target"))


def _refresh_previews(conn, rows: list[dict], product_of: dict) -> None:
    """A conversation whose latest message was edited or deleted previews what it says now (a deleted
    message's words must not stay in the list). Rare (a few per batch at most): one row at a time."""
    for row in rows:
        product_id = product_of[row["product_id"]]
        target = conn.execute(_EDITED, {"p_product": product_id, "p_target": row["context_wamid"]}).first()
        if target is None or target.conversation_id is None:
            continue
        words = "This message was deleted" if target.revoked_at else payloads.one_line(target.type, target.text)
        conn.execute(conversations.update().where(
            conversations.c.product_id == product_id, conversations.c.id == target.conversation_id,
            conversations.c.last_message_at == (target.sent_at or target.created_at),
        ).values(last_message_preview=words[:payloads.PREVIEW_LENGTH]))


def _download_media_after_commit(media_rows: list[dict], product_of: dict) -> None:
    """New inbound media is fetched by the engine once this transaction commits (never here: the
    webhook does not wait for Meta's downloads); portal/media's sweep catches a lost enqueue."""
    if media_rows:
        from ..media.download import enqueue_for_new_rows

        enqueue_for_new_rows([(product_of[r["product_id"]], r["id"]) for r in media_rows])


def _by_id(item) -> object:
    """(conversation id, ...) items in id order: the order every worker locks them in."""
    return id_order(item[0])


def _bump_conversations(conn, new_messages: list[dict]) -> None:
    """Once per NEW message: unread + 1, latest time, preview, and the 24-hour window; what the
    business sent from the app and past chats only move the latest time and preview."""
    if not new_messages:
        return
    live: dict = {}
    quiet: dict = {}
    now = utcnow()
    for row in new_messages:  # in Meta's order: at equal times the later one is the latest
        at = row["sent_at"] or now
        per_conversation = live if row["direction"] == INBOUND and row["origin"] is None else quiet
        entry = per_conversation.get(row["conversation_id"])
        if entry is None:
            per_conversation[row["conversation_id"]] = {"n": 1, "at": at, "row": row}
            continue
        entry["n"] += 1
        if at >= entry["at"]:
            entry["at"], entry["row"] = at, row
    if quiet:
        BUMP_QUIETLY.run(conn, [{"id": cid, "product_id": v["row"]["product_id"], "at": v["at"],
                                 "preview": payloads.preview(v["row"]), "message": v["row"]["id"]}
                                for cid, v in sorted(quiet.items(), key=_by_id)])
    if live:
        BUMP_CONVERSATIONS.run(conn, [{"id": cid, "product_id": v["row"]["product_id"], "n": v["n"], "at": v["at"],
                                       "preview": payloads.preview(v["row"]), "message": v["row"]["id"]}
                                      for cid, v in sorted(live.items(), key=_by_id)])
