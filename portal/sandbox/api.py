"""A small JSON API on the sandbox for its CLI (`python -m portal.sandbox ...`).

JSON bodies only: a browser form on another site cannot post JSON without a
CORS preflight, which this API never grants.
"""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask_babel import force_locale

from .actions import SandboxInputError
from .delivery import Delivery
from .graph_auth import sandbox

bp = Blueprint("sandbox_api", __name__, url_prefix="/api")


def _body() -> dict:
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        abort(415, "Send a JSON object with Content-Type: application/json.")
    return body


def _delivery(delivery: Delivery | None) -> dict:
    if delivery is None:
        return {"delivered": False, "reason": "no app is subscribed to this number's WhatsApp account"}
    return {"delivered": delivery.ok, "http_status": delivery.status}


@bp.errorhandler(SandboxInputError)
def _bad_input(error):
    with force_locale("en"):  # the API is for scripts: English whatever the caller's Accept-Language
        return jsonify(error=str(error)), 400


@bp.get("/world")
def world():
    box = sandbox()
    return jsonify(
        businesses=[{"id": b.id, "name": b.name, "user_id": b.user_id, "wabas": [
            {"id": w, "name": box.world.wabas[w].name, "subscribed": box.app_id in box.world.wabas[w].subscribed_apps,
             "numbers": [{"phone_number_id": p, "display_phone_number": box.world.phones[p].display,
                          "quality_rating": box.world.phones[p].quality}
                         for p in box.world.wabas[w].phone_ids]}
            for w in b.waba_ids]} for b in box.world.businesses.values()],
        customers=[{"wa_id": wa_id, "name": name} for wa_id, name in box.world.customers.items()],
    )


@bp.post("/messages")
def customer_message():
    body = _body()
    kind = str(body.get("type") or "text")
    message, delivery = sandbox().customer_writes(
        str(body.get("number") or ""), str(body.get("from") or ""), kind, text=str(body.get("text") or ""),
        caption=str(body.get("caption") or ""), latitude=body.get("latitude"), longitude=body.get("longitude"),
        place=str(body.get("place") or ""), emoji=str(body.get("emoji") or ""),
    )
    return jsonify(message=message, **_delivery(delivery))


@bp.post("/kinds")
def kind():
    """One of the kinds in portal/sandbox/kinds.py (Flow answers, orders, echoes, history, alerts...)."""
    from . import kinds

    body = _body()
    what, delivery = kinds.send(sandbox(), str(body.get("number") or ""), str(body.get("from") or ""),
                                str(body.get("kind") or ""), text=str(body.get("text") or ""))
    return jsonify(kind=what, **_delivery(delivery))


@bp.post("/batch")
def batch():
    body = _body()
    try:
        count = int(body.get("count") or 0)
    except (TypeError, ValueError):
        raise SandboxInputError("count must be a number") from None
    sent, delivery = sandbox().customer_batch(str(body.get("number") or ""), str(body.get("from") or ""), count)
    return jsonify(count=sent, **_delivery(delivery))


@bp.post("/resend")
def resend():
    _body()
    delivery = sandbox().resend_last()
    if delivery is None:
        raise SandboxInputError("nothing was delivered yet")
    return jsonify(**_delivery(delivery))


@bp.post("/businesses/<business_id>/<action>")
def token_control(business_id, action):
    _body()
    box = sandbox()
    business = box.business(business_id)
    if action == "remove-app":
        count, status = box.remove_app(business.id)
        return jsonify(business=business.name, tokens=count, action=action, callback_status=status)
    if action not in ("expire", "revoke"):
        raise SandboxInputError("action must be expire, revoke or remove-app")
    count = box.world.expire_tokens(business.id) if action == "expire" else box.world.revoke_tokens(business.id)
    return jsonify(business=business.name, tokens=count, action=action)


@bp.post("/numbers/<phone_id>/quality")
def quality(phone_id):
    body = _body()
    old, delivery = sandbox().change_quality(phone_id, str(body.get("rating") or ""))
    return jsonify(old=old, new=sandbox().world.phones[phone_id].quality, **_delivery(delivery))


@bp.post("/age")
def age():
    """The customer's last message becomes `hours` old (default 25: the 24-hour window closes)."""
    body = _body()
    number, customer = str(body.get("number") or ""), str(body.get("from") or "")
    window_open = sandbox().age_conversation(number, customer, body.get("hours", 25))
    return jsonify(number=number, customer=customer, window_open=window_open)


@bp.post("/templates/<template_id>/review")
def template_review(template_id):
    """Meta's review of a template: {"event": APPROVED|REJECTED|PAUSED|DISABLED, "reason"?}."""
    body = _body()
    template, delivery = sandbox().set_template_status(template_id, str(body.get("event") or ""),
                                                       str(body.get("reason") or ""))
    return jsonify(template={"id": template.id, "name": template.name, "status": template.status},
                   **_delivery(delivery))
