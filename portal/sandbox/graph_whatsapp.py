"""Graph's objects the portal reads and the WhatsApp Cloud API calls it makes."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, g, jsonify, request

from . import graph_errors as errors
from . import graph_media, openapi
from .graph_auth import owned, params, require_token, sandbox
from .graph_fields import BUSINESS, PHONE, PHONE_LIST, USER, WABA, page, select
from .world import MANAGEMENT

bp = Blueprint("sandbox_graph", __name__)


# --- who and which business ----------------------------------------------------

@bp.get("/<version:version>/me")
def me(version):
    token = require_token()
    business = sandbox().world.businesses[token.business_id]
    name = business.user_name if token.kind == "USER" else f"{business.name} system user"
    return jsonify(select({"id": token.user_id, "name": name}, USER))


@bp.get("/<version:version>/me/businesses")
def my_businesses(version):
    token = require_token()
    business = sandbox().world.businesses[token.business_id]
    return jsonify(_page([{"id": business.id, "name": business.name}], BUSINESS))


@bp.get("/<version:version>/<object_id>/owned_whatsapp_business_accounts")
def owned_wabas(version, object_id):
    token = require_token()
    g.meta_operation = openapi.OWNED_WABAS
    owned(token, object_id, ("business",), MANAGEMENT)
    world = sandbox().world
    return jsonify(_page([_waba(world.wabas[w]) for w in world.businesses[object_id].waba_ids], WABA))


# --- WhatsApp Business Accounts and numbers -------------------------------------

@bp.get("/<version:version>/<object_id>/phone_numbers")
def phone_numbers(version, object_id):
    token = require_token()
    g.meta_operation = openapi.PHONE_NUMBERS
    owned(token, object_id, ("waba",), MANAGEMENT)
    world = sandbox().world
    return jsonify(_page([_phone(world.phones[p]) for p in world.wabas[object_id].phone_ids], PHONE_LIST))


@bp.route("/<version:version>/<object_id>/subscribed_apps", methods=["GET", "POST", "DELETE"])
def subscribed_apps(version, object_id):
    g.meta_operation = openapi.SUBSCRIBED_APPS
    token = require_token()
    owned(token, object_id, ("waba",), MANAGEMENT)
    world, app_id = sandbox().world, current_app.config["META_APP_ID"]
    if request.method == "GET":
        apps = world.wabas[object_id].subscribed_apps
        return jsonify(data=[{"whatsapp_business_api_data": {
            "id": a, "link": f"https://www.facebook.com/games/?app_id={a}",
            "name": current_app.config["SANDBOX_APP_NAME"]}} for a in sorted(apps)])
    world.subscribe(object_id, app_id, on=request.method == "POST")
    return jsonify(success=True)


@bp.post("/<version:version>/<object_id>/register")
def register(version, object_id):
    g.meta_operation = openapi.REGISTER
    token = require_token()
    owned(token, object_id, ("phone",), MANAGEMENT)
    data = params()
    if data.get("messaging_product") != "whatsapp":
        raise errors.GraphAPIError("(#100) The parameter messaging_product is required.", 100)
    if not re.fullmatch(r"\d{6}", str(data.get("pin") or "")):
        raise errors.invalid_parameter("pin must be 6 digits")
    sandbox().world.register(object_id)
    return jsonify(success=True)


# --- single objects ------------------------------------------------------------------

@bp.route("/<version:version>/<object_id>", methods=["GET", "DELETE"])
def graph_object(version, object_id):
    token = require_token()
    world = sandbox().world
    if world.live_media(object_id) is not None:
        return graph_media.delete(token, object_id) if request.method == "DELETE" else graph_media.describe(token, object_id)
    if request.method == "DELETE":
        raise errors.unknown_object(object_id, "DELETE")
    owned(token, object_id, ("business", "waba", "phone"), MANAGEMENT)
    if object_id in world.wabas:
        g.meta_operation = openapi.WABA
        return jsonify(select(_waba(world.wabas[object_id]), WABA))
    if object_id in world.phones:
        g.meta_operation = openapi.PHONE
        return jsonify(select(_phone(world.phones[object_id]), PHONE))
    business = world.businesses[object_id]
    return jsonify(select({"id": business.id, "name": business.name}, BUSINESS))


@bp.route("/<version:version>/<path:rest>", methods=["GET", "POST", "DELETE"])
def unknown_path(version, rest):
    raise errors.GraphAPIError(f"Unknown path components: /{rest}", 2500)


# --- shapes -----------------------------------------------------------------------

def _waba(waba) -> dict:
    return {"id": waba.id, "name": waba.name, "currency": waba.currency, "timezone_id": waba.timezone_id,
            "message_template_namespace": waba.namespace, "account_review_status": "APPROVED"}


def _phone(phone) -> dict:
    registered = phone.platform_type == "CLOUD_API"
    return {"verified_name": phone.verified_name, "code_verification_status": "VERIFIED",
            "display_phone_number": phone.display, "quality_rating": phone.quality,
            "platform_type": phone.platform_type, "host_platform": "CLOUD_API" if registered else "ON_PREMISE",
            "status": "LINKED" if registered else "PENDING", "throughput": {"level": "STANDARD"},
            "name_status": "APPROVED", "messaging_limit_tier": "TIER_1K", "account_mode": "LIVE",
            "country_code": "US", "country_dial_code": "1", "is_official_business_account": False, "id": phone.id}


def _page(items: list[dict], node) -> dict:
    return page(items, node, current_app.config["SANDBOX_PAGE_SIZE"])
