"""Maestra: the application factory."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext
from jinja2 import BytecodeCache
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import ConfigError, load_config
from .database import include_in_migrations, render_migration_item
from .extensions import csrf, db, htmx, limiter, login, migrate
from .sessions import CookieSessionInterface

__all__ = ["ConfigError", "create_app"]


class _ProcessBytecodeCache(BytecodeCache):
    """Compiled templates shared by every app the process builds (keys include the
    source checksum, so an edited template is compiled again)."""

    def __init__(self):
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        code = self._store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self._store[bucket.key] = bucket.bytecode_to_string()


_BYTECODE_CACHE = _ProcessBytecodeCache()


def create_app(overrides: dict | None = None) -> Flask:
    """Build the portal. Settings come from the environment (and .env), then `overrides`."""
    app = Flask(__name__, instance_relative_config=True, template_folder="../templates", static_folder="../static")
    app.config.from_mapping(load_config(app.instance_path, overrides))
    app.jinja_options = {**app.jinja_options, "bytecode_cache": _BYTECODE_CACHE}
    app.session_interface = CookieSessionInterface()
    if app.config["TRUSTED_PROXY_HOPS"]:
        # Behind N load balancers the peer is the last of them: the client address (what the login
        # limit counts) is the entry they appended to X-Forwarded-For, and only theirs is believed.
        hops = app.config["TRUSTED_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    db.init_app(app)
    migrate.init_app(
        app, db, directory=_migrations_dir(), render_as_batch=True, compare_type=True,
        render_item=render_migration_item, include_name=include_in_migrations,
    )
    login.init_app(app)
    login.login_view = "auth.login"
    login.login_message = lazy_gettext("Please log in to see that page.")
    csrf.init_app(app)
    limiter.init_app(app)
    htmx.init_app(app)

    from . import cli, database, errors, health, i18n, jobs, layout, mail, observability, security, tenancy

    observability.init_app(app)
    i18n.init_app(app)
    database.init_app(app)
    health.init_app(app)
    tenancy.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    layout.init_app(app)
    mail.init_app(app)
    _register_blueprints(app)
    jobs.init_app(app)  # after the features, whose imports declare their jobs

    @app.context_processor
    def _layout_context():
        return {"feed_poll_seconds": app.config["FEED_POLL_SECONDS"]}

    return app


def _register_blueprints(app: Flask) -> None:
    from .auth import bp as auth_bp
    from .products import bp as products_bp
    from .products import product_bp

    for blueprint in (auth_bp, products_bp, product_bp):
        app.register_blueprint(blueprint)

    # Each feature wires its own blueprints, panels and commands.
    from . import api, connect, inbox, media, message_templates, outgoing, webhook

    for feature in (connect, webhook, inbox, media, message_templates, api, outgoing):
        feature.init_app(app)


def _migrations_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")
