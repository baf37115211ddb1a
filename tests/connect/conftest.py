"""A fake Meta (OAuth + Graph) on `responses`, flow helpers, and a leak guard on every test here."""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from flask import message_flashed, request_finished
from sqlalchemy import text

from portal.extensions import db
from tests.conftest import TEST_APP_ID, TEST_APP_SECRET, TEST_GRAPH_URL

G = f"{TEST_GRAPH_URL}/v25.0"
APP_TOKEN = f"{TEST_APP_ID}|{TEST_APP_SECRET}"
LONG_EXPIRES_AT = 4102444800  # 2100-01-01, far from "expiring soon"
FAILURES = ("5xx", "timeout", "envelope", "malformed")


@dataclass
class MetaUser:
    """One Meta user's grant: a code, its tokens, one WhatsApp Business Account and its numbers."""

    name: str
    user_id: str
    waba_id: str
    numbers: list[tuple[str, str, str]]  # (phone_number_id, display_phone_number, verified_name)
    waba_name: str = "Business"
    business_id: str = ""
    granular: bool = True  # debug_token lists the WABA in granular_scopes
    scopes: tuple[str, ...] = ("whatsapp_business_management", "whatsapp_business_messaging")
    expires_at: int = LONG_EXPIRES_AT
    page_size: int = 10
    generation: int = 0  # bump to get new tokens (a reconnect)

    @property
    def code(self) -> str:
        return f"code-{self.name}-{self.generation}"

    @property
    def short_token(self) -> str:
        return f"EAAshort{self.name}{self.generation}SECRETTOKEN"

    @property
    def long_token(self) -> str:
        return f"EAAlong{self.name}{self.generation}SECRETTOKEN"


@dataclass
class FakeMeta:
    """Answers like Meta's documented endpoints; `fail[step] = kind` breaks one step."""

    rsps: responses.RequestsMock
    users: list[MetaUser] = field(default_factory=list)
    fail: dict[str, str] = field(default_factory=dict)
    debug_overrides: dict = field(default_factory=dict)
    foreign_paging: bool = False

    def add(self, user: MetaUser) -> MetaUser:
        self.users.append(user)
        return user

    # lookups -----------------------------------------------------------------
    def by_token(self, token: str | None) -> tuple[MetaUser | None, str | None]:
        for user in self.users:
            if token == user.short_token:
                return user, "short"
            if token == user.long_token:
                return user, "long"
        return None, None

    def bearer(self, request) -> MetaUser | None:
        header = request.headers.get("Authorization", "")
        return self.by_token(header[len("Bearer "):] if header.startswith("Bearer ") else None)[0]

    # answers -----------------------------------------------------------------
    def answer(self, step: str, body: dict, status: int = 200):
        kind = self.fail.get(step)
        if kind == "5xx":
            return 503, {}, "Service Unavailable"
        if kind == "timeout":
            raise requests.exceptions.ReadTimeout("timed out")
        if kind == "envelope":
            return 400, {}, json.dumps({"error": {"message": f"Injected failure at {step}", "type": "OAuthException",
                                                  "code": 2, "fbtrace_id": "TRACE123"}})
        if kind == "malformed":
            return 200, {}, "<html>not json"
        return status, {}, json.dumps(body)

    @staticmethod
    def error(message: str, code: int = 190, status: int = 400):
        return status, {}, json.dumps({"error": {"message": message, "type": "OAuthException", "code": code,
                                                 "fbtrace_id": "TRACE9"}})

    def code_exchange(self, request):
        form = parse_qs(request.body if isinstance(request.body, str) else (request.body or b"").decode())
        code = (form.get("code") or [""])[0]
        user = next((u for u in self.users if u.code == code), None)
        if user is None or form.get("client_secret") != [TEST_APP_SECRET]:
            return self.error("Invalid verification code format.", code=100)
        return self.answer("exchange", {"access_token": user.short_token, "token_type": "bearer", "expires_in": 3600})

    def long_lived(self, request):
        query = parse_qs(urlparse(request.url).query)
        user, kind = self.by_token((query.get("fb_exchange_token") or [""])[0])
        if (user is None or kind != "short" or query.get("grant_type") != ["fb_exchange_token"]
                or query.get("client_secret") != [TEST_APP_SECRET]):
            return self.error("Invalid OAuth access token.")
        return self.answer("long_lived", {"access_token": user.long_token, "token_type": "bearer",
                                          "expires_in": 5184000})

    def debug(self, request):
        query = parse_qs(urlparse(request.url).query)
        if query.get("access_token") != [APP_TOKEN]:
            return self.error("Invalid app token.")
        user, _ = self.by_token((query.get("input_token") or [""])[0])
        if user is None:
            return self.answer("debug", {"data": {"is_valid": False, "app_id": TEST_APP_ID, "scopes": []}})
        data = {"app_id": TEST_APP_ID, "type": "USER", "application": "Master", "expires_at": user.expires_at,
                "data_access_expires_at": user.expires_at, "is_valid": True, "issued_at": 1700000000,
                "scopes": list(user.scopes), "user_id": user.user_id}
        if user.granular:
            data["granular_scopes"] = [{"scope": "whatsapp_business_management", "target_ids": [user.waba_id]},
                                       {"scope": "whatsapp_business_messaging", "target_ids": [user.waba_id]}]
        data.update(self.debug_overrides)
        return self.answer("debug", {"data": data})

    def businesses(self, request):
        user = self.bearer(request)
        if user is None:
            return self.error("Invalid OAuth access token.")
        data = [{"id": user.business_id, "name": "Biz"}] if user.business_id else []
        return self.answer("businesses", {"data": data})

    def owned(self, request):
        user = self.bearer(request)
        if user is None:
            return self.error("Invalid OAuth access token.")
        return self.answer("owned", {"data": [{"id": user.waba_id, "name": user.waba_name}]})

    def waba(self, request):
        user = self.bearer(request)
        if user is None:
            return self.error("Invalid OAuth access token.")
        waba_id = urlparse(request.url).path.rsplit("/", 1)[-1]
        return self.answer("waba", {"id": waba_id, "name": user.waba_name})

    def phone_numbers(self, request):
        user = self.bearer(request)
        if user is None:
            return self.error("Invalid OAuth access token.")
        query = parse_qs(urlparse(request.url).query)
        start = int((query.get("after") or ["0"])[0])
        page = user.numbers[start:start + user.page_size]
        body = {"data": [{"id": pid, "display_phone_number": display, "verified_name": name,
                          "quality_rating": "GREEN", "code_verification_status": "VERIFIED",
                          "platform_type": "CLOUD_API"} for pid, display, name in page]}
        if start + user.page_size < len(user.numbers):
            host = "https://evil.test/v25.0" if self.foreign_paging else G
            body["paging"] = {"cursors": {"after": str(start + user.page_size)},
                              "next": f"{host}/{user.waba_id}/phone_numbers?after={start + user.page_size}"}
        return self.answer("phone_numbers_page2" if start else "phone_numbers", body)

    def subscribe(self, request):
        if self.bearer(request) is None:
            return self.error("Invalid OAuth access token.")
        return self.answer("subscribe", {"success": True})

    def unsubscribe(self, request):
        if self.bearer(request) is None:
            return self.error("Invalid OAuth access token.")
        return self.answer("unsubscribe", {"success": True})

    def install(self) -> "FakeMeta":
        r = self.rsps
        r.add_callback("POST", f"{G}/oauth/access_token", callback=self.code_exchange)
        r.add_callback("GET", f"{G}/oauth/access_token", callback=self.long_lived)
        r.add_callback("GET", f"{G}/debug_token", callback=self.debug)
        r.add_callback("GET", f"{G}/me/businesses", callback=self.businesses)
        r.add_callback("GET", re.compile(rf"{re.escape(G)}/\d+/owned_whatsapp_business_accounts"), callback=self.owned)
        r.add_callback("GET", re.compile(rf"{re.escape(G)}/\d+/phone_numbers"), callback=self.phone_numbers)
        r.add_callback("POST", re.compile(rf"{re.escape(G)}/\d+/subscribed_apps"), callback=self.subscribe)
        r.add_callback("DELETE", re.compile(rf"{re.escape(G)}/\d+/subscribed_apps"), callback=self.unsubscribe)
        r.add_callback("GET", re.compile(rf"{re.escape(G)}/\d+(\?.*)?$"), callback=self.waba)
        return self

    def secrets(self) -> list[str]:
        values = [TEST_APP_SECRET]
        for user in self.users:
            for generation in range(user.generation + 1):
                values += [f"EAAshort{user.name}{generation}SECRETTOKEN", f"EAAlong{user.name}{generation}SECRETTOKEN"]
        return values


@pytest.fixture
def meta(app):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeMeta(rsps).install()


@pytest.fixture
def alice():
    return MetaUser("alice", user_id="10001", waba_id="2001", waba_name="Cardio WABA",
                    numbers=[("3001", "+591 11111111", "Cardio Plus")])


@pytest.fixture
def bob():
    return MetaUser("bob", user_id="10002", waba_id="2002", waba_name="Flex WABA",
                    numbers=[("3002", "+591 22222222", "Flex 60")])


@pytest.fixture(autouse=True)
def leak_guard(request, caplog):
    """Every page, header, flash and log record of these tests is scanned for tokens and the app secret."""
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    # Signals from any app: the guard must not create the app before a test adjusts its config.
    def on_response(sender, response, **extra):
        if not response.direct_passthrough:
            seen.append(response.get_data(as_text=True))
        seen.append(" ".join(f"{k}: {v}" for k, v in response.headers.items()))

    def on_flash(sender, message, category, **extra):
        seen.append(str(message))

    request_finished.connect(on_response)
    message_flashed.connect(on_flash)
    yield seen
    request_finished.disconnect(on_response)
    message_flashed.disconnect(on_flash)
    fake = request.node.funcargs.get("meta")
    secrets = fake.secrets() if fake else [TEST_APP_SECRET]
    logs = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    for blob in seen + logs:
        for secret in secrets:
            assert secret not in blob, f"a secret leaked into a page, flash or log: {blob[:300]!r}"


# flow helpers ------------------------------------------------------------------

def start_connect(client, auth, product):
    """POST connect; return the dialog URL's query."""
    response = client.post(f"/p/{product.id}/meta/connect", data={"csrf_token": auth.csrf_token(client)})
    assert response.status_code == 303, response.get_data(as_text=True)
    return parse_qs(urlparse(response.headers["Location"]).query)


def connect(client, auth, product, user: MetaUser):
    """The whole dance: start, then Meta's redirect back with the user's code."""
    state = start_connect(client, auth, product)["state"][0]
    return client.get("/meta-oauth-callback", query_string={"code": user.code, "state": state})


def snapshot() -> dict:
    """Every row of every table but connect_attempts (whose state is consumed on purpose)."""
    db.session.expire_all()
    result = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name == "connect_attempts":
                continue
            rows = conn.execute(table.select()).all()
            result[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return result


def raw_tokens() -> dict:
    """phone_number_id -> the stored (encrypted) token, read around the ORM."""
    with db.engine.connect() as conn:
        return dict(conn.execute(text("SELECT phone_number_id, access_token FROM whatsapp_accounts")).all())
