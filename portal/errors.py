"""Error handlers in one place: a page for people, a fragment for htmx, JSON for machines."""
from __future__ import annotations

import logging
from contextlib import suppress

from flask import g, jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db, login
from .labels import N_
from .pages import is_fragment_request

log = logging.getLogger(__name__)

# Routes called by machines (Meta, load balancers) answer JSON.
API_PREFIX = "/api/"
MACHINE_PREFIXES = ("/webhook", "/meta/", "/healthz", "/readyz")

# Werkzeug's names and descriptions of the errors people meet, for the catalog: pages show them translated
# (`gettext(text)`, the text itself when the catalog has none); JSON answers keep them in English.
HTTP_TEXTS = (
    N_("Bad Request"), N_("The browser (or proxy) sent a request that this server could not understand."),
    N_("Unauthorized"),
    N_("The server could not verify that you are authorized to access the URL requested. You either supplied the "
       "wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials "
       "required."),
    N_("Forbidden"),
    N_("You don't have the permission to access the requested resource. It is either read-protected or not "
       "readable by the server."),
    N_("Not Found"),
    N_("The requested URL was not found on the server. If you entered the URL manually please check your spelling "
       "and try again."),
    N_("Method Not Allowed"), N_("The method is not allowed for the requested URL."),
    N_("Request Entity Too Large"), N_("The data value transmitted exceeds the capacity limit."),
    N_("Too Many Requests"), N_("This user has exceeded an allotted request count. Try again later."),
    N_("Internal Server Error"),
    N_("The server encountered an internal error and was unable to complete your request. Either the server is "
       "overloaded or there is an error in the application."),
    N_("Service Unavailable"),
    N_("Form expired"),
    N_("The form was missing its security token or it expired. Reload the page and try again."),
    N_("The portal cannot reach its database right now. Try again in a moment."),
    N_("Something went wrong on our side. It has been logged; please try again."),
)


def wants_json() -> bool:
    if request.path.startswith(MACHINE_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def render_error(code: int, title: str, message: str):
    if request.path.startswith(API_PREFIX):  # the product API has one error shape of its own
        from .api.errors import HTTP_CODES, error_response

        return error_response(code, HTTP_CODES.get(code, "error"), message or title)
    if wants_json():
        return jsonify(error={"code": code, "title": title, "message": message}), code
    template = "errors/_error.html" if is_fragment_request() else "errors/error.html"
    return render_template(template, code=code, title=_shown(title), message=_shown(message)), code


def _shown(text: str) -> str:
    """A page's text in the reader's language when the catalog has it (werkzeug's and ours above)."""
    return gettext(text) if text else text


def init_app(app):
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_error(400, "Form expired", "The form was missing its security token or it expired. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        return render_error(error.code or 500, error.name, error.description or "")

    @app.errorhandler(OperationalError)
    def _database_unavailable(error: OperationalError):
        # The database is down or restarting (or gave up on a lock): a 503 to try again, not a bug report.
        with suppress(SQLAlchemyError):  # the connection may be gone already
            db.session.rollback()
        log.warning("database unavailable on %s %s: %s", request.method, request.path,
                    type(error.orig).__name__ if error.orig is not None else type(error).__name__)
        g._login_user = login.anonymous_user()  # the page must not load the user: that needs the database
        return render_error(503, "Service Unavailable", "The portal cannot reach its database right now. Try again in a moment.")

    @app.errorhandler(Exception)
    def _unexpected(error):
        db.session.rollback()
        log.error("unhandled error on %s %s: %s", request.method, request.path, type(error).__name__, exc_info=error)
        return render_error(500, InternalServerError().name, "Something went wrong on our side. It has been logged; please try again.")
