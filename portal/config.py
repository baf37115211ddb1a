"""Settings from the environment, checked once at start.

Config keys are exactly the environment variable names of the design's table,
so `app.config["META_APP_ID"]` means the same thing everywhere.
"""
from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlparse

from cryptography.fernet import Fernet
from dotenv import load_dotenv

ENVIRONMENTS = ("production", "demo", "test")

# Required outside demo and test: without them the portal cannot be secure.
REQUIRED_IN_PRODUCTION = (
    "SECRET_KEY",
    "TOKEN_ENCRYPTION_KEYS",
    "META_APP_ID",
    "META_APP_SECRET",
    "META_VERIFY_TOKEN",
)

DEFAULTS: dict[str, object] = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": None,
    "DATABASE_URL": None,  # SQLite file under instance/ when unset
    "META_APP_ID": None,
    "META_APP_SECRET": None,
    "META_VERIFY_TOKEN": None,
    "META_GRAPH_VERSION": "v25.0",
    "META_GRAPH_URL": "https://graph.facebook.com",
    "META_DIALOG_URL": "https://www.facebook.com",
    "META_LOGIN_CONFIG_ID": None,
    "META_OAUTH_SCOPES": "whatsapp_business_management,whatsapp_business_messaging",
    "META_HTTP_TIMEOUT": 10.0,
    "TOKEN_ENCRYPTION_KEYS": None,
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_RATE_LIMIT": "10 per minute",
    "FEED_POLL_SECONDS": 2,
    "META_SEND_READ_RECEIPTS": False,  # tell Meta when an agent opens a conversation (blue ticks)
    "WEBHOOK_MAX_BYTES": 4 * 1024 * 1024,
    # journal: answer 200 once the signed body is committed, store its changes in the
    # background (portal/webhook/journal.py); inline: store them before answering.
    "WEBHOOK_PROCESSING": "journal",
    # The job engine's queue (portal/jobs.py): unset means a SQLite file beside a SQLite
    # database, or the PostgreSQL database itself; memory:// in tests.
    "JOBS_URL": None,
    "JOBS_IMMEDIATE": None,  # run jobs at once in the enqueuing thread (default: only in tests)
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": None,  # json (production) or text (demo, test)
    "PASSWORD_HASH_METHOD": "scrypt",  # werkzeug's scrypt defaults (n=2**15)
    # Email (Flask-Mailman) for invitations and password resets; none is sent while MAIL_SERVER is unset.
    "MAIL_SERVER": None,
    "MAIL_PORT": 587,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_USE_TLS": True,
    "MAIL_USE_SSL": False,
    "MAIL_DEFAULT_SENDER": None,
    "MAIL_BACKEND": None,  # smtp when MAIL_SERVER is set; "locmem" in tests, "console" prints them
    "INVITATION_DAYS": 7,
    "PASSWORD_RESET_MINUTES": 60,
}

# Values in the demo: a local Meta stand-in on its own port (see portal/sandbox).
DEMO_META = {
    "META_APP_ID": "1000000000000001",
    "META_APP_SECRET": "demo-app-secret-not-for-production",
    "META_VERIFY_TOKEN": "demo-verify-token",
    "META_GRAPH_URL": "http://127.0.0.1:5001",
    "META_DIALOG_URL": "http://127.0.0.1:5001",
}

WEBHOOK_PROCESSING_MODES = ("journal", "inline")
INT_KEYS = ("FEED_POLL_SECONDS", "WEBHOOK_MAX_BYTES", "MAIL_PORT", "INVITATION_DAYS", "PASSWORD_RESET_MINUTES")
BOOL_KEYS = ("META_SEND_READ_RECEIPTS", "JOBS_IMMEDIATE", "MAIL_USE_TLS", "MAIL_USE_SSL")
FLOAT_KEYS = ("META_HTTP_TIMEOUT",)


class ConfigError(RuntimeError):
    """The configuration cannot run the portal; the message says why in one line."""


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    """Read settings from the environment, apply overrides, validate, derive."""
    overrides = dict(overrides or {})
    if overrides.get("PORTAL_ENV") != "test":
        load_dotenv(override=False)  # a .env file works too; real environment variables win
    env_name = overrides.get("PORTAL_ENV") or os.environ.get("PORTAL_ENV") or "production"
    if env_name not in ENVIRONMENTS:
        raise ConfigError(f"PORTAL_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env_name!r}")

    cfg: dict[str, object] = {}
    for key, default in DEFAULTS.items():
        value = os.environ.get(key)
        cfg[key] = value if value not in (None, "") else default
    if env_name in ("demo", "test"):
        for key, value in DEMO_META.items():
            if not os.environ.get(key):
                cfg[key] = value
    cfg.update(overrides)
    cfg["PORTAL_ENV"] = env_name

    if env_name == "production":
        missing = [k for k in REQUIRED_IN_PRODUCTION if not cfg.get(k)]
        if missing:
            raise ConfigError(f"missing required setting(s): {', '.join(missing)} (see .env.example)")
        _refuse_non_meta_endpoints(cfg)
    else:
        _fill_dev_secrets(cfg, instance_path, persist=(env_name == "demo"))

    for key in INT_KEYS:
        cfg[key] = _number(cfg, key, int)
    for key in FLOAT_KEYS:
        cfg[key] = _number(cfg, key, float)
    if cfg["JOBS_IMMEDIATE"] is None:
        cfg["JOBS_IMMEDIATE"] = env_name == "test" and not cfg.get("JOBS_URL")
    for key in BOOL_KEYS:
        cfg[key] = _flag(cfg, key)
    cfg["TOKEN_ENCRYPTION_KEYS"] = _parse_keys(cfg["TOKEN_ENCRYPTION_KEYS"])
    cfg["META_GRAPH_URL"] = str(cfg["META_GRAPH_URL"]).rstrip("/")
    cfg["META_DIALOG_URL"] = str(cfg["META_DIALOG_URL"]).rstrip("/")
    cfg["SQLALCHEMY_DATABASE_URI"] = _database_url(cfg.get("DATABASE_URL"), instance_path)
    cfg["LOG_FORMAT"] = cfg["LOG_FORMAT"] or ("json" if env_name == "production" else "text")
    cfg["TESTING"] = env_name == "test"
    if env_name == "demo" and not cfg.get("MAIL_SERVER") and not cfg.get("MAIL_BACKEND"):
        cfg["MAIL_BACKEND"] = "console"  # the demo prints invitation and reset emails in its terminal
    if env_name == "test" and "PASSWORD_HASH_METHOD" not in overrides:
        cfg["PASSWORD_HASH_METHOD"] = "scrypt:1024:8:1"  # still scrypt, cheap enough for thousands of test logins
    if env_name == "test" and "WEBHOOK_PROCESSING" not in overrides and not os.environ.get("WEBHOOK_PROCESSING"):
        cfg["WEBHOOK_PROCESSING"] = "inline"  # tests read what a POST stored right after it; journal tests opt in
    if cfg["WEBHOOK_PROCESSING"] not in WEBHOOK_PROCESSING_MODES:
        raise ConfigError(f"WEBHOOK_PROCESSING must be one of {', '.join(WEBHOOK_PROCESSING_MODES)}, not {cfg['WEBHOOK_PROCESSING']!r}")
    cfg["JOBS_URL"] = _jobs_url(cfg, env_name)
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["SESSION_COOKIE_SECURE"] = env_name == "production"
    cfg["REMEMBER_COOKIE_HTTPONLY"] = True
    cfg["REMEMBER_COOKIE_SECURE"] = env_name == "production"
    cfg["MAX_CONTENT_LENGTH"] = cfg["WEBHOOK_MAX_BYTES"]
    cfg["WTF_CSRF_TIME_LIMIT"] = None  # tied to the session instead
    cfg["RATELIMIT_HEADERS_ENABLED"] = False
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(cfg["SQLALCHEMY_DATABASE_URI"])
    return cfg


def _number(cfg: dict, key: str, kind):
    try:
        return kind(cfg[key])
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number, not {cfg[key]!r}") from None


def _flag(cfg: dict, key: str) -> bool:
    value = cfg[key]
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{key} must be true or false, not {value!r}")


def _parse_keys(raw) -> list[str]:
    keys = [k.strip() for k in raw.split(",")] if isinstance(raw, str) else list(raw or [])
    keys = [k for k in keys if k]
    if not keys:
        raise ConfigError("TOKEN_ENCRYPTION_KEYS must hold at least one Fernet key")
    for index, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except Exception:
            raise ConfigError(
                f"TOKEN_ENCRYPTION_KEYS key #{index} is not a valid Fernet key "
                "(make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            ) from None
    return keys


def _refuse_non_meta_endpoints(cfg: dict) -> None:
    """Production talks to Meta over HTTPS with a real (numeric) app id; a local
    stand-in (plain http on a loopback port) can therefore never be reached."""
    for key in ("META_GRAPH_URL", "META_DIALOG_URL"):
        url = urlparse(str(cfg[key]))
        if url.scheme != "https" or url.hostname in ("localhost", "127.0.0.1", "::1"):
            raise ConfigError(f"{key} must be an https URL of Meta in production, not {cfg[key]!r}")
    if not str(cfg["META_APP_ID"]).isdigit() or str(cfg["META_APP_ID"]) == DEMO_META["META_APP_ID"]:
        raise ConfigError("META_APP_ID must be the numeric id of your Meta app in production")


def _fill_dev_secrets(cfg: dict, instance_path: str, persist: bool) -> None:
    """Generate what a newcomer has not set. The demo keeps them in instance/ so a
    restart can still decrypt the tokens it stored; tests get fresh ones."""
    store = Path(instance_path) / "demo-secrets.json"
    saved: dict[str, str] = {}
    if persist and store.exists():
        saved = json.loads(store.read_text())
    generated = {
        "SECRET_KEY": saved.get("SECRET_KEY") or secrets.token_urlsafe(32),
        "TOKEN_ENCRYPTION_KEYS": saved.get("TOKEN_ENCRYPTION_KEYS") or Fernet.generate_key().decode(),
    }
    for key, value in generated.items():
        if not cfg.get(key):
            cfg[key] = value
    if persist and not store.exists():
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps(generated))
        store.chmod(0o600)


def _database_url(url, instance_path: str) -> str:
    if not url:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        return "sqlite:///" + str(Path(instance_path) / "maestra.db")
    url = str(url)
    # Accept the common postgres:// spelling and use psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _jobs_url(cfg: dict, env_name: str) -> str:
    """Where the job engine keeps its queue: JOBS_URL, else memory in tests, else beside the data."""
    url = str(cfg.get("JOBS_URL") or "")
    if not url:
        database = cfg["SQLALCHEMY_DATABASE_URI"]
        if env_name == "test" or database in ("sqlite://", "sqlite:///:memory:"):
            return "memory://"
        if database.startswith("sqlite:///"):
            return database + ".jobs"
        url = database
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    url = re.sub(r"^postgresql\+\w+://", "postgresql://", url)
    if not re.match(r"^(sqlite:///.+|postgresql://.+|memory://)$", url):
        raise ConfigError(f"JOBS_URL must be sqlite:///PATH, postgresql://... or memory://, not {url!r}")
    return url


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}
