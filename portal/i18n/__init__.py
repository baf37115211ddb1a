"""Languages and time zones: which language and zone a request is shown in, and the
filters that show every time in it.

Strings are marked with Flask-Babel's gettext (`_()` in Python, `{% trans %}` / `_()` in
templates); the catalogs live in `translations/` (see `translations/README.md`).
Stored times stay UTC (naive datetimes); they become local only when shown.
"""
from __future__ import annotations

from flask_babel import Babel

from . import formatting, selection

babel = Babel()


def init_app(app) -> None:
    babel.init_app(app, locale_selector=selection.select_locale, timezone_selector=selection.select_timezone,
                   default_translation_directories=str(selection.TRANSLATIONS_DIR))
    formatting.init_app(app)
    from .routes import bp

    app.register_blueprint(bp)
