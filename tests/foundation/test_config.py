"""Configuration: refuses to start without its secrets outside demo/test."""
import pytest
from cryptography.fernet import Fernet

from portal import ConfigError, create_app

PRODUCTION = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": "s" * 32,
    "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "META_APP_ID": "123456789012345",
    "META_APP_SECRET": "secret",
    "META_VERIFY_TOKEN": "verify",
    "DATABASE_URL": "sqlite://",
}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "TOKEN_ENCRYPTION_KEYS", "META_APP_ID", "META_APP_SECRET", "META_VERIFY_TOKEN"])
def test_production_refuses_to_start_without(missing, monkeypatch):
    monkeypatch.delenv(missing, raising=False)
    with pytest.raises(ConfigError, match=missing):
        create_app({**PRODUCTION, missing: None})


def test_production_starts_with_everything_and_secure_cookies():
    app = create_app(PRODUCTION)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["META_GRAPH_URL"] == "https://graph.facebook.com"
    assert app.config["META_GRAPH_VERSION"].startswith("v")


@pytest.mark.parametrize("key, value", [
    ("META_GRAPH_URL", "http://127.0.0.1:5001"),
    ("META_DIALOG_URL", "https://localhost:5001"),
    ("META_APP_ID", "1000000000000001"),
    ("META_APP_ID", "sandbox-app"),
])
def test_production_refuses_local_meta_stand_ins(key, value):
    with pytest.raises(ConfigError, match=key):
        create_app({**PRODUCTION, key: value})


def test_bad_values_are_one_line_errors():
    with pytest.raises(ConfigError, match="not a valid Fernet key"):
        create_app({**PRODUCTION, "TOKEN_ENCRYPTION_KEYS": "not-a-key"})
    with pytest.raises(ConfigError, match="PORTAL_ENV"):
        create_app({**PRODUCTION, "PORTAL_ENV": "staging"})
    with pytest.raises(ConfigError, match="FEED_POLL_SECONDS"):
        create_app({**PRODUCTION, "FEED_POLL_SECONDS": "often"})
    with pytest.raises(ConfigError, match="META_SEND_READ_RECEIPTS"):
        create_app({**PRODUCTION, "META_SEND_READ_RECEIPTS": "maybe"})


def test_flags_read_as_booleans(monkeypatch):
    monkeypatch.setenv("META_SEND_READ_RECEIPTS", "false")
    assert create_app({**PRODUCTION}).config["META_SEND_READ_RECEIPTS"] is False
    monkeypatch.setenv("META_SEND_READ_RECEIPTS", "true")
    assert create_app({**PRODUCTION}).config["META_SEND_READ_RECEIPTS"] is True


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("META_GRAPH_VERSION", "v99.0")
    app = create_app({**PRODUCTION})
    assert app.config["META_GRAPH_VERSION"] == "v99.0"


def test_demo_generates_and_keeps_dev_secrets(tmp_path, monkeypatch):
    for key in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEYS"):
        monkeypatch.delenv(key, raising=False)
    from portal.config import load_config

    first = load_config(str(tmp_path), {"PORTAL_ENV": "demo", "DATABASE_URL": "sqlite://"})
    second = load_config(str(tmp_path), {"PORTAL_ENV": "demo", "DATABASE_URL": "sqlite://"})
    assert first["SECRET_KEY"] and first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["TOKEN_ENCRYPTION_KEYS"] == second["TOKEN_ENCRYPTION_KEYS"]
    assert first["SESSION_COOKIE_SECURE"] is False
