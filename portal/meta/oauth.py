"""The master app's OAuth client (Authlib): the dialog URL and the code exchange.

One client, named "meta", built from this app's config when the app is
created: dialog at `{META_DIALOG_URL}/{version}/dialog/oauth`, token endpoint
at `{META_GRAPH_URL}/{version}/oauth/access_token`, and the client id and
secret sent as form parameters (`client_secret_post`), as Meta expects.
The state is not Authlib's: the connect flow passes its own (see
portal/connect/attempts.py), kept in the database rather than the cookie.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from flask import current_app

from ..extensions import oauth
from .graph import GraphError
from .graph import _parse as parse_graph_response  # the Graph client's reading of Meta's answers

log = logging.getLogger(__name__)

CLIENT_NAME = "meta"
_EXTENSION_KEY = "maestra.meta_oauth"


@dataclass(frozen=True)
class CodeGrant:
    """What the code exchange returned. `repr` hides the token."""

    access_token: str
    expires_in: int | None

    def __repr__(self) -> str:
        return f"CodeGrant(access_token=<hidden>, expires_in={self.expires_in})"


def init_app(app) -> None:
    """Register the master app's client with this app's settings."""
    if app.extensions.get("authlib.integrations.flask_client") is not oauth:
        oauth.init_app(app)
    cfg = app.config
    version = cfg["META_GRAPH_VERSION"]
    # Authlib's registry caches one client per name; a process that builds
    # several apps (the tests do) must get a client with THIS app's settings.
    oauth._clients.pop(CLIENT_NAME, None)
    client = oauth.register(
        CLIENT_NAME,
        client_id=cfg["META_APP_ID"],
        client_secret=cfg["META_APP_SECRET"],
        authorize_url=f"{cfg['META_DIALOG_URL']}/{version}/dialog/oauth",
        access_token_url=f"{cfg['META_GRAPH_URL']}/{version}/oauth/access_token",
        client_kwargs={
            "token_endpoint_auth_method": "client_secret_post",
            "default_timeout": cfg["META_HTTP_TIMEOUT"],
        },
        compliance_fix=_read_meta_errors,
    )
    app.extensions[_EXTENSION_KEY] = client


def meta_client():
    """The current app's master-app client."""
    return current_app.extensions[_EXTENSION_KEY]


def authorization_url(state: str, redirect_uri: str) -> str:
    """The dialog URL: scopes, or a Facebook Login for Business configuration when one is set."""
    cfg = current_app.config
    extra: dict[str, str] = {}
    if cfg.get("META_LOGIN_CONFIG_ID"):
        extra = {
            "config_id": str(cfg["META_LOGIN_CONFIG_ID"]),
            "response_type": "code",
            "override_default_response_type": "true",
        }
    else:
        # Meta separates scopes with commas; Authlib passes a string through untouched.
        extra = {"scope": ",".join(s.strip() for s in str(cfg["META_OAUTH_SCOPES"]).split(",") if s.strip())}
    result = meta_client().create_authorization_url(redirect_uri, state=state, **extra)
    return result["url"]


def exchange_code(code: str, redirect_uri: str) -> CodeGrant:
    """Trade the dialog's code for a token. Any failure is a GraphError (no token in it)."""
    try:
        token = meta_client().fetch_access_token(redirect_uri=redirect_uri, code=code)
    except GraphError:
        raise
    except requests.Timeout:
        log.warning("oauth code exchange timed out")
        raise GraphError("Meta did not answer in time.", kind="timeout") from None
    except requests.RequestException as error:
        log.warning("oauth code exchange failed: %s", type(error).__name__)
        raise GraphError("Meta could not be reached.", kind="network") from None
    except Exception as error:  # Authlib's own checks (OAuthError, ValueError): never echo them
        log.warning("oauth code exchange refused: %s", type(error).__name__)
        raise GraphError("Meta's answer to the code exchange was not understood.", kind="malformed") from None
    access_token = token.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise GraphError("Meta's answer to the code exchange held no token.", kind="malformed")
    return CodeGrant(access_token=access_token, expires_in=_int_or_none(token.get("expires_in")))


def _read_meta_errors(session) -> None:
    """Let the Graph client read the token endpoint's answer, so its error
    envelope, a 5xx or a body that is not JSON become the same GraphError."""

    def hook(response):
        parse_graph_response(response, "POST", response.url.split("?", 1)[0])
        return response

    session.register_compliance_hook("access_token_response", hook)


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
