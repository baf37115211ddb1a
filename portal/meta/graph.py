"""The one way the portal calls Meta's Graph API.

Base URL and version come from config; every call has a timeout; every call
made with a token carries `appsecret_proof`; Meta's error envelope, a timeout,
a 5xx or a body that is not JSON all become one `GraphError`. Tokens never
appear in an exception text or a log line: URLs are logged without their
query string and errors carry only Meta's message, code and trace id.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from flask import current_app

log = logging.getLogger(__name__)

TOKEN_INVALID_CODES = {190, 102}  # expired, revoked or otherwise invalid token
RATE_LIMIT_CODES = {4, 17, 32, 613, 80007, 130429, 131056}
WINDOW_CLOSED_CODE = 131047

# A media id as Meta gives it in webhooks (`image.id`, ...): digits. Anything else (a URL, a path
# with slashes or "..") would make GET /{media_id} ask another host or another Graph object.
MEDIA_ID = re.compile(r"^[0-9]{1,32}$")
# Where Meta sends a token-bearing request may go besides the Graph host: its media and CDN
# hosts (lookaside.fbsbx.com for media URLs, *.fbcdn.net, *.whatsapp.net, *.facebook.com).
META_HOST_SUFFIXES = ("facebook.com", "fbsbx.com", "fbcdn.net", "whatsapp.net")


class GraphError(Exception):
    """A Graph call that did not succeed. Safe to show: it never holds a token."""

    def __init__(self, message: str, *, code: int | None = None, subcode: int | None = None,
                 fbtrace_id: str | None = None, http_status: int | None = None, kind: str = "meta",
                 details: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.kind = kind  # "meta" (error envelope), "http" (5xx etc.), "timeout", "network", "malformed"
        self.details = details

    @property
    def token_invalid(self) -> bool:
        return self.code in TOKEN_INVALID_CODES

    @property
    def rate_limited(self) -> bool:
        return self.code in RATE_LIMIT_CODES

    @property
    def retryable(self) -> bool:
        return self.rate_limited or self.kind in ("http", "timeout", "network")

    def __str__(self) -> str:
        code = f" (code {self.code}{'/' + str(self.subcode) if self.subcode else ''})" if self.code else ""
        return f"{self.message}{code}"


def check_media_id(media_id) -> str:
    """The media id, if it has Meta's shape (digits); GraphError otherwise, before any request."""
    if not isinstance(media_id, str) or not MEDIA_ID.match(media_id):
        raise GraphError("This media id is not one Meta gives.", kind="malformed")
    return media_id


def is_meta_url(url: str) -> bool:
    """An https URL on one of Meta's hosts, or on the configured Graph host (the sandbox in demo
    and test, which serves media itself; in production the Graph URL is Meta's, see config)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return False
    graph = urlsplit(current_app.config["META_GRAPH_URL"])
    if parts.scheme == graph.scheme and host == (graph.hostname or "").lower() and port == graph.port:
        return True
    return parts.scheme == "https" and port in (None, 443) and any(
        host == suffix or host.endswith("." + suffix) for suffix in META_HOST_SUFFIXES)


def appsecret_proof(token: str, app_secret: str) -> str:
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def app_access_token() -> str:
    """The master app's own token, `APPID|APPSECRET` (used for debug_token)."""
    return f"{current_app.config['META_APP_ID']}|{current_app.config['META_APP_SECRET']}"


@dataclass
class Graph:
    """A Graph client bound to one token (or none, for OAuth endpoints that take client credentials)."""

    token: str | None = None
    session: requests.Session | None = None

    @property
    def base_url(self) -> str:
        cfg = current_app.config
        return f"{cfg['META_GRAPH_URL']}/{cfg['META_GRAPH_VERSION']}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def get(self, path: str, params: dict | None = None) -> dict:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: dict | None = None, params: dict | None = None) -> dict:
        return self.request("POST", path, json=json, params=params)

    def delete(self, path: str, params: dict | None = None) -> dict:
        return self.request("DELETE", path, params=params)

    def request(self, method: str, path_or_url: str, *, params: dict | None = None, json: dict | None = None,
                stream: bool = False, data: dict | None = None, files: dict | None = None):
        """Call Graph; `path_or_url` may be a full URL Meta gave us (paging.next, media urls);
        `data` and `files` send a multipart form (media uploads)."""
        url = path_or_url if path_or_url.startswith(("http://", "https://")) else self.url(path_or_url)
        if url is path_or_url and not is_meta_url(url):
            # A URL from an answer or a webhook (paging.next, a media URL): the token goes to Meta only.
            log.warning("graph %s refused: not a Meta URL (%s)", method, urlsplit(url).hostname)
            raise GraphError("Meta pointed to an address that is not Meta's.", kind="malformed")
        params = dict(params or {})
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
            params["appsecret_proof"] = appsecret_proof(self.token, current_app.config["META_APP_SECRET"])
        timeout = current_app.config["META_HTTP_TIMEOUT"]
        http = self.session or requests
        safe_url = url.split("?", 1)[0]
        try:
            response = http.request(method, url, params=params, json=json, headers=headers, timeout=timeout, stream=stream,
                                    data=data, files=files)
        except requests.ConnectTimeout:  # the request never reached Meta
            log.warning("graph %s %s could not connect in time", method, safe_url)
            raise GraphError("Meta could not be reached.", kind="network") from None
        except requests.Timeout:  # sent, but no answer: Meta may have acted on it
            log.warning("graph %s %s timed out", method, safe_url)
            raise GraphError("Meta did not answer in time.", kind="timeout") from None
        except requests.RequestException as error:
            log.warning("graph %s %s failed: %s", method, safe_url, type(error).__name__)
            raise GraphError("Meta could not be reached.", kind="network") from None
        if stream and response.ok:
            return response
        return _parse(response, method, safe_url)


def _parse(response: requests.Response, method: str, safe_url: str) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        details = (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
        log.info("graph %s %s -> %s error code=%s fbtrace_id=%s", method, safe_url, response.status_code,
                 error.get("code"), error.get("fbtrace_id"))
        raise GraphError(
            str(error.get("error_user_msg") or error.get("message") or "Meta returned an error."),
            code=_int(error.get("code")), subcode=_int(error.get("error_subcode")),
            fbtrace_id=error.get("fbtrace_id"), http_status=response.status_code, kind="meta", details=details,
        )
    if response.status_code >= 400:
        log.info("graph %s %s -> %s", method, safe_url, response.status_code)
        raise GraphError(f"Meta answered HTTP {response.status_code}.", http_status=response.status_code, kind="http")
    if not isinstance(body, dict):
        log.info("graph %s %s -> malformed body", method, safe_url)
        raise GraphError("Meta's answer was not the JSON expected.", http_status=response.status_code, kind="malformed")
    return body


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
