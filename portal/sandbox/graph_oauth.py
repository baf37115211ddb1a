"""Graph's OAuth endpoints: code exchange, long-lived exchange, debug_token."""
from __future__ import annotations

import hmac

from flask import Blueprint, current_app, jsonify

from . import graph_errors as errors
from .graph_auth import params, require_app_token, sandbox
from .world import DATA_ACCESS, MANAGEMENT, MESSAGING, Token

bp = Blueprint("sandbox_oauth", __name__)


@bp.route("/<version:version>/oauth/access_token", methods=["GET", "POST"])
def access_token(version):
    """Code -> token, or (grant_type=fb_exchange_token) short-lived -> 60-day token."""
    data = params()
    _check_client(data)
    world = sandbox().world
    if data.get("grant_type") == "client_credentials":
        # The app's own token (what `APPID|APPSECRET` stands for), as Meta issues it.
        return jsonify(access_token=world.issue_app_token(), token_type="bearer")
    if data.get("grant_type") == "fb_exchange_token":
        if not data.get("fb_exchange_token"):
            raise errors.missing_parameter("fb_exchange_token")
        token = world.extend(world.check_token(str(data["fb_exchange_token"])))
    else:
        for name in ("redirect_uri", "code"):
            if not data.get(name):
                raise errors.missing_parameter(name)
        token = world.redeem_code(str(data["code"]), str(data["redirect_uri"]))
    body = {"access_token": token.value, "token_type": "bearer"}
    if token.expires_at:
        body["expires_in"] = max(token.expires_at - world.now(), 0)
    return jsonify(body)


def _check_client(data: dict) -> None:
    if not data.get("client_id"):
        raise errors.missing_parameter("client_id")
    if str(data["client_id"]) != current_app.config["META_APP_ID"]:
        raise errors.bad_client_id()
    if not data.get("client_secret"):
        raise errors.missing_parameter("client_secret")
    if not hmac.compare_digest(str(data["client_secret"]).encode(), current_app.config["META_APP_SECRET"].encode()):
        raise errors.bad_client_secret()


@bp.get("/<version:version>/debug_token")
def debug_token(version):
    """What a token is and what it grants; only the master app's app token may ask."""
    require_app_token()
    data = params()
    if not data.get("input_token"):
        raise errors.missing_parameter("input_token")
    world = sandbox().world
    token = world.tokens.get(str(data["input_token"]))
    if token is None:
        return jsonify(data={"error": {"code": 190, "message": "Invalid OAuth access token."},
                             "is_valid": False, "scopes": []})
    body = _describe(token)
    problem = world.token_problem(token.value)
    if problem is not None:
        body["is_valid"] = False
        body["error"] = {"code": problem.code, "message": problem.message, "subcode": problem.subcode}
    return jsonify(data=body)


def _describe(token: Token) -> dict:
    world = sandbox().world
    waba_ids = world.business_waba_ids(token.business_id)
    targets = {MANAGEMENT: waba_ids, MESSAGING: waba_ids, "business_management": [token.business_id]}
    return {
        "app_id": current_app.config["META_APP_ID"],
        "type": token.kind,
        "application": current_app.config["SANDBOX_APP_NAME"],
        "data_access_expires_at": 0 if token.kind == "SYSTEM_USER" else token.issued_at + DATA_ACCESS,
        "expires_at": token.expires_at,
        "is_valid": True,
        "issued_at": token.issued_at,
        "scopes": list(token.scopes),
        "granular_scopes": [
            {"scope": scope, "target_ids": list(targets[scope])} if scope in targets else {"scope": scope}
            for scope in token.scopes
        ],
        "user_id": token.user_id,
    }
