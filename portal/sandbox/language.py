"""The sandbox's pages in English or Spanish (Flask-Babel, the portal's catalog).

Language: the one chosen with the switch on its pages (kept in the sandbox's session), else the
browser's Accept-Language, else English. Time zone: UTC (the sandbox is Meta's side).
The Graph API's JSON stays in Meta's English whatever the language.
"""
from __future__ import annotations

from flask import Blueprint, redirect, request, session, url_for
from flask_babel import Babel, get_locale
from flask_babel import gettext as _

from ..i18n.selection import DEFAULT_LANGUAGE, LANGUAGES, SESSION_KEY, TRANSLATIONS_DIR

babel = Babel()
bp = Blueprint("sandbox_language", __name__)


def select_locale() -> str:
    if session.get(SESSION_KEY) in LANGUAGES:
        return session[SESSION_KEY]
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LANGUAGE)


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale, default_timezone="UTC",
                   default_translation_directories=str(TRANSLATIONS_DIR))
    app.add_template_global(get_locale, "viewer_locale")
    app.register_blueprint(bp)


def _safe_next(target: str | None) -> str | None:
    """A path on this sandbox only (no scheme, no host, no //)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


@bp.post("/language")
def switch_language():
    """Show the sandbox's pages in the language posted, and remember it in the session."""
    language = request.form.get("language")
    if language not in LANGUAGES:
        return _("Unknown language."), 400
    session[SESSION_KEY] = language
    return redirect(_safe_next(request.form.get("next")) or url_for("sandbox_phone.phone"), 303)
