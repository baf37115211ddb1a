"""The sandbox never runs in production, and a production portal never points at it."""
from __future__ import annotations

import pytest

from portal import demo
from portal.config import DEMO_META, ConfigError, load_config
from portal.sandbox import SandboxRefused, create_app

PRODUCTION = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "TOKEN_ENCRYPTION_KEYS": "oGkNbBq3SoE8iKJqlGFrS1QqQ0MUyv1rWqXvN1Zf3yI=",
    "META_APP_ID": "123456789012345",
    "META_APP_SECRET": "real-secret",
    "META_VERIFY_TOKEN": "real-verify",
    "META_GRAPH_URL": "https://graph.facebook.com",
    "META_DIALOG_URL": "https://www.facebook.com",
    "DATABASE_URL": "sqlite://",
}


@pytest.mark.parametrize("env", ["production", "staging", ""])
def test_sandbox_refuses_to_start_outside_demo_and_test(monkeypatch, env):
    monkeypatch.setenv("PORTAL_ENV", env)
    with pytest.raises(SandboxRefused, match="demo or test"):
        create_app()


def test_sandbox_refuses_a_production_override(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "test")
    with pytest.raises(SandboxRefused):
        create_app({"PORTAL_ENV": "production"})


def test_sandbox_starts_in_demo(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "demo")
    app = create_app({"SANDBOX_BACKGROUND": False})
    assert app.config["META_APP_ID"] == DEMO_META["META_APP_ID"]
    assert app.config["PORTAL_WEBHOOK_URL"] == "http://127.0.0.1:5000/webhook"


def test_production_portal_accepts_real_meta(tmp_path):
    assert load_config(str(tmp_path), PRODUCTION)["META_GRAPH_URL"] == "https://graph.facebook.com"


@pytest.mark.parametrize("override", [
    {"META_GRAPH_URL": DEMO_META["META_GRAPH_URL"]},
    {"META_DIALOG_URL": DEMO_META["META_DIALOG_URL"]},
    {"META_GRAPH_URL": "http://graph.facebook.com"},
    {"META_GRAPH_URL": "https://localhost:5001"},
    {"META_APP_ID": DEMO_META["META_APP_ID"]},
])
def test_production_portal_refuses_the_sandbox(tmp_path, monkeypatch, override):
    for key in PRODUCTION:
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigError):
        load_config(str(tmp_path), PRODUCTION | override)


def test_demo_command_refuses_without_demo_env(monkeypatch, capsys):
    monkeypatch.setenv("PORTAL_ENV", "production")
    assert demo.main() == 2
    assert "PORTAL_ENV=demo" in capsys.readouterr().err
