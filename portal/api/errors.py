"""The API's one error shape, `{"error": {"code", "message"}}`, for every failure under /api/v1."""
from __future__ import annotations

import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException

from ..extensions import db

log = logging.getLogger(__name__)

# Werkzeug's status -> our code, for errors raised by Flask itself (unknown URL, wrong method...).
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
              422: "invalid", 429: "rate_limited"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_response(status: int, code: str, message: str, headers: dict | None = None):
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def register(bp) -> None:
    @bp.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return error_response(error.status, error.code, error.message, error.headers)

    bp.register_error_handler(Exception, unexpected)

    @bp.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 400
        if status == 429:
            return _rate_limited()
        return error_response(status, HTTP_CODES.get(status, "bad_request"), error.description or error.name)


def _rate_limited():
    from ..extensions import limiter

    current = limiter.current_limit
    retry_after = 1
    if current is not None:
        import time

        retry_after = max(1, int(current.reset_at - time.time()) + 1)
    return error_response(429, "rate_limited", "Too many requests with this key; try again after Retry-After seconds.",
                          {"Retry-After": str(retry_after)})


def unexpected(error: Exception):
    """Anything else under /api/v1: logged, rolled back, answered in the API's shape (a bug is a 500;
    the database being away is a 503 to retry)."""
    from sqlalchemy.exc import OperationalError

    db.session.rollback()
    if isinstance(error, OperationalError):
        return error_response(503, "unavailable", "The portal cannot reach its database right now; try again.",
                              {"Retry-After": "5"})
    log.error("unhandled API error: %s", type(error).__name__, exc_info=error)
    return error_response(500, "internal", "Something went wrong on our side. It has been logged.")
