"""Which language and time zone a request is shown in.

Language: the user's setting, else the one chosen with the switch before logging in
(kept in the session), else the browser's Accept-Language, else English.
Time zone: the user's own setting, else the product in scope's, else UTC.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import g, has_request_context, request, session
from flask_login import current_user

LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE = "en"
DEFAULT_TIMEZONE = "UTC"
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "translations"
SESSION_KEY = "language"


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT_LANGUAGE
    user_choice = getattr(current_user, "language", None) if current_user else None
    if user_choice in LANGUAGES:
        return user_choice
    if session.get(SESSION_KEY) in LANGUAGES:
        return session[SESSION_KEY]
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LANGUAGE)


def select_timezone() -> str:
    if not has_request_context():
        return DEFAULT_TIMEZONE
    user_zone = getattr(current_user, "timezone", None) if current_user else None
    if user_zone:
        return user_zone
    product = g.get("product")
    return getattr(product, "timezone", None) or DEFAULT_TIMEZONE


def is_timezone(name: str | None) -> bool:
    if not name or name not in _zone_names():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@cache
def timezone_choices() -> tuple[str, ...]:
    """IANA zone names a person would pick (Area/City, and UTC), sorted."""
    return tuple(sorted(name for name in _zone_names() if "/" in name and not name.startswith(("Etc/", "SystemV/"))
                        )) + ("UTC",)


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def fresh_session() -> None:
    """Empty the session (at login and logout: nothing set before survives) except the language
    chosen with the switch, which is a preference, not a credential."""
    language = session.get(SESSION_KEY)
    session.clear()
    if language in LANGUAGES:
        session[SESSION_KEY] = language
