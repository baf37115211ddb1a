"""Fixtures: an app per test on a clean database, a client, a CLI runner, and
helpers to make users and products and to log in as a member of a product.

DATABASE_URL picks the backend: unset means SQLite (a file per test session);
a postgresql:// URL means a fresh database created on that server for this
session (so several runs can share a server) and dropped at the end.
"""
from __future__ import annotations

import os
import re
import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal import create_app, webhook
from portal.extensions import db
from portal.models import Membership, Product, User

TEST_APP_ID = "123456789012345"
TEST_APP_SECRET = "test-app-secret-5f1c2d"
TEST_VERIFY_TOKEN = "test-verify-token-9a8b"
TEST_GRAPH_URL = "https://graph.meta.test"
TEST_DIALOG_URL = "https://www.meta.test"
TEST_KEY = Fernet.generate_key().decode()
PASSWORD = "correct horse battery"


def pytest_configure(config):
    # `make test` compiles the catalogs; a bare `pytest` gets them compiled here.
    from portal.i18n.catalogs import compile_stale

    compile_stale()


def _postgres_database(base_url: str):
    url = make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"maestra_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, url.set(database=name), name


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    base = os.environ.get("DATABASE_URL", "")
    if re.match(r"postgres(ql)?(\+\w+)?://", base):
        admin, url, name = _postgres_database(base)
        yield url.render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "maestra-test.db")


@pytest.fixture(scope="session")
def _schema(database_url):
    app = create_app(_test_config(database_url))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return database_url


def _test_config(database_url: str, **extra) -> dict:
    config = {
        "PORTAL_ENV": "test",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "TOKEN_ENCRYPTION_KEYS": TEST_KEY,
        "META_APP_ID": TEST_APP_ID,
        "META_APP_SECRET": TEST_APP_SECRET,
        "META_VERIFY_TOKEN": TEST_VERIFY_TOKEN,
        "META_GRAPH_URL": TEST_GRAPH_URL,
        "META_DIALOG_URL": TEST_DIALOG_URL,
        "META_LOGIN_CONFIG_ID": None,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    config.update(extra)
    return config


@pytest.fixture
def app_config(_schema, tmp_path) -> dict:
    """Overrides for create_app; a test may change them before asking for `app`."""
    return _test_config(_schema, MEDIA_ROOT=str(tmp_path / "media"))


@pytest.fixture
def app(app_config, secret_scan):
    app = create_app(app_config)
    watch_responses(app, secret_scan)
    with app.app_context():
        yield app
        secret_scan.learn_from_database()
        db.session.remove()
        _empty_all_tables()
        journal_file = app.extensions.get("webhook_journal_file")
        if journal_file is not None and os.path.isfile(journal_file.path):
            journal_file.delete([delivery_id for delivery_id, _ in journal_file.oldest(10**9, 2**62)])
        webhook.stop(app)
        db.engine.dispose()


def watch_responses(app, scan):
    """Send every response of `app` (body and headers) to the secret scan."""
    from flask import request

    @app.after_request
    def _scan(response):
        if not response.direct_passthrough and not response.is_streamed:
            headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
            scan.outputs.append((f"{request.method} {request.path} -> {response.status_code}",
                                 headers + "\n" + response.get_data(as_text=True)))
        return response


def _empty_all_tables():
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright)"
    if not os.path.exists(CHROMIUM):
        return f"Debian's Chromium is missing at {CHROMIUM} (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright, one for the whole run: Playwright's sync API
    cannot start twice while one is alive, so every browser test shares this one.
    Where Chromium or Playwright is missing, the test is reported SKIPPED, never passed."""
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    def make(email: str | None = None, password: str = PASSWORD) -> User:
        user = User(email=email or f"user-{uuid.uuid4().hex[:8]}@example.com")
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_product(app, make_user):
    def make(name: str = "Cardio Plus", owner: User | None = None) -> Product:
        product = Product(name=name)
        db.session.add(product)
        db.session.flush()
        db.session.add(Membership(product_id=product.id, user_id=(owner or make_user()).id, role="owner"))
        db.session.commit()
        return product

    return make


class AuthActions:
    """Log a test client in and out, through the real login form."""

    def __init__(self, client, make_user):
        self._client = client
        self._make_user = make_user

    def login(self, user: User, password: str = PASSWORD, client=None):
        client = client or self._client
        page = client.get("/login")
        token = _csrf_from(page.get_data(as_text=True))
        response = client.post("/login", data={"email": user.email, "password": password, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def logout(self, client=None):
        client = client or self._client
        token = self.csrf_token(client)
        return client.post("/logout", data={"csrf_token": token})

    def as_member(self, product: Product, role: str = "agent", client=None) -> User:
        """Create a user with `role` in `product` and log the client in as them."""
        user = self._make_user()
        db.session.add(Membership(product_id=product.id, user_id=user.id, role=role))
        db.session.commit()
        self.login(user, client=client)
        return user

    def csrf_token(self, client=None) -> str:
        """A CSRF token valid for the client's current session."""
        client = client or self._client
        # Every page renders the layout, whose <body> carries the session's token for htmx.
        return _csrf_from(client.get("/", follow_redirects=True).get_data(as_text=True))


def _csrf_from(html: str) -> str:
    match = re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


@pytest.fixture
def auth(client, make_user):
    return AuthActions(client, make_user)


# --- Secret scan -------------------------------------------------------------
# Every page, fragment and JSON answer the portal gives in a test, every log
# record and every exception text is scanned for tokens and the app secret.
# Tokens are learnt from what crossed the wire to "Meta" (Authorization
# headers, token parameters, access_token fields in answers) and from the
# database; a hit fails the test that produced it.

TOKEN_PARAMS = ("access_token", "input_token", "fb_exchange_token", "client_secret")


class SecretScan:
    def __init__(self):
        self.outputs: list[tuple[str, str]] = []
        self.secrets: set[str] = {TEST_APP_SECRET}

    def learn_from_request(self, request, response):
        from urllib.parse import parse_qsl, urlsplit

        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            self.secrets.add(auth[7:].strip())
        pairs = parse_qsl(urlsplit(request.url).query)
        body = request.body
        if isinstance(body, (bytes, str)):
            text_body = body.decode(errors="replace") if isinstance(body, bytes) else body
            pairs += parse_qsl(text_body)
        for key, value in pairs:
            if key in TOKEN_PARAMS and value and "|" not in value:
                self.secrets.add(value)
        if response is not None:
            try:
                self._learn_json(response.json())
            except Exception:
                pass

    def _learn_json(self, data):
        if isinstance(data, dict):
            for key, value in data.items():
                if key == "access_token" and isinstance(value, str):
                    self.secrets.add(value)
                else:
                    self._learn_json(value)
        elif isinstance(data, list):
            for item in data:
                self._learn_json(item)

    def learn_from_database(self):
        from sqlalchemy import select

        from portal.models import WhatsAppAccount

        try:
            rows = db.session.execute(
                select(WhatsAppAccount.access_token, WhatsAppAccount.oauth_access_token,
                       WhatsAppAccount.oauth_refresh_token).execution_options(all_products=True)
            ).all()
        except Exception:
            db.session.rollback()
            return
        for row in rows:
            self.secrets.update(value for value in row if value)

    def hits(self) -> list[str]:
        secrets = {s for s in self.secrets if s and len(s) >= 8}
        return [f"{where}: contains a secret" for where, text in self.outputs if any(s in text for s in secrets)]


@pytest.fixture(autouse=True)
def secret_scan(monkeypatch, caplog):
    """Fail the test if a token or the app secret reaches a page, a JSON answer, a log or an exception."""
    import logging

    import requests

    scan = SecretScan()
    real_send = requests.Session.send

    def recording_send(self, request, **kwargs):
        try:
            response = real_send(self, request, **kwargs)
        except Exception:
            scan.learn_from_request(request, None)
            raise
        scan.learn_from_request(request, response)
        return response

    monkeypatch.setattr(requests.Session, "send", recording_send)
    caplog.set_level(logging.DEBUG)
    yield scan
    for record in caplog.records:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        scan.outputs.append((f"log record {record.name}", text))
    hits = scan.hits()
    assert not hits, hits
