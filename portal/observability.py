"""Logs: one JSON line per request (request id, product, status, time), secrets redacted.

Every line the portal's handler writes, from any library, is redacted as a
last defence: a token or the app secret that slipped into a message is
masked before it is written. (The record itself is left alone, so tests that
inspect records still see what the code really logged.)
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

from flask import g, has_request_context, request

access_log = logging.getLogger("maestra.access")

# Meta user/system tokens start with EAA; plus anything labelled as a token or secret.
TOKEN_PATTERNS = [
    re.compile(r"EAA[A-Za-z0-9]{20,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-|]{8,}"),
    re.compile(r"(?i)((?:access_token|input_token|fb_exchange_token|client_secret|appsecret_proof|code)=)[^&\s\"']+"),
    re.compile(r"(?i)(\"(?:access_token|client_secret|token)\"\s*:\s*\")[^\"]+"),
]
# Line breaks and other control characters (C0, DEL, C1 and Unicode's line separators): in a
# text log, a decoded %0a in a request path would otherwise start a line of the caller's choosing.
ANSI_STYLES = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours its request lines: formatting, not content
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_secrets: set[str] = set()


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "[redacted]")
    for pattern in TOKEN_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


def escape_controls(text: str) -> str:
    """Control characters written as visible escapes (a line feed as \\x0a), so one record is one line."""
    return CONTROL_CHARACTERS.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                                  else f"\\u{ord(m.group()):04x}", ANSI_STYLES.sub("", text))


class RedactingFormatter(logging.Formatter):
    """Format, then mask secrets in the whole line (message, exception, fields)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatMessage(self, record: logging.LogRecord) -> str:
        # The record's line (every logged value in it) is escaped; a traceback after it keeps its lines.
        return escape_controls(super().formatMessage(record))


class JsonFormatter(RedactingFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(self._json(record))

    def _json(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = g.get("request_id")
            if g.get("tenant_product_id") is not None:
                entry["product_id"] = str(g.tenant_product_id)
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_access(method: str, path: str, status: int, started: float, request_id: str | None = None) -> None:
    """The one access line per request."""
    fields = {"method": method, "path": path, "status": status,
              "duration_ms": round((time.perf_counter() - started) * 1000, 2)}
    if request_id is not None:
        fields["request_id"] = request_id
    access_log.info("%s %s %s", method, path, status, extra={"fields": fields})


def request_id_from(incoming: str) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new one."""
    return incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex


def logging_configured() -> bool:
    """Whether the portal's handler is on the root logger (then nobody else may replace it)."""
    return any(getattr(h, "_maestra", False) for h in logging.getLogger().handlers)


def configure_logging(app) -> None:
    """Install one redacting handler on the root logger (once per process)."""
    for value in (app.config.get("META_APP_SECRET"), app.config.get("SECRET_KEY")):
        if value and len(str(value)) >= 6:
            _secrets.add(str(value))
    root = logging.getLogger()
    root.setLevel(app.config["LOG_LEVEL"])
    if logging_configured():
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._maestra = True  # type: ignore[attr-defined]
    if app.config.get("LOG_FORMAT", "json") == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)


def init_app(app) -> None:
    configure_logging(app)

    @app.before_request
    def _start_request():
        g.request_id = request_id_from(request.headers.get("X-Request-ID", ""))
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        # Skipped entirely when the level drops access lines (building the line is not free).
        if request.endpoint == "static" or not access_log.isEnabledFor(logging.INFO):
            return response
        # The path only: query strings can carry OAuth codes and states.
        log_access(request.method, request.path, response.status_code, g.get("request_started", time.perf_counter()))
        return response
