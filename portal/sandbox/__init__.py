"""The local Meta stand-in (demo and tests only): its own Flask app on its own port.

The portal never imports this package; it reaches the sandbox only through
META_GRAPH_URL / META_DIALOG_URL. `create_app()` refuses to build unless
PORTAL_ENV is demo or test.
"""
from __future__ import annotations

from flask import Flask, g, jsonify, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from .actions import Sandbox
from .delivery import Dispatcher
from .graph_errors import GraphAPIError
from .settings import SandboxRefused, load_settings
from .world import World

__all__ = ["SandboxRefused", "create_app"]

GRAPH_PREFIXES = ("/v", "/whatsapp_business/", "/api/")


class VersionConverter(BaseConverter):
    """Graph's version path segment, e.g. `v25.0`."""

    regex = r"v\d+\.\d+"


def create_app(overrides: dict | None = None) -> Flask:
    """Build the sandbox app. Settings come from the environment, then `overrides`."""
    settings = load_settings(overrides)
    app = Flask(__name__, template_folder="templates", static_folder="static", static_url_path="/sandbox-static")
    app.config.from_mapping(settings)
    app.url_map.converters["version"] = VersionConverter

    world = World(app.config["META_APP_ID"], state_file=app.config["SANDBOX_STATE_FILE"])
    dispatcher = Dispatcher(app.config["PORTAL_WEBHOOK_URL"], app.config["META_APP_SECRET"],
                            transport=app.config["SANDBOX_TRANSPORT"])
    if app.config["SANDBOX_BACKGROUND"]:
        dispatcher.start()
    app.extensions["sandbox"] = Sandbox(world, dispatcher, app.config)

    from . import (api, dialog, graph_media, graph_oauth, graph_profile, graph_send, graph_templates,
                   graph_whatsapp, language, phone, template_review)

    language.init_app(app)  # its pages in English or Spanish; the Graph API's JSON stays Meta's English

    csrf = CSRFProtect(app)  # the sandbox's own pages post forms; machine routes are exempt
    for blueprint in (graph_oauth.bp, graph_send.bp, graph_media.bp, graph_templates.bp, graph_profile.bp,
                      graph_whatsapp.bp, api.bp):
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint)
    app.register_blueprint(dialog.bp)
    app.register_blueprint(phone.bp)
    app.register_blueprint(template_review.bp)
    _errors(app)
    _headers(app)
    _versions(app)
    if app.config["SANDBOX_CHECK_RESPONSES"]:
        _check_responses(app)
    return app


def _versions(app: Flask) -> None:
    """Only the Graph versions Meta serves (SANDBOX_GRAPH_VERSIONS) answer."""
    @app.url_value_preprocessor
    def _known_version(endpoint, values):
        version = (values or {}).get("version")
        if version is not None and version not in app.config["SANDBOX_GRAPH_VERSIONS"]:
            raise GraphAPIError(f"Unknown path components: /{version}", 2500)


def _check_responses(app: Flask) -> None:
    """Every Graph answer of an operation in Meta's OpenAPI document must match its schema there
    (tests turn this on): a mismatch is a sandbox bug, answered as a 500 that names it."""
    from . import openapi

    @app.after_request
    def _conforms(response):
        path = g.get("meta_operation")
        if not path or not response.is_json:
            return response
        body = response.get_json(silent=True)
        problems = openapi.response_problems(path, request.method, response.status_code, body)
        if request.args.get("fields"):  # asked-for fields only: the schema's `required` does not apply
            problems = [p for p in problems if "is a required property" not in p]
        if problems:
            app.logger.error("sandbox answer breaks Meta's schema for %s %s: %s", request.method, path, problems)
            return jsonify(sandbox_bug={"operation": f"{request.method} {path}", "problems": problems}), 500
        return response


def _errors(app: Flask) -> None:
    @app.errorhandler(GraphAPIError)
    def _graph_error(error: GraphAPIError):
        return jsonify(error.envelope()), error.status

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return _("The form expired: go back, reload the page and try again."), 400

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        from flask import request

        if request.path.startswith(GRAPH_PREFIXES):
            return jsonify(error={"message": error.description, "type": "OAuthException", "code": 100}), error.code
        return f"{error.code} {error.name}: {error.description}", error.code


def _headers(app: Flask) -> None:
    @app.after_request
    def _security_headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
