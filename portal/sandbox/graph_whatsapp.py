"""Graph's objects the portal reads and the WhatsApp Cloud API calls it makes."""
from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, request

from . import graph_errors as errors
from .graph_auth import json_field, owned, params, require_token, sandbox
from .world import MANAGEMENT, MESSAGING, new_wamid

bp = Blueprint("sandbox_graph", __name__)

SEND_TYPES = {"text", "image", "video", "audio", "document", "sticker", "location", "contacts",
              "interactive", "template", "reaction"}
MEDIA_PATH = "/whatsapp_business/attachments/"


# --- who and which business ----------------------------------------------------

@bp.get("/<version:version>/me")
def me(version):
    token = require_token()
    business = sandbox().world.businesses[token.business_id]
    name = business.user_name if token.kind == "USER" else f"{business.name} system user"
    return jsonify(_fields({"id": token.user_id, "name": name}, default=("id", "name")))


@bp.get("/<version:version>/me/businesses")
def my_businesses(version):
    token = require_token()
    business = sandbox().world.businesses[token.business_id]
    return jsonify(_page([{"id": business.id, "name": business.name}]))


@bp.get("/<version:version>/<object_id>/owned_whatsapp_business_accounts")
def owned_wabas(version, object_id):
    token = require_token()
    owned(token, object_id, ("business",), MANAGEMENT)
    world = sandbox().world
    return jsonify(_page([_waba(world.wabas[w]) for w in world.businesses[object_id].waba_ids]))


# --- WhatsApp Business Accounts and numbers -------------------------------------

@bp.get("/<version:version>/<object_id>/phone_numbers")
def phone_numbers(version, object_id):
    token = require_token()
    owned(token, object_id, ("waba",), MANAGEMENT)
    world = sandbox().world
    return jsonify(_page([_phone(world.phones[p]) for p in world.wabas[object_id].phone_ids]))


@bp.route("/<version:version>/<object_id>/subscribed_apps", methods=["GET", "POST", "DELETE"])
def subscribed_apps(version, object_id):
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
    token = require_token()
    owned(token, object_id, ("phone",), MANAGEMENT)
    data = params()
    if data.get("messaging_product") != "whatsapp":
        raise errors.GraphAPIError("(#100) The parameter messaging_product is required.", 100)
    if not re.fullmatch(r"\d{6}", str(data.get("pin") or "")):
        raise errors.invalid_parameter("pin must be 6 digits")
    sandbox().world.register(object_id)
    return jsonify(success=True)


@bp.post("/<version:version>/<object_id>/messages")
def messages(version, object_id):
    """Send (or mark as read) from one of the token's numbers."""
    token = require_token()
    owned(token, object_id, ("phone",), MESSAGING)
    box = sandbox()
    phone = box.world.phones[object_id]
    data = params()
    if data.get("messaging_product") != "whatsapp":
        raise errors.GraphAPIError("(#100) The parameter messaging_product is required.", 100)
    if data.get("status") == "read":
        if not box.world.knows_inbound(phone.id, str(data.get("message_id") or "")):
            raise errors.invalid_parameter("message_id is not a message this number received")
        return jsonify(success=True)
    if phone.platform_type != "CLOUD_API":
        raise errors.not_registered()
    recipient, kind, content = _validated_send(data)
    if kind == "template":  # Meta's template checks; the phone shows the filled-in text
        from .templates import check_send

        content = dict(content, rendered=check_send(phone.waba_id, content))
    wamid = new_wamid()
    window_open = box.world.window_open(phone.id, recipient)
    if not window_open and kind != "template" and current_app.config["SANDBOX_WINDOW_CLOSED_AS"] == "error":
        raise errors.window_closed()
    box.world.record_message(phone.id, recipient, {"id": wamid, "type": kind, kind: content}, inbound=False)
    if window_open or kind == "template":
        box.after_send(phone, recipient, wamid)
    else:
        box.after_failed_send(phone, recipient, wamid)
    body = {"messaging_product": "whatsapp", "contacts": [{"input": str(data["to"]), "wa_id": recipient}],
            "messages": [{"id": wamid}]}
    if kind == "template":
        body["messages"][0]["message_status"] = "accepted"
    return jsonify(body)


def _validated_send(data: dict) -> tuple[str, str, dict]:
    recipient = "".join(c for c in str(data.get("to") or "") if c.isdigit())
    if not recipient:
        raise errors.GraphAPIError("(#100) The parameter to is required.", 100)
    kind = str(data.get("type") or "text")
    if kind not in SEND_TYPES:
        raise errors.GraphAPIError(f"(#100) Param type must be one of {{{', '.join(sorted(SEND_TYPES))}}}", 100)
    content = json_field(data, kind)
    if not isinstance(content, dict):
        raise errors.GraphAPIError(f"(#100) The parameter {kind} is required.", 100)
    if kind == "text":
        text = content.get("body")
        if not isinstance(text, str) or not text.strip():
            raise errors.GraphAPIError("(#100) The parameter text['body'] is required.", 100)
        if len(text) > 4096:
            raise errors.GraphAPIError("(#100) Param text['body'] must be at most 4096 characters long.", 100)
    if kind == "template" and not content.get("name"):
        raise errors.GraphAPIError("(#100) The parameter template['name'] is required.", 100)
    if kind == "reaction" and not content.get("message_id"):
        raise errors.GraphAPIError("(#100) The parameter reaction['message_id'] is required.", 100)
    return recipient, kind, content


# --- single objects and media -----------------------------------------------------

@bp.get("/<version:version>/<object_id>")
def graph_object(version, object_id):
    token = require_token()
    world = sandbox().world
    if object_id in world.media:
        owned(token, object_id, ("media",), MESSAGING)
        media = world.media[object_id]
        query = urlencode({"mid": media.id, "ext": "png", "hash": media.sha256[:16]})
        return jsonify(messaging_product="whatsapp", url=f"{request.host_url.rstrip('/')}{MEDIA_PATH}?{query}",
                       mime_type=media.mime_type, sha256=media.sha256, file_size=len(media.data), id=media.id)
    owned(token, object_id, ("business", "waba", "phone"), MANAGEMENT)
    if object_id in world.wabas:
        return jsonify(_fields(_waba(world.wabas[object_id]), default=("id", "name")))
    if object_id in world.phones:
        return jsonify(_fields(_phone(world.phones[object_id])))
    business = world.businesses[object_id]
    return jsonify(_fields({"id": business.id, "name": business.name}, default=("id", "name")))


@bp.get(MEDIA_PATH)
def media_download(version=None):
    """The media bytes: the URL alone is not enough, the owning business's token must come too."""
    token = require_token()
    media_id = request.args.get("mid", "")
    world = sandbox().world
    if media_id not in world.media:
        raise errors.GraphAPIError("Media not found", 100, status=404)
    owned(token, media_id, ("media",), MESSAGING)
    media = world.media[media_id]
    return Response(media.data, mimetype=media.mime_type, headers={"Content-Length": str(len(media.data))})


@bp.route("/<version:version>/<path:rest>", methods=["GET", "POST", "DELETE"])
def unknown_path(version, rest):
    raise errors.GraphAPIError(f"Unknown path components: /{rest}", 2500)


# --- shapes -----------------------------------------------------------------------

def _waba(waba) -> dict:
    return {"id": waba.id, "name": waba.name, "currency": waba.currency, "timezone_id": waba.timezone_id,
            "message_template_namespace": waba.namespace, "account_review_status": "APPROVED"}


def _phone(phone) -> dict:
    return {"verified_name": phone.verified_name, "code_verification_status": "VERIFIED",
            "display_phone_number": phone.display, "quality_rating": phone.quality,
            "platform_type": phone.platform_type, "throughput": {"level": "STANDARD"},
            "name_status": "APPROVED", "messaging_limit_tier": "TIER_1K", "id": phone.id}


def _fields(obj: dict, default: tuple[str, ...] | None = None) -> dict:
    """Graph returns the `fields` asked for (and always the id)."""
    raw = request.args.get("fields")
    wanted = [f.strip() for f in raw.split(",") if f.strip()] if raw else list(default or obj)
    return {key: obj[key] for key in obj if key in wanted or key == "id"}


def _page(items: list[dict]) -> dict:
    """A Graph page: `limit` (default SANDBOX_PAGE_SIZE), cursors, and `next` while more remain."""
    try:
        limit = max(1, min(100, int(request.args.get("limit") or current_app.config["SANDBOX_PAGE_SIZE"])))
    except ValueError:
        raise errors.invalid_parameter("limit must be a number") from None
    start = 0
    if request.args.get("after"):
        try:
            start = int(base64.urlsafe_b64decode(request.args["after"].encode()).decode()) + 1
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise errors.invalid_parameter("after is not a cursor of this list") from None
    chunk = [_fields(item) for item in items[start:start + limit]]
    body: dict = {"data": chunk}
    if chunk:
        body["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(chunk) - 1)}}
        if start + len(chunk) < len(items):
            query = {"limit": limit, "after": _cursor(start + len(chunk) - 1)}
            if request.args.get("fields"):
                query["fields"] = request.args["fields"]
            body["paging"]["next"] = f"{request.base_url}?{urlencode(query)}"
    return body


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(str(index).encode()).decode()
