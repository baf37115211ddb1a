"""/{phone-number-id}/whatsapp_business_profile: read and update a number's business profile.

Answers `{"data": [{...profile fields...}]}` as Meta's reference page and pywa
read it (the OpenAPI document wraps each item in `business_profile`, which its
own reference page does not).
"""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from . import graph_errors as errors
from . import openapi
from .graph_auth import owned, params, require_token, sandbox
from .graph_fields import PROFILE, select
from .world import MANAGEMENT

bp = Blueprint("sandbox_profile", __name__)

UPDATABLE = ("about", "address", "description", "email", "profile_picture_handle", "vertical", "websites")


@bp.route("/<version:version>/<object_id>/whatsapp_business_profile", methods=["GET", "POST"])
def business_profile(version, object_id):
    g.meta_operation = openapi.PROFILE
    token = require_token()
    owned(token, object_id, ("phone",), MANAGEMENT)
    world = sandbox().world
    if request.method == "GET":
        return jsonify(data=[select(world.profiles[object_id], PROFILE)])
    data = {k: v for k, v in params().items() if k not in ("access_token", "appsecret_proof")}
    problems = openapi.request_problems(openapi.PROFILE, "POST", data) if request.is_json else []
    if problems:
        raise errors.schema_refused("; ".join(problems[:3]))
    if data.get("messaging_product") != "whatsapp":
        raise errors.GraphAPIError("(#100) The parameter messaging_product is required.", 100)
    unknown = set(data) - set(UPDATABLE) - {"messaging_product"}
    if unknown:
        raise errors.invalid_parameter(f"unknown profile fields: {', '.join(sorted(unknown))}")
    with world.lock:
        profile = world.profiles[object_id]
        for key in UPDATABLE:
            if key in data and key != "profile_picture_handle":
                profile[key] = data[key]
        if data.get("profile_picture_handle"):
            profile["profile_picture_url"] = f"{request.host_url.rstrip('/')}/sandbox-static/profile.png"
    return jsonify(success=True)
