"""Fixtures for the Meta sandbox: its own app (no portal, no database), a recording
webhook transport, a movable clock, and a helper that walks the OAuth dialog."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from urllib.parse import parse_qsl
from dataclasses import dataclass, field

import pytest

from portal.sandbox import create_app

APP_ID = "777000000000001"
APP_SECRET = "sandbox-test-secret"
REDIRECT_URI = "http://portal.test/meta-oauth-callback"
SCOPES = "whatsapp_business_management,whatsapp_business_messaging"
CARDIO, FLEX, ACME = "2100000000000001", "2100000000000002", "2100000000000003"
CARDIO_WABA, FLEX_WABA = "3100000000000001", "3100000000000002"
ACME_WABAS = ("3100000000000003", "3100000000000004")
CARDIO_PHONE, FLEX_PHONES = "4100000000000001", ("4100000000000002", "4100000000000003")
ACME_UNREGISTERED = "4100000000000005"
ANA, BRUNO = "15551230001", "15551230002"
V = "/v25.0"


@dataclass
class Recorder:
    """Stands in for the portal's /webhook: keeps every POST and answers `status`."""

    status: int = 200
    posts: list = field(default_factory=list)

    def __call__(self, url, body, headers):
        self.posts.append((url, body, dict(headers)))
        return self.status

    def payloads(self) -> list[dict]:
        return [json.loads(body) for _, body, _ in self.posts]


class Clock:
    def __init__(self, start: float = 1_800_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sandbox_config(recorder) -> dict:
    return {
        "PORTAL_ENV": "test",
        "META_APP_ID": APP_ID,
        "META_APP_SECRET": APP_SECRET,
        "PORTAL_WEBHOOK_URL": "http://portal.test/webhook",
        "SANDBOX_TRANSPORT": recorder,
        "SANDBOX_BACKGROUND": False,  # tests deliver scheduled webhooks with flush()
        "SANDBOX_PAGE_SIZE": 1,
    }


@pytest.fixture
def sandbox_app(sandbox_config, clock):
    app = create_app(sandbox_config)
    app.extensions["sandbox"].world.clock = clock
    return app


@pytest.fixture
def box(sandbox_app):
    return sandbox_app.extensions["sandbox"]


@pytest.fixture
def sbx(sandbox_app):
    return sandbox_app.test_client()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def dialog_params(**extra) -> dict:
    params = {"client_id": APP_ID, "redirect_uri": REDIRECT_URI, "state": "st-123", "scope": SCOPES}
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def proof(token: str) -> str:
    return hmac.new(APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()


class Meta:
    """Drives the sandbox as the portal would."""

    def __init__(self, client):
        self.client = client

    def authorize(self, business_id: str, decision: str = "authorize", **params):
        page = self.client.get(f"{V}/dialog/oauth", query_string=dialog_params(**params))
        assert page.status_code == 200, page.get_data(as_text=True)
        form = dialog_params(**params) | {"csrf_token": csrf_from(page.get_data(as_text=True)),
                                          "business_id": business_id, "decision": decision}
        return self.client.post(f"{V}/dialog/oauth", data=form)

    def code_for(self, business_id: str, **params) -> str:
        response = self.authorize(business_id, **params)
        assert response.status_code == 302
        return re.search(r"[?&]code=([^&]+)", response.headers["Location"]).group(1)

    def exchange(self, the_code: str, method: str = "GET", **overrides):
        params = {"client_id": APP_ID, "client_secret": APP_SECRET, "redirect_uri": REDIRECT_URI, "code": the_code}
        params.update(overrides)
        if method == "GET":
            return self.client.get(f"{V}/oauth/access_token", query_string=params)
        return self.client.post(f"{V}/oauth/access_token", data=params)

    def token_for(self, business_id: str, **params) -> str:
        response = self.exchange(self.code_for(business_id, **params))
        assert response.status_code == 200, response.json
        return response.json["access_token"]

    def call(self, method: str, path: str, token: str | None, *, with_proof: bool = True, **kwargs):
        query = dict(kwargs.pop("query_string", {}) or {})
        if "?" in path:  # a full URL Meta gave (paging.next, media url): keep its query
            path, _, existing = path.partition("?")
            query = dict(parse_qsl(existing)) | query
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
            if with_proof:
                query["appsecret_proof"] = proof(token)
        return self.client.open(path if path.startswith("http") else f"{V}/{path.lstrip('/')}",
                                method=method, headers=headers, query_string=query, **kwargs)


@pytest.fixture
def meta(sbx):
    return Meta(sbx)


def customer_says(box, phone_id: str, wa_id: str, text: str = "Hello"):
    message, delivery = box.customer_writes(phone_id, wa_id, "text", text=text)
    return message, delivery
