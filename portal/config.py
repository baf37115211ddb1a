"""Settings from the environment, checked once at start.

Config keys are exactly the environment variable names of the design's table,
so `app.config["META_APP_ID"]` means the same thing everywhere.
"""
from __future__ import annotations

import json
import os
import re
import secrets
from datetime import timedelta
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
    "LOGIN_RATE_LIMIT": "10 per minute",  # per client address, and failed logins per account
    # How many proxies (load balancers) in front append to X-Forwarded-For: only their entries are
    # believed. 0: the peer address is the client (nothing in front, or a proxy we must not trust).
    "TRUSTED_PROXY_HOPS": 0,
    # A signed-in session ends after this long without a request (each request renews it).
    "SESSION_LIFETIME_HOURS": 12,
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
    "MEDIA_ROOT": None,  # where media files are kept, a folder per product (default: instance/media)
    # Outgoing webhooks to private/loopback addresses (default: only in demo and test).
    "OUTGOING_WEBHOOKS_ALLOW_PRIVATE": None,
    "OUTGOING_WEBHOOK_TIMEOUT": 10.0,  # seconds for one delivery attempt
    "API_RATE_LIMIT": "120 per minute",  # per API key
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

# The demo's two servers on this machine (`make run`): PORTAL_PORT and SANDBOX_PORT move them,
# and every URL that names one of them (the portal's Meta URLs, the sandbox's webhook target,
# the sandbox CLI) is derived from these, never written out.
DEMO_HOST = "127.0.0.1"
DEMO_PORTS = {"PORTAL_PORT": 5000, "SANDBOX_PORT": 5001}

# Values in the demo: a local Meta stand-in on its own port (see portal/sandbox). The URLs here are
# those of the default port; load_config uses demo_url("SANDBOX_PORT").
DEMO_META = {
    "META_APP_ID": "1000000000000001",
    "META_APP_SECRET": "demo-app-secret-not-for-production",
    "META_VERIFY_TOKEN": "demo-verify-token",
    "META_GRAPH_URL": "http://127.0.0.1:5001",
    "META_DIALOG_URL": "http://127.0.0.1:5001",
}

# Values anyone can read (.env.example, the demo): a portal started with one of them as a
# secret would sign sessions or accept webhooks with a key the whole world knows.
PUBLIC_PLACEHOLDERS = {
    "change-me-to-a-long-random-string",
    "choose-a-random-string-and-enter-it-in-the-webhook-settings",
    DEMO_META["META_APP_SECRET"],
    DEMO_META["META_VERIFY_TOKEN"],
}
SECRET_SETTINGS = ("SECRET_KEY", "META_APP_SECRET", "META_VERIFY_TOKEN")
MIN_SECRET_KEY_BYTES = 32

WEBHOOK_PROCESSING_MODES = ("journal", "inline")
INT_KEYS = (
    "FEED_POLL_SECONDS", "WEBHOOK_MAX_BYTES", "TRUSTED_PROXY_HOPS", "MAIL_PORT", "INVITATION_DAYS",
    "PASSWORD_RESET_MINUTES",
)
BOOL_KEYS = ("META_SEND_READ_RECEIPTS", "JOBS_IMMEDIATE", "OUTGOING_WEBHOOKS_ALLOW_PRIVATE", "MAIL_USE_TLS", "MAIL_USE_SSL")
FLOAT_KEYS = ("META_HTTP_TIMEOUT", "SESSION_LIFETIME_HOURS", "OUTGOING_WEBHOOK_TIMEOUT")


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
        sandbox = demo_url("SANDBOX_PORT")
        for key, value in {**DEMO_META, "META_GRAPH_URL": sandbox, "META_DIALOG_URL": sandbox}.items():
            if not os.environ.get(key):
                cfg[key] = value
    cfg.update(overrides)
    cfg["PORTAL_ENV"] = env_name

    if env_name == "production":
        missing = [k for k in REQUIRED_IN_PRODUCTION if not cfg.get(k)]
        if missing:
            raise ConfigError(f"missing required setting(s): {', '.join(missing)} (see .env.example)")
        _refuse_public_secrets(cfg)
        _refuse_non_meta_endpoints(cfg)
    else:
        _fill_dev_secrets(cfg, instance_path, persist=(env_name == "demo"))

    for key in INT_KEYS:
        cfg[key] = _number(cfg, key, int)
    for key in FLOAT_KEYS:
        cfg[key] = _number(cfg, key, float)
    if cfg["JOBS_IMMEDIATE"] is None:
        cfg["JOBS_IMMEDIATE"] = env_name == "test" and not cfg.get("JOBS_URL")
    if cfg["OUTGOING_WEBHOOKS_ALLOW_PRIVATE"] is None:
        cfg["OUTGOING_WEBHOOKS_ALLOW_PRIVATE"] = env_name in ("demo", "test")
    for key in BOOL_KEYS:
        cfg[key] = _flag(cfg, key)
    if not 0 <= cfg["TRUSTED_PROXY_HOPS"] <= 10:
        raise ConfigError(f"TRUSTED_PROXY_HOPS must be a number of proxies from 0 to 10, not {cfg['TRUSTED_PROXY_HOPS']}")
    if not 0 < cfg["SESSION_LIFETIME_HOURS"] <= 24 * 31:
        raise ConfigError(f"SESSION_LIFETIME_HOURS must be more than 0 and at most 744, not {cfg['SESSION_LIFETIME_HOURS']:g}")
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
    cfg["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=cfg["SESSION_LIFETIME_HOURS"])
    cfg["SESSION_REFRESH_EACH_REQUEST"] = True  # sliding: an idle session ends, a working one does not
    cfg["MEDIA_ROOT"] = os.path.abspath(str(cfg["MEDIA_ROOT"] or os.path.join(instance_path, "media")))
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


def demo_port(name: str) -> int:
    """PORTAL_PORT or SANDBOX_PORT from the environment (a port number), else its default."""
    raw = (os.environ.get(name) or "").strip() or str(DEMO_PORTS[name])
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{name} must be a port number (1 to 65535), not {raw!r}")
    return int(raw)


def demo_url(name: str) -> str:
    """The base URL of a demo server on this machine: demo_url("SANDBOX_PORT") is the sandbox."""
    return f"http://{DEMO_HOST}:{demo_port(name)}"


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


def _refuse_public_secrets(cfg: dict) -> None:
    for key in SECRET_SETTINGS:
        if str(cfg[key]).strip() in PUBLIC_PLACEHOLDERS:
            raise ConfigError(f"{key} is a published placeholder (.env.example or the demo): set a random value of your own")
    if len(str(cfg["SECRET_KEY"]).encode()) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes "
                          "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')")


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
    persist = persist and not all(cfg.get(key) for key in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEYS"))
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
    from .database import json_text

    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}, "json_serializer": json_text}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10, "json_serializer": json_text}
