"""How a Graph request proves who it is: a token (Bearer header or access_token),
an optional appsecret_proof that must match it, and objects it may touch."""
from __future__ import annotations

import hashlib
import hmac
import json

from flask import current_app, request

from . import graph_errors as errors
from .world import Token


def sandbox():
    return current_app.extensions["sandbox"]


def params() -> dict:
    """Query, form and JSON body merged (Meta accepts parameters in any of them)."""
    merged = dict(request.args.items())
    merged.update(request.form.items())
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            merged.update(body)
    return merged


def presented_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    value = params().get("access_token")
    if not value:
        raise errors.no_token()
    return str(value)


def expected_proof(token: str) -> str:
    return hmac.new(current_app.config["META_APP_SECRET"].encode(), token.encode(), hashlib.sha256).hexdigest()


def check_proof(token: str) -> None:
    """With "Require App Secret", a wrong appsecret_proof is refused (checked whenever one is sent)."""
    proof = request.args.get("appsecret_proof") or request.form.get("appsecret_proof")
    if proof is not None and not hmac.compare_digest(str(proof).encode(), expected_proof(token).encode()):
        raise errors.bad_appsecret_proof()


def app_token() -> str:
    return f"{current_app.config['META_APP_ID']}|{current_app.config['META_APP_SECRET']}"


def require_app_token() -> None:
    """Only the master app's own token (`APPID|APPSECRET`) passes."""
    value = presented_token()
    check_proof(value)
    if value in sandbox().world.app_tokens:
        return  # issued by grant_type=client_credentials
    if "|" not in value:
        sandbox().world.check_token(value)  # an invalid user token is still a 190 first
        raise errors.app_token_required()
    if not hmac.compare_digest(value.encode(), app_token().encode()):
        raise errors.bad_app_token()


def require_token() -> Token:
    """The valid user or business token of this request (else Meta's 190/2500/100 errors)."""
    value = presented_token()
    check_proof(value)
    if "|" in value or value in sandbox().world.app_tokens:
        raise errors.app_token_as_user()  # an app token cannot act as a user
    return sandbox().world.check_token(value)


def owned(token: Token, object_id: str, kinds: tuple[str, ...], scope: str, method: str | None = None) -> None:
    """`object_id` must exist as one of `kinds` and belong to the token's business, with `scope` granted."""
    world = sandbox().world
    world.live_media(object_id)  # an expired media id is gone
    tables = {"business": world.businesses, "waba": world.wabas, "phone": world.phones, "media": world.media}
    if not any(object_id in tables[kind] for kind in kinds):
        raise errors.unknown_object(object_id, method or request.method)
    denied = errors.messaging_not_permitted if scope.endswith("messaging") else errors.permissions_error
    if world.business_of(object_id) != token.business_id or scope not in token.scopes:
        raise denied()


def json_field(data: dict, key: str):
    """A nested object from JSON or from a form field holding JSON (Meta accepts both)."""
    value = data.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
