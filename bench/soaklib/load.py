"""The traffic of a soak: customers (signed webhooks, like Meta), agents (the portal's pages),
status webhooks out of order. Every HTTP attempt is recorded for the report."""
from __future__ import annotations

import hashlib
import hmac
import html
import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

from portal.sandbox import payloads
from portal.sandbox.world import Customer, PhoneNumber, new_wamid

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclass
class Attempt:
    at: float  # epoch seconds when the answer came (or the connection failed)
    endpoint: str  # "POST /webhook", "GET /p/<id>/feed", ...
    status: int | None  # None: no answer (connection refused/reset, timeout)
    ms: float
    origin: str = "soak"  # "soak" or "sandbox" (the sandbox's own status webhooks)
    media: bool = False  # a webhook body carrying at least one media message (--media)
    batch: bool = False  # a webhook body of several changes (customers' batches)


class Recorder:
    def __init__(self):
        self.attempts: list[Attempt] = []
        self.lock = threading.Lock()

    def add(self, endpoint: str, status: int | None, started: float, origin: str = "soak", media: bool = False,
            batch: bool = False) -> None:
        now = time.time()
        with self.lock:
            self.attempts.append(Attempt(now, endpoint, status, (now - started) * 1000, origin, media, batch))


# ---------------------------------------------------------------- Meta's side: webhooks

@dataclass
class Number:
    phone_id: str
    digits: str
    waba_id: str
    product: int  # index of the product that linked it
    business_id: str = ""

    @property
    def phone(self) -> PhoneNumber:
        return PhoneNumber(self.phone_id, self.waba_id, self.digits, "", "CLOUD_API")


def customer(number: Number, wa_id: str) -> Customer:
    """The soak's customer behind a wa_id as `number`'s business sees them, in today's webhook shape:
    the business-scoped user id the sandbox gives (portal/sandbox/world.py World.customer), so the
    sandbox's own status webhooks name the same person."""
    digest = hashlib.sha256(f"{number.business_id}|{wa_id}".encode()).hexdigest()
    return Customer(wa_id, f"Customer {wa_id[-4:]}", f"US.{int(digest[:16], 16):020d}", None, False)


@dataclass
class MediaFile:
    """A file the sandbox holds for one number (`GET /{media-id}` answers for it with that business's token)."""
    id: str
    kind: str  # image | document | audio
    mime_type: str
    sha256: str  # base64, as webhook payloads carry it
    filename: str = ""
    voice: bool = False


class WebhookSender:
    """POSTs signed bodies as Meta does: anything but 200 is retried with backoff until it
    is 200 (or the hard deadline passes: then it counts as never acknowledged)."""

    def __init__(self, url: str, secret: str, recorder: Recorder, hard_deadline: float):
        self.url, self.secret, self.recorder, self.hard_deadline = url, secret, recorder, hard_deadline
        self.local = threading.local()
        self.posts_ok = 0
        self.lock = threading.Lock()

    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def deliver(self, body: bytes, media: bool = False, batch: bool = False) -> bool:
        signature = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature,
                   "User-Agent": "facebookexternalua"}
        pause = 0.2
        while True:
            started = time.time()
            try:
                status = self._session().post(self.url, data=body, headers=headers, timeout=15).status_code
            except requests.RequestException:
                status = None
                self.local.session = requests.Session()  # the connection may be dead (worker killed)
            self.recorder.add("POST /webhook", status, started, media=media, batch=batch)
            if status == 200:
                with self.lock:
                    self.posts_ok += 1
                return True
            if time.time() + pause > self.hard_deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


@dataclass
class Sent:
    wamid: str
    product: int
    phone_id: str
    text: str
    acked: bool = False
    kind: str = "text"


class Customers:
    """Threads of customers writing to the numbers: mostly one message per POST, some batches
    (several entries and changes per POST), 10% of bodies delivered a second time."""

    def __init__(self, numbers: list[Number], customers: list[str], sender: WebhookSender, rate: float,
                 threads: int, duplicate_share: float = 0.1, batch_share: float = 0.2, seed: int = 7,
                 media: dict[str, list[MediaFile]] | None = None, media_share: float = 0.0):
        self.numbers, self.customers, self.sender = numbers, customers, sender
        self.media, self.media_share = media or {}, media_share  # phone id -> its files; share of messages
        self.rate, self.threads = rate, threads
        self.duplicate_share, self.batch_share = duplicate_share, batch_share
        self.sent: dict[str, Sent] = {}
        self.lock = threading.Lock()
        self.bodies = self.batches = self.duplicates = self.unacked_bodies = self.media_bodies = 0
        self.rng = random.Random(seed)
        self.seq = 0

    def _message(self, rng: random.Random) -> tuple[Number, dict, str]:
        number = rng.choice(self.numbers)
        wa_id = rng.choice(self.customers)
        with self.lock:
            self.seq += 1
            seq = self.seq
        text = f"soak m{seq} to {number.phone_id} p{number.product}"
        files = self.media.get(number.phone_id)
        if files and rng.random() < self.media_share:
            # A photo, a document or a voice note in Meta's shape ({id, mime_type, sha256, ...}).
            file = rng.choice(files)
            message = payloads.media_message(wa_id, new_wamid(), int(time.time()), file.kind, file.id, file.mime_type,
                                             file.sha256, caption=text if file.kind != "audio" else "",
                                             filename=file.filename, voice=file.voice)
            kind = file.kind
        else:
            message = payloads.text_message(wa_id, new_wamid(), int(time.time()), text)
            kind = "text"
        with self.lock:
            self.sent[message["id"]] = Sent(message["id"], number.product, number.phone_id, text, kind=kind)
        return number, message, wa_id

    def _body(self, rng: random.Random) -> tuple[bytes, list[str]]:
        """One POST: a single message, or a batch of entries (per WABA) of changes of messages."""
        now = int(time.time())
        if rng.random() >= self.batch_share:
            number, message, wa_id = self._message(rng)
            change = payloads.message_change(number.phone, customer(number, wa_id), message)
            document = payloads.envelope(number.waba_id, [change], now)
            wamids = [message["id"]]
        else:
            entries: dict[str, list] = {}
            wamids = []
            for _ in range(rng.randint(2, 5)):  # changes, each one message or a few from one customer
                number, message, wa_id = self._message(rng)
                change = payloads.message_change(number.phone, customer(number, wa_id), message)
                for _ in range(rng.randint(0, 2)):
                    extra = payloads.text_message(wa_id, new_wamid(), now, "")
                    with self.lock:
                        self.seq += 1
                        extra["text"]["body"] = f"soak m{self.seq} to {number.phone_id} p{number.product}"
                        self.sent[extra["id"]] = Sent(extra["id"], number.product, number.phone_id, extra["text"]["body"])
                    change["value"]["messages"].append(payloads.as_sent(extra, customer(number, wa_id), "current"))
                    wamids.append(extra["id"])
                entries.setdefault(number.waba_id, []).append(change)
                wamids.append(message["id"])
            document = {"object": "whatsapp_business_account",
                        "entry": [{"id": waba, "time": now, "changes": changes} for waba, changes in entries.items()]}
            with self.lock:
                self.batches += 1
        return json.dumps(document, separators=(",", ":")).encode(), wamids

    def run(self, stop: threading.Event, index: int) -> None:
        rng = random.Random(1000 + index)
        interval = self.threads / self.rate  # seconds between POSTs of this thread
        next_at = time.time()
        while not stop.is_set():
            body, wamids = self._body(rng)
            with self.lock:
                media = any(self.sent[w].kind != "text" for w in wamids)
                if media:
                    self.media_bodies += 1
            batch = len(wamids) > 1
            ok = self.sender.deliver(body, media, batch)
            with self.lock:
                self.bodies += 1
                if ok:
                    for wamid in wamids:
                        self.sent[wamid].acked = True
                else:
                    self.unacked_bodies += 1
            if ok and rng.random() < self.duplicate_share:
                self.sender.deliver(body, media, batch)  # Meta's at-least-once: the same body again
                with self.lock:
                    self.duplicates += 1
            next_at += interval
            delay = next_at - time.time()
            if delay > 0:
                stop.wait(delay)
            else:
                next_at = time.time()  # behind: do not burst to catch up



class StatusInjector:
    """Sends, for outbound messages Meta (the sandbox) accepted, their sent/delivered/read statuses
    again in a shuffled order: sometimes all in one POST, sometimes one POST each."""

    def __init__(self, sandbox_url: str, numbers: dict[str, Number], sender: WebhookSender):
        self.sandbox_url, self.numbers, self.sender = sandbox_url, numbers, sender
        self.done: set[str] = set()
        self.posts = 0

    @staticmethod
    def status_body(number: Number, wamid: str, recipient: str, statuses: list[str]) -> bytes:
        """One POST carrying `statuses` of one message, one change each, in the order given."""
        now = int(time.time())
        changes = [payloads.status_change(number.phone, wamid, s, customer(number, recipient), now) for s in statuses]
        return json.dumps(payloads.envelope(number.waba_id, changes, now), separators=(",", ":")).encode()

    def pass_once(self, rng: random.Random) -> None:
        try:
            outbound = requests.get(f"{self.sandbox_url}/soak/state", timeout=10).json()["outbound"]
        except (requests.RequestException, ValueError, KeyError):
            return
        for wamid, info in outbound.items():
            if wamid in self.done or info["phone_id"] not in self.numbers:
                continue
            self.done.add(wamid)
            order = ["sent", "delivered", "read"]
            rng.shuffle(order)
            number = self.numbers[info["phone_id"]]
            if rng.random() < 0.5:
                bodies = [self.status_body(number, wamid, info["wa_id"], order)]
            else:
                bodies = [self.status_body(number, wamid, info["wa_id"], [s]) for s in order]
            for body in bodies:
                self.sender.deliver(body)
                self.posts += 1

    def run(self, stop: threading.Event) -> None:
        rng = random.Random(99)
        while not stop.wait(0.7):
            self.pass_once(rng)


# ---------------------------------------------------------------- the team's side: agents

FEED_AFTER = re.compile(r'hx-get="(/p/[^"]*/feed\?after=[^"]*)"')
FEED_ITEM = re.compile(r'id="feed-(' + UUID + r')"')
CONVERSATION_LINK = re.compile(r'href="/p/' + UUID + r'/conversations/(' + UUID + r')"')
RETRY_ACTION = re.compile(r'action="(/p/[^"]*/messages/' + UUID + r'/retry)"')
MESSAGE_ID = re.compile(r'id="msg-(' + UUID + r')"')
CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')


@dataclass
class Reply:
    text: str
    product: int
    status: int | None = None  # HTTP status of the POST
    message_id: str | None = None
    retries: int = 0
    retry_url: str | None = None
    retry_statuses: list = field(default_factory=list)


class Agent:
    """One logged-in member of one product: polls the live feed, replies, retries failed replies."""

    def __init__(self, base: str, product: int, product_id: str, email: str, password: str, recorder: Recorder,
                 reply_every: float, poll_every: float):
        self.base, self.product, self.pid = base, product, product_id
        self.email, self.password, self.recorder = email, password, recorder
        self.reply_every, self.poll_every = reply_every, poll_every
        self.session = requests.Session()
        self.csrf = ""
        self.after = ""
        self.conversations: set[str] = set()
        self.feed_items: list[str] = []  # every feed item id shown, in order (duplicates are a bug)
        self.replies: list[Reply] = []
        self.polls = 0

    def _call(self, method: str, path: str, label: str, **kwargs) -> requests.Response | None:
        started = time.time()
        try:
            response = self.session.request(method, self.base + path, timeout=15, allow_redirects=False, **kwargs)
        except requests.RequestException:
            self.recorder.add(f"{method} {label}", None, started)
            return None
        self.recorder.add(f"{method} {label}", response.status_code, started)
        return response

    def login(self) -> None:
        page = self._call("GET", "/login", "/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page.text)
        csrf = next(g for g in token.groups() if g)
        answer = self._call("POST", "/login", "/login",
                            data={"email": self.email, "password": self.password, "csrf_token": csrf})
        if answer is None or answer.status_code != 302:
            raise RuntimeError(f"login of {self.email} failed: {answer.status_code if answer else 'no answer'}")
        self.load_feed_page()

    def load_feed_page(self) -> bool:
        page = self._call("GET", f"/p/{self.pid}/feed", "/p/<id>/feed")
        if page is None or page.status_code != 200:
            return False
        token = CSRF.search(page.text)
        if token:
            self.csrf = token.group(1)
        self._absorb(page.text)
        return True

    def _absorb(self, text: str) -> None:
        after = FEED_AFTER.search(text)
        if after:
            self.after = html.unescape(after.group(1))
        self.feed_items += FEED_ITEM.findall(text)
        self.conversations.update(CONVERSATION_LINK.findall(text))

    def poll(self) -> None:
        if not self.after:
            self.load_feed_page()
            return
        answer = self._call("GET", self.after, "/p/<id>/feed?after", headers={"HX-Request": "true"})
        self.polls += 1
        if answer is not None and answer.status_code == 200:
            self._absorb(answer.text)

    def reply(self, rng: random.Random) -> None:
        if not self.conversations or not self.csrf:
            return
        conversation = rng.choice(sorted(self.conversations))
        reply = Reply(f"soak reply {uuid.uuid4().hex[:12]} p{self.product}", self.product)
        self.replies.append(reply)
        answer = self._call("POST", f"/p/{self.pid}/conversations/{conversation}/messages",
                            "/p/<id>/conversations/<id>/messages", data={"body": reply.text},
                            headers={"HX-Request": "true", "X-CSRFToken": self.csrf})
        if answer is None:
            return
        reply.status = answer.status_code
        self._read_reply_answer(reply, answer.text)

    def _read_reply_answer(self, reply: Reply, text: str) -> None:
        found = MESSAGE_ID.search(text)
        if found:
            reply.message_id = found.group(1)
        retry = RETRY_ACTION.search(text)
        reply.retry_url = retry.group(1) if retry else None

    def retry_failed(self) -> None:
        """A person presses Retry on a reply that failed retryably (at most 3 times)."""
        for reply in self.replies:
            if reply.retry_url and reply.retries < 3:
                reply.retries += 1
                url, reply.retry_url = reply.retry_url, None
                answer = self._call("POST", url, "/p/<id>/conversations/<id>/messages/<id>/retry",
                                    headers={"HX-Request": "true", "X-CSRFToken": self.csrf})
                reply.retry_statuses.append(answer.status_code if answer is not None else None)
                if answer is not None and answer.status_code == 200:
                    self._read_reply_answer(reply, answer.text)
                elif answer is None or answer.status_code >= 500:
                    reply.retry_url = url  # try again later
                return

    def run(self, stop: threading.Event, seed: int) -> None:
        rng = random.Random(seed)
        next_reply = time.time() + rng.uniform(1, self.reply_every)
        while not stop.wait(self.poll_every * rng.uniform(0.7, 1.3)):
            self.poll()
            if time.time() >= next_reply:
                next_reply = time.time() + self.reply_every * rng.uniform(0.5, 1.5)
                self.reply(rng)
                self.retry_failed()
