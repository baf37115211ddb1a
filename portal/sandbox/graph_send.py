"""POST /{phone-number-id}/messages: send, or mark as read, checked as Meta checks it.

First the body against Meta's OpenAPI description (openapi.py, with its
errata), then against the world: the recipient (`to` a phone number, or
`recipient` a business-scoped user id), media ids that exist, a reaction or
reply naming a message of this conversation, a template that is approved in
that language with the right number of parameters (132000, 132001, 132015,
132016), and the 24-hour window (131047). A template send reaches the customer
phone as its filled-in text.
"""
from __future__ import annotations

import re

from flask import Blueprint, current_app, g, jsonify

from . import graph_errors as errors
from . import openapi
from .graph_auth import json_field, owned, params, require_token, sandbox
from .world import MESSAGING, Customer, Template, new_wamid

bp = Blueprint("sandbox_send", __name__)

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
OBJECT_KEYS = ("text", "template", "reaction", "context", "interactive", "location", "contacts") + MEDIA_KINDS
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@bp.post("/<version:version>/<object_id>/messages")
def messages(version, object_id):
    g.meta_operation = openapi.SEND
    token = require_token()
    owned(token, object_id, ("phone",), MESSAGING)
    box = sandbox()
    phone = box.world.phones[object_id]
    body = _body()
    if body.get("messaging_product") != "whatsapp":
        raise errors.GraphAPIError("(#100) The parameter messaging_product is required.", 100)
    problems = openapi.send_problems(body)
    if problems:
        raise errors.schema_refused("; ".join(problems[:3]))
    if body.get("status") == "read":
        if not box.world.knows_inbound(phone.id, str(body["message_id"])):
            raise errors.invalid_parameter("message_id is not a message this number received")
        return jsonify(success=True)
    if phone.platform_type != "CLOUD_API":
        raise errors.not_registered()
    customer = _recipient(phone.id, body)
    kind = body.get("type", "text")
    content = body.get(kind)
    _check_content(phone, customer, kind, content)
    if kind == "template":  # checked like Meta; the customer's phone shows the filled-in text
        content = dict(content, rendered=rendered(check_template(phone.waba_id, content), content))
    _check_context(phone.id, customer, body.get("context"))
    window_open = box.world.window_open(phone.id, customer.wa_id)
    if not window_open and kind != "template" and current_app.config["SANDBOX_WINDOW_CLOSED_AS"] == "error":
        raise errors.window_closed()
    wamid = new_wamid()
    box.world.record_message(phone.id, customer.wa_id, {"id": wamid, "type": kind, kind: content}, inbound=False)
    if window_open or kind == "template":
        box.after_send(phone, customer, wamid, kind)
    else:
        box.after_failed_send(phone, customer, wamid)
    return jsonify(_answer(body, customer, wamid, kind))


def _body() -> dict:
    """The JSON body (or form fields whose objects are JSON strings, which Meta also takes)."""
    data = params()
    data.pop("access_token", None)
    data.pop("appsecret_proof", None)
    for key in OBJECT_KEYS:
        if key in data:
            data[key] = json_field(data, key)
    return data


def _recipient(phone_id: str, body: dict) -> Customer:
    world = sandbox().world
    if body.get("recipient_type") == "group":
        raise errors.invalid_parameter("recipient_type group needs a group id; this number is in no group")
    if body.get("recipient"):
        customer = world.customer_by_user_id(phone_id, str(body["recipient"]))
        if customer is None:
            raise errors.invalid_parameter("recipient is not a business-scoped user id of this business")
        return customer
    raw = str(body.get("to") or "")
    digits = "".join(c for c in raw if c.isdigit())
    if not digits or not re.fullmatch(r"[+\d\s().-]+", raw) or not 6 <= len(digits) <= 15:
        raise errors.invalid_parameter("to must be a phone number with its country code; "
                                       "send to a business-scoped user id with recipient")
    return world.customer(phone_id, digits)


def _check_content(phone, customer: Customer, kind: str, content) -> None:
    world = sandbox().world
    if kind == "text":
        text = content.get("body")
        if not isinstance(text, str) or not text.strip():
            raise errors.GraphAPIError("(#100) The parameter text['body'] is required.", 100)
        if len(text) > 4096:
            raise errors.GraphAPIError("(#100) Param text['body'] must be at most 4096 characters long.", 100)
    elif kind in MEDIA_KINDS and "id" in content:
        media = world.live_media(str(content["id"]))
        if media is None or world.business_of(media.phone_id) != world.business_of(phone.id):
            raise errors.invalid_parameter(f"Param {kind}['id'] is not a valid whatsapp business account media "
                                           "attachment ID")
    elif kind == "reaction":
        if not world.knows_message(phone.id, customer.wa_id, str(content.get("message_id") or "")):
            raise errors.invalid_parameter("reaction['message_id'] is not a message of this conversation")


def _check_context(phone_id: str, customer: Customer, context) -> None:
    if not context:
        return
    if not sandbox().world.knows_message(phone_id, customer.wa_id, str(context.get("message_id") or "")):
        raise errors.invalid_parameter("context['message_id'] is not a message of this conversation")


def check_template(waba_id: str, content: dict) -> Template:
    """The template must exist in that language, be approved, and get one parameter per variable."""
    name, language = str(content.get("name")), str((content.get("language") or {}).get("code"))
    world = sandbox().world
    found = world.find_templates(waba_id, name, language)
    if not found:
        raise errors.template_missing(name, language)
    template = found[0]
    if template.status == "PAUSED":
        raise errors.template_paused(name)
    if template.status == "DISABLED":
        raise errors.template_disabled(name)
    if template.status != "APPROVED":
        raise errors.template_not_approved(name, template.status)
    given = {str(c.get("type", "")).lower(): c.get("parameters") or [] for c in content.get("components") or []
             if str(c.get("type", "")).lower() in ("header", "body")}
    for component in template.components:
        part = str(component.get("type", "")).lower()
        if part not in ("header", "body") or component.get("format", "TEXT") != "TEXT":
            continue
        expected = len(set(PLACEHOLDER.findall(component.get("text") or "")))
        if len(given.get(part, [])) != expected:
            raise errors.template_params(f"{part}: expected number of params ({expected}) does not match "
                                         f"received number of params ({len(given.get(part, []))})")
    return template


def rendered(template: Template, content: dict) -> str:
    """What the customer's phone shows: header, body and footer with the values filled in
    (positional values in order, named ones by `parameter_name`); a media header as [image]."""
    given = {str(c.get("type", "")).lower(): c.get("parameters") or [] for c in content.get("components") or []
             if str(c.get("type", "")).lower() in ("header", "body")}
    lines = []
    for component in template.components:
        part = str(component.get("type", "")).lower()
        text = component.get("text") or ""
        if part in ("header", "body") and text:
            names = list(dict.fromkeys(PLACEHOLDER.findall(text)))
            values = {}
            for name, parameter in zip(names, given.get(part, [])):
                if isinstance(parameter, dict):
                    values[str(parameter.get("parameter_name") or name)] = str(parameter.get("text", ""))
            lines.append(PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text))
        elif part == "header":
            lines.append(f"[{str(component.get('format', 'media')).lower()}]")
        elif part == "footer" and text:
            lines.append(text)
    return "\n".join(lines)


def _answer(body: dict, customer: Customer, wamid: str, kind: str) -> dict:
    if body.get("recipient"):
        contact = {"input": str(body["recipient"]), "user_id": customer.user_id}
        if not customer.phone_hidden:
            contact["wa_id"] = customer.wa_id
    else:
        contact = {"input": str(body["to"]), "wa_id": customer.wa_id}
    answer = {"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": wamid}]}
    if kind == "template":
        answer["messages"][0]["message_status"] = "accepted"
    return answer
