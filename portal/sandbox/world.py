"""The sandbox's state: businesses, accounts and numbers (seeded), and what happens to them.

Tokens, codes, subscriptions, conversations and media live here, in memory,
behind one lock (the sandbox serves many threads). In the demo the mutable part
is also kept in a JSON file so a restart does not invalidate the tokens the
portal stored. `clock` is injectable so tests can move time without sleeping.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import string
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import graph_errors as errors
from .seed import BUSINESSES, CUSTOMERS, PHONE_HIDDEN, SAMPLE_TEMPLATES, USERNAMES

CODE_TTL = 600  # seconds an authorization code may wait for its exchange
SHORT_LIVED = 2 * 3600  # a user token straight from the code exchange
LONG_LIVED = 60 * 86400  # after fb_exchange_token
DATA_ACCESS = 90 * 86400
WINDOW = 24 * 3600  # the customer service window
REGISTER_LIMIT = 10  # register attempts per number (per 72 hours at Meta)
HISTORY = 200  # messages kept per conversation
MEDIA_ID_TTL = 30 * 86400  # an uploaded or received media id answers for about 30 days
MEDIA_URL_TTL = 5 * 60  # a media URL from GET /{media-id} works for 5 minutes

MANAGEMENT = "whatsapp_business_management"
MESSAGING = "whatsapp_business_messaging"
KNOWN_SCOPES = {MANAGEMENT, MESSAGING, "business_management", "public_profile", "email"}
CONFIG_SCOPES = [MANAGEMENT, MESSAGING]  # what a Login for Business configuration grants

_TOKEN_ALPHABET = string.ascii_letters + string.digits


@dataclass
class Business:
    id: str
    name: str
    user_id: str
    user_name: str
    waba_ids: list[str]


@dataclass
class Waba:
    id: str
    name: str
    business_id: str
    phone_ids: list[str]
    subscribed_apps: set[str] = field(default_factory=set)
    currency: str = "USD"
    timezone_id: str = "1"

    @property
    def namespace(self) -> str:
        return f"sbx_{self.id[-6:]}"


@dataclass
class PhoneNumber:
    id: str
    waba_id: str
    display: str  # "+1 555-010-1001", as Graph shows it
    verified_name: str
    platform_type: str
    quality: str = "GREEN"
    register_attempts: int = 0

    @property
    def digits(self) -> str:
        """The display number as webhooks carry it: digits only."""
        return "".join(c for c in self.display if c.isdigit())


@dataclass
class Token:
    value: str
    business_id: str
    kind: str  # "USER" or "SYSTEM_USER"
    user_id: str
    scopes: list[str]
    issued_at: int
    expires_at: int  # 0 = never
    revoked: bool = False


@dataclass
class Code:
    value: str
    business_id: str
    redirect_uri: str
    scopes: list[str]
    config_id: str | None
    expires_at: int
    used: bool = False


@dataclass
class Media:
    id: str
    phone_id: str
    mime_type: str
    sha256: str
    data: bytes
    created_at: int = 0


@dataclass
class Template:
    """A message template of one WABA (`/{waba}/message_templates`)."""

    id: str
    name: str
    language: str
    category: str
    status: str  # APPROVED, PENDING, REJECTED, PAUSED, DISABLED
    components: list[dict]
    parameter_format: str = "POSITIONAL"
    rejected_reason: str = "NONE"  # Meta's reason while REJECTED (INVALID_FORMAT, SCAM...)
    quality: str = "UNKNOWN"  # quality_score.score: GREEN, YELLOW, RED or UNKNOWN
    quality_at: int = 0  # quality_score.date: unix time the score was last set


@dataclass(frozen=True)
class Customer:
    """Who a customer is to one business: phone number (wa_id), business-scoped user id, username."""

    wa_id: str
    name: str
    user_id: str  # the BSUID, e.g. "US.13491208655302741918"
    username: str | None
    phone_hidden: bool


class World:
    """Everything the sandbox knows. All public methods are thread-safe."""

    def __init__(self, app_id: str, state_file: str | None = None, clock=time.time):
        self.app_id = app_id
        self.clock = clock
        self.state_file = Path(state_file) if state_file else None
        self.lock = threading.RLock()
        self.businesses: dict[str, Business] = {}
        self.wabas: dict[str, Waba] = {}
        self.phones: dict[str, PhoneNumber] = {}
        self.customers: dict[str, str] = dict(CUSTOMERS)
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, Code] = {}
        self.media: dict[str, Media] = {}
        self.last_inbound: dict[str, int] = {}  # "phone|wa_id" -> unix time the customer last wrote
        self.conversations: dict[str, list[dict]] = {}  # "phone|wa_id" -> messages, oldest first
        self.outbound: dict[str, str] = {}  # wamid -> "phone|wa_id"
        self.templates: dict[str, dict[str, Template]] = {}  # waba id -> template id -> template
        self.profiles: dict[str, dict] = {}  # phone id -> whatsapp_business_profile fields
        self.app_tokens: set[str] = set()  # client_credentials tokens (the app acting as itself)
        self._seed()
        self._load()

    # --- seed and persistence ---------------------------------------------

    def _seed(self) -> None:
        for business_id, name, user_id, user_name, wabas in BUSINESSES:
            self.businesses[business_id] = Business(business_id, name, user_id, user_name, [w[0] for w in wabas])
            for waba_id, waba_name, phones in wabas:
                self.wabas[waba_id] = Waba(waba_id, waba_name, business_id, [p[0] for p in phones])
                for phone_id, display, verified_name, platform in phones:
                    self.phones[phone_id] = PhoneNumber(phone_id, waba_id, display, verified_name, platform)
                    self.profiles[phone_id] = {"about": "Hello from the Meta sandbox", "vertical": "OTHER",
                                               "messaging_product": "whatsapp", "websites": [], "profile_picture_url": ""}
                self.templates[waba_id] = {}
                for t_name, t_language, t_category, t_components in SAMPLE_TEMPLATES:
                    self.add_template(waba_id, t_name, t_language, t_category, t_components, status="APPROVED")

    def _load(self) -> None:
        if not self.state_file or not self.state_file.exists():
            return
        try:
            saved = json.loads(self.state_file.read_text())
        except ValueError:
            return  # a damaged file: start from the seed
        self.tokens = {t["value"]: Token(**t) for t in saved.get("tokens", [])}
        for waba_id, apps in saved.get("subscriptions", {}).items():
            if waba_id in self.wabas:
                self.wabas[waba_id].subscribed_apps = set(apps)
        for phone_id, (quality, platform) in saved.get("phones", {}).items():
            if phone_id in self.phones:
                self.phones[phone_id].quality, self.phones[phone_id].platform_type = quality, platform
        self.last_inbound = saved.get("last_inbound", {})
        self.conversations = saved.get("conversations", {})
        self.outbound = saved.get("outbound", {})
        for waba_id, templates in saved.get("templates", {}).items():
            if waba_id in self.wabas:
                self.templates[waba_id] = {t["id"]: Template(**t) for t in templates}

    def save(self) -> None:
        """Write the mutable state (demo only); called after every change."""
        if not self.state_file:
            return
        with self.lock:
            state = {
                "tokens": [asdict(t) for t in self.tokens.values()],
                "subscriptions": {w.id: sorted(w.subscribed_apps) for w in self.wabas.values()},
                "phones": {p.id: [p.quality, p.platform_type] for p in self.phones.values()},
                "last_inbound": self.last_inbound,
                "conversations": self.conversations,
                "outbound": self.outbound,
                "templates": {w: [asdict(t) for t in ts.values()] for w, ts in self.templates.items()},
            }
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            tmp.replace(self.state_file)

    def now(self) -> int:
        return int(self.clock())

    # --- lookups ------------------------------------------------------------

    def business_of(self, object_id: str) -> str | None:
        """The business that owns a business, WABA, phone number or media id (None if unknown)."""
        if object_id in self.businesses:
            return object_id
        if object_id in self.wabas:
            return self.wabas[object_id].business_id
        if object_id in self.phones:
            return self.wabas[self.phones[object_id].waba_id].business_id
        if object_id in self.media:
            return self.business_of(self.media[object_id].phone_id)
        return None

    def customer(self, phone_id: str, wa_id: str) -> Customer:
        """A customer as one number's business sees them (BSUIDs differ per business portfolio)."""
        business_id = self.business_of(phone_id) or ""
        digest = hashlib.sha256(f"{business_id}|{wa_id}".encode()).hexdigest()
        return Customer(wa_id, self.customers.get(wa_id) or f"+{wa_id}", f"US.{int(digest[:16], 16):020d}",
                        USERNAMES.get(wa_id), wa_id in PHONE_HIDDEN)

    def customer_by_user_id(self, phone_id: str, user_id: str) -> Customer | None:
        """The customer behind a BSUID, for a send from `phone_id` (None: no such user for this business)."""
        for wa_id in self.customers:
            customer = self.customer(phone_id, wa_id)
            if customer.user_id == user_id:
                return customer
        return None

    def knows_message(self, phone_id: str, wa_id: str, wamid: str) -> bool:
        """Whether `wamid` is a message of this conversation (either direction)."""
        with self.lock:
            return any(m["id"] == wamid for m in self.conversations.get(f"{phone_id}|{wa_id}", []))

    def waba_of(self, phone_id: str) -> Waba:
        return self.wabas[self.phones[phone_id].waba_id]

    def business_waba_ids(self, business_id: str) -> list[str]:
        return list(self.businesses[business_id].waba_ids)

    # --- OAuth codes and tokens ---------------------------------------------

    def issue_code(self, business_id: str, redirect_uri: str, scopes: list[str], config_id: str | None) -> str:
        with self.lock:
            value = "AQ" + _random(86)
            self.codes[value] = Code(value, business_id, redirect_uri, scopes, config_id, self.now() + CODE_TTL)
            return value

    def redeem_code(self, value: str, redirect_uri: str) -> Token:
        """Exchange a code once: a business token with a config_id, else a short-lived user token."""
        with self.lock:
            code = self.codes.get(value)
            if code is None:
                raise errors.bad_code()
            if code.used:
                raise errors.code_used()
            if code.expires_at <= self.now():
                raise errors.code_expired()
            if redirect_uri != code.redirect_uri:
                raise errors.code_redirect_mismatch()
            code.used = True
            business = self.businesses[code.business_id]
            if code.config_id:
                token = self._new_token(business, "SYSTEM_USER", code.scopes, expires_in=0)
            else:
                token = self._new_token(business, "USER", code.scopes, expires_in=SHORT_LIVED)
            self.save()
            return token

    def extend(self, token: Token) -> Token:
        """fb_exchange_token: a new 60-day user token; a business token stays as it is."""
        with self.lock:
            if token.kind == "SYSTEM_USER":
                return token
            extended = self._new_token(self.businesses[token.business_id], "USER", token.scopes, expires_in=LONG_LIVED)
            self.save()
            return extended

    def _new_token(self, business: Business, kind: str, scopes: list[str], expires_in: int) -> Token:
        value = "EAA" + _random(150)
        expires_at = self.now() + expires_in if expires_in else 0
        user_id = business.user_id if kind == "USER" else str(int(business.user_id) + 900)
        token = Token(value, business.id, kind, user_id, list(scopes), self.now(), expires_at)
        self.tokens[value] = token
        return token

    def issue_app_token(self) -> str:
        """grant_type=client_credentials: an app token (`APPID|<random>`), valid until the secret changes."""
        with self.lock:
            value = f"{self.app_id}|{_random(27)}"
            self.app_tokens.add(value)
            return value

    def check_token(self, value: str) -> Token:
        """The token if it is valid now; else Meta's 190 error (unknown, expired or revoked)."""
        with self.lock:
            token = self.tokens.get(value)
            if token is None:
                raise errors.bad_token()
            if token.revoked:
                raise errors.revoked_token(self.app_id)
            if token.expires_at and token.expires_at <= self.now():
                raise errors.expired_token(_meta_time(token.expires_at), _meta_time(self.now()))
            return token

    def token_problem(self, value: str) -> errors.GraphAPIError | None:
        try:
            self.check_token(value)
        except errors.GraphAPIError as error:
            return error
        return None

    def expire_tokens(self, business_id: str) -> int:
        """Control: every token of the business has just expired. Returns how many."""
        with self.lock:
            affected = [t for t in self.tokens.values() if t.business_id == business_id and not t.revoked]
            for token in affected:
                token.expires_at = self.now() - 1
            self.save()
            return len(affected)

    def revoke_tokens(self, business_id: str) -> int:
        """Control: the business's user removed the app; its tokens stop working."""
        with self.lock:
            affected = [t for t in self.tokens.values() if t.business_id == business_id and not t.revoked]
            for token in affected:
                token.revoked = True
            self.save()
            return len(affected)

    def token_counts(self, business_id: str) -> dict[str, int]:
        counts = {"valid": 0, "expired": 0, "revoked": 0}
        with self.lock:
            for token in self.tokens.values():
                if token.business_id != business_id:
                    continue
                if token.revoked:
                    counts["revoked"] += 1
                elif token.expires_at and token.expires_at <= self.now():
                    counts["expired"] += 1
                else:
                    counts["valid"] += 1
        return counts

    # --- numbers ------------------------------------------------------------

    def subscribe(self, waba_id: str, app_id: str, on: bool) -> None:
        with self.lock:
            apps = self.wabas[waba_id].subscribed_apps
            apps.add(app_id) if on else apps.discard(app_id)
            self.save()

    def register(self, phone_id: str) -> None:
        with self.lock:
            phone = self.phones[phone_id]
            if phone.register_attempts >= REGISTER_LIMIT:
                raise errors.register_rate_limited()
            phone.register_attempts += 1
            phone.platform_type = "CLOUD_API"
            self.save()

    def set_quality(self, phone_id: str, rating: str) -> str:
        """Control: change a number's quality rating; returns the old one."""
        with self.lock:
            phone = self.phones[phone_id]
            old, phone.quality = phone.quality, rating
            self.save()
            return old

    # --- conversations --------------------------------------------------------

    def window_open(self, phone_id: str, wa_id: str) -> bool:
        with self.lock:
            last = self.last_inbound.get(f"{phone_id}|{wa_id}")
            return last is not None and self.now() - last < WINDOW

    def age_last_inbound(self, phone_id: str, wa_id: str, hours: float) -> None:
        """Pretend the customer last wrote `hours` ago (the demo's way to show the 24-hour window close).
        KeyError when the customer never wrote to that number."""
        key = f"{phone_id}|{wa_id}"
        with self.lock:
            if key not in self.last_inbound:
                raise KeyError(key)
            self.last_inbound[key] = self.now() - int(hours * 3600)
            self.save()

    def record_message(self, phone_id: str, wa_id: str, message: dict, inbound: bool, save: bool = True) -> None:
        """Keep a message of a conversation (for the phone page, reactions and the window).
        `save=False` lets a batch write the state file once at its end."""
        key = f"{phone_id}|{wa_id}"
        with self.lock:
            entry = {"inbound": inbound, "id": message["id"], "type": message["type"],
                     "summary": summarize(message), "timestamp": self.now(), "status": None if inbound else "accepted"}
            history = self.conversations.setdefault(key, [])
            history.append(entry)
            del history[:-HISTORY]
            if inbound:
                self.last_inbound[key] = self.now()
            else:
                self.outbound[message["id"]] = key
            if save:
                self.save()

    def set_status(self, wamid: str, status: str) -> None:
        with self.lock:
            for entry in self.conversations.get(self.outbound.get(wamid) or "", []):
                if entry["id"] == wamid:
                    entry["status"] = status
            self.save()

    def conversation(self, phone_id: str, wa_id: str) -> list[dict]:
        with self.lock:
            return [dict(m) for m in self.conversations.get(f"{phone_id}|{wa_id}", [])]

    def last_message_id(self, phone_id: str, wa_id: str) -> str | None:
        history = self.conversation(phone_id, wa_id)
        return history[-1]["id"] if history else None

    def knows_inbound(self, phone_id: str, wamid: str) -> bool:
        with self.lock:
            return any(m["id"] == wamid and m["inbound"]
                       for key, history in self.conversations.items() if key.startswith(phone_id + "|")
                       for m in history)

    def add_media(self, phone_id: str, mime_type: str, data: bytes) -> Media:
        with self.lock:
            media_id = str(7100000000000000 + secrets.randbelow(10**15))
            sha256 = base64.b64encode(hashlib.sha256(data).digest()).decode()
            media = Media(media_id, phone_id, mime_type, sha256, data, self.now())
            self.media[media.id] = media
            return media

    def live_media(self, media_id: str) -> Media | None:
        """The media if its id still answers (ids live about 30 days, then are gone as if deleted)."""
        with self.lock:
            media = self.media.get(media_id)
            if media is not None and self.now() - media.created_at >= MEDIA_ID_TTL:
                del self.media[media_id]
                return None
            return media

    def delete_media(self, media_id: str) -> bool:
        with self.lock:
            return self.media.pop(media_id, None) is not None

    # --- templates -------------------------------------------------------------

    def add_template(self, waba_id: str, name: str, language: str, category: str, components: list[dict],
                     status: str = "APPROVED", parameter_format: str = "POSITIONAL") -> Template:
        with self.lock:
            template = Template(str(8100000000000000 + secrets.randbelow(10**15)), name, language, category,
                                status, components, parameter_format,
                                quality="GREEN" if status == "APPROVED" else "UNKNOWN", quality_at=self.now())
            self.templates.setdefault(waba_id, {})[template.id] = template
            return template

    def find_templates(self, waba_id: str, name: str | None = None, language: str | None = None) -> list[Template]:
        with self.lock:
            return [t for t in self.templates.get(waba_id, {}).values()
                    if (name is None or t.name == name) and (language is None or t.language == language)]

    def delete_templates(self, waba_id: str, name: str, template_id: str | None = None) -> int:
        """Delete every language of `name` (or only the one with `template_id`); returns how many."""
        with self.lock:
            doomed = [t.id for t in self.find_templates(waba_id, name)
                      if template_id is None or t.id == template_id]
            for tid in doomed:
                del self.templates[waba_id][tid]
            return len(doomed)

    def set_template_status(self, waba_id: str, template_id: str, status: str, reason: str = "NONE") -> Template:
        """Meta reviewed, paused or disabled a template (a rejection keeps its reason)."""
        with self.lock:
            template = self.templates[waba_id][template_id]
            template.status = status
            template.rejected_reason = reason if status == "REJECTED" else "NONE"
            if status == "APPROVED" and template.quality == "UNKNOWN":
                template.quality, template.quality_at = "GREEN", self.now()
            elif status in ("PAUSED", "DISABLED"):  # Meta pauses and disables templates for low quality
                template.quality, template.quality_at = "RED", self.now()
        self.save()
        return template

    def template_by_id(self, template_id: str) -> tuple[str, Template] | None:
        """(WABA id, template) of a template id, in any WABA (the sandbox's review controls)."""
        with self.lock:
            for waba_id, templates in self.templates.items():
                if template_id in templates:
                    return waba_id, templates[template_id]
        return None


def new_wamid() -> str:
    """A message id shaped like Meta's (`wamid.` + base64)."""
    return "wamid.HBgL" + base64.b64encode(secrets.token_bytes(30)).decode().rstrip("=")


def summarize(message: dict) -> str:
    """One line for the phone page."""
    kind = message.get("type")
    body = message.get(kind) if isinstance(message.get(kind), dict) else {}
    if kind == "text":
        return str(body.get("body", ""))
    if kind == "reaction":
        return f"reacted {body.get('emoji') or '(removed)'}"
    if kind == "location":
        return f"location {body.get('latitude')}, {body.get('longitude')} {body.get('name') or ''}".strip()
    if kind == "template":
        return str(body.get("rendered") or f"template {body.get('name')}")
    if kind in ("image", "video", "audio", "document", "sticker"):
        return f"[{kind}] {body.get('caption') or ''}".strip()
    return f"[{kind}]"


def _random(length: int) -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))


def _meta_time(unix: int) -> str:
    return time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(unix))
