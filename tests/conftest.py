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

from portal import create_app
from portal.extensions import db
from portal.models import Membership, Product, User

TEST_APP_ID = "123456789012345"
TEST_APP_SECRET = "test-app-secret-5f1c2d"
TEST_VERIFY_TOKEN = "test-verify-token-9a8b"
TEST_GRAPH_URL = "https://graph.meta.test"
TEST_DIALOG_URL = "https://www.meta.test"
TEST_KEY = Fernet.generate_key().decode()
PASSWORD = "correct horse battery"


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
def app_config(_schema) -> dict:
    """Overrides for create_app; a test may change them before asking for `app`."""
    return _test_config(_schema)


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


def _empty_all_tables():
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


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
