"""The sandbox's settings: the same environment variables as the portal, and a few of its own.

It refuses to run outside demo and test: a production machine never serves it.
"""
from __future__ import annotations

import os
import secrets

from ..config import DEMO_META, ConfigError, demo_url

ALLOWED_ENVIRONMENTS = ("demo", "test")


class SandboxRefused(RuntimeError):
    """The sandbox was asked to start where it must not (PORTAL_ENV not demo or test)."""


def load_settings(overrides: dict | None = None) -> dict:
    overrides = dict(overrides or {})
    env_name = overrides.get("PORTAL_ENV") or os.environ.get("PORTAL_ENV") or "production"
    if env_name not in ALLOWED_ENVIRONMENTS:
        raise SandboxRefused(
            f"The Meta sandbox runs only with PORTAL_ENV=demo or test (here: {env_name!r}); "
            "it is never part of a production deployment."
        )

    def env(key: str, default):
        value = os.environ.get(key)
        return value if value not in (None, "") else default

    settings = {
        "PORTAL_ENV": env_name,
        "META_APP_ID": env("META_APP_ID", DEMO_META["META_APP_ID"]),
        "META_APP_SECRET": env("META_APP_SECRET", DEMO_META["META_APP_SECRET"]),
        "PORTAL_WEBHOOK_URL": env("PORTAL_WEBHOOK_URL", None) or _portal_webhook_url(),
        # Meta's Deauthorize Callback; unset means /meta/deauthorize on the webhook's host.
        "PORTAL_DEAUTHORIZE_URL": env("PORTAL_DEAUTHORIZE_URL", None),
        "SANDBOX_APP_NAME": env("SANDBOX_APP_NAME", "Maestra (sandbox)"),
        # Small pages so the portal's paging.next handling is exercised.
        "SANDBOX_PAGE_SIZE": int(env("SANDBOX_PAGE_SIZE", 1)),
        # Seconds after a send until the sent / delivered / read webhooks.
        "SANDBOX_STATUS_DELAYS": _delays(env("SANDBOX_STATUS_DELAYS", "0.5,1.5,3")),
        # "error": a send outside the 24-hour window answers 131047 at once;
        # "status": it is accepted and then fails with a 131047 status webhook.
        "SANDBOX_WINDOW_CLOSED_AS": env("SANDBOX_WINDOW_CLOSED_AS", "error"),
        "SANDBOX_STATE_FILE": env("SANDBOX_STATE_FILE", None),
        # Meta's review of a new template: "auto" (approved a moment later, or rejected when its
        # name holds "reject") or "manual" (PENDING until reviewed on the sandbox's templates page).
        "SANDBOX_TEMPLATE_REVIEW": env("SANDBOX_TEMPLATE_REVIEW", "auto"),
        # Webhook payloads: "current" (business-scoped user ids, usernames; Meta since April 2026)
        # or "legacy" (before: wa_id only), so the portal stays tested against both.
        "SANDBOX_WEBHOOK_SHAPE": env("SANDBOX_WEBHOOK_SHAPE", "current"),
        # Graph versions the sandbox answers; any other answers Meta's unknown-version error.
        "SANDBOX_GRAPH_VERSIONS": env("SANDBOX_GRAPH_VERSIONS", "v22.0,v23.0,v24.0,v25.0,v26.0"),
        # Check every Graph answer against Meta's OpenAPI document (a mismatch becomes a 500 naming it).
        "SANDBOX_CHECK_RESPONSES": env("SANDBOX_CHECK_RESPONSES", env_name == "test") in (True, "1", "true"),
        "SANDBOX_TRANSPORT": None,  # tests inject a callable (see delivery.py)
        "SANDBOX_BACKGROUND": True,  # deliver scheduled webhooks from a thread
        "SECRET_KEY": secrets.token_urlsafe(32),
        "SESSION_COOKIE_NAME": "sandbox_session",  # never collides with the portal's cookie on 127.0.0.1
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 101 * 1024 * 1024,  # media uploads: documents up to 100 MB
    }
    settings.update(overrides)
    settings["PORTAL_ENV"] = env_name
    if settings["SANDBOX_WEBHOOK_SHAPE"] not in ("current", "legacy"):
        raise SandboxRefused("SANDBOX_WEBHOOK_SHAPE must be 'current' or 'legacy'")
    if isinstance(settings["SANDBOX_GRAPH_VERSIONS"], str):
        settings["SANDBOX_GRAPH_VERSIONS"] = tuple(v.strip() for v in settings["SANDBOX_GRAPH_VERSIONS"].split(",") if v.strip())
    if settings["SANDBOX_TEMPLATE_REVIEW"] not in ("auto", "manual"):
        raise SandboxRefused("SANDBOX_TEMPLATE_REVIEW must be 'auto' or 'manual'")
    if settings["SANDBOX_WINDOW_CLOSED_AS"] not in ("error", "status"):
        raise SandboxRefused("SANDBOX_WINDOW_CLOSED_AS must be 'error' or 'status'")
    return settings


def _portal_webhook_url() -> str:
    """The demo portal's /webhook, on PORTAL_PORT like the portal itself."""
    try:
        return f"{demo_url('PORTAL_PORT')}/webhook"
    except ConfigError as error:
        raise SandboxRefused(str(error)) from None


def _delays(raw) -> tuple[float, float, float]:
    if isinstance(raw, (tuple, list)):
        values = [float(v) for v in raw]
    else:
        values = [float(v) for v in str(raw).split(",")]
    if len(values) != 3 or any(v < 0 for v in values):
        raise SandboxRefused("SANDBOX_STATUS_DELAYS must be three non-negative numbers: sent,delivered,read")
    return tuple(values)
