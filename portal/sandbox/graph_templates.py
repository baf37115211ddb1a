"""/{waba-id}/message_templates: list, create and delete a WABA's templates, checked like Meta.

Create answers `{id, status: PENDING, category}`; a moment later (the first
of SANDBOX_STATUS_DELAYS) Meta's review ends: APPROVED, or REJECTED when the
name contains "reject" (so a test can see a rejection), each announced by a
`message_template_status_update` webhook to the WABA. With
SANDBOX_TEMPLATE_REVIEW=manual the template waits for a person on the sandbox's
templates page (template_review.py).
"""
from __future__ import annotations

import re

from flask import Blueprint, current_app, g, jsonify, request

from . import graph_errors as errors
from . import openapi, payloads
from .graph_auth import json_field, owned, params, require_token, sandbox
from .graph_fields import TEMPLATE, page
from .world import MANAGEMENT, Template

bp = Blueprint("sandbox_templates", __name__)

NAME = re.compile(r"[a-z0-9_]{1,512}")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
# Meta's template languages (a subset: the codes a product is likely to use).
LANGUAGES = frozenset(
    "af ar az bg bn ca cs da de el en en_GB en_US es es_AR es_ES es_MX et fa fi fil fr ga gu ha he hi hr hu id "
    "it ja kk kn ko ky_KG lo lt lv mk ml mr ms nb nl pa pl pt_BR pt_PT ro ru rw_RW sk sl sq sr sv sw ta te th tr "
    "uk ur uz vi zh_CN zh_HK zh_TW zu".split())
HEADER_FORMATS = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION")
BUTTON_TYPES = ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP", "FLOW", "CATALOG", "MPM", "VOICE_CALL")
VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED")
# Authentication templates carry Meta's own text; what Meta lists for them.
AUTH_BODY = "{{1}} is your verification code."
AUTH_SECURITY = "For your security, do not share this code."
OTP_URL = "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code={{1}}"  # how Meta lists the code button


@bp.route("/<version:version>/<object_id>/message_templates", methods=["GET", "POST", "DELETE"])
def message_templates(version, object_id):
    g.meta_operation = openapi.TEMPLATES
    token = require_token()
    owned(token, object_id, ("waba",), MANAGEMENT)
    if request.method == "POST":
        return _create(object_id)
    if request.method == "DELETE":
        return _delete(object_id)
    world = sandbox().world
    status = request.args.get("status")
    category = request.args.get("category")
    found = [t for t in world.find_templates(object_id, request.args.get("name") or None,
                                             request.args.get("language") or None)
             if (not status or t.status == status.upper()) and (not category or t.category == category.upper())]
    body = page([describe(t) for t in found], TEMPLATE, current_app.config["SANDBOX_PAGE_SIZE"])
    if request.args.get("summary"):
        body["summary"] = _summary(object_id, len(found), request.args["summary"])
    return jsonify(body)


def _summary(waba_id: str, total: int, asked: str) -> dict:
    """`summary=...`: Graph's aggregate counts of the list."""
    values = {"total_count": total, "message_template_count": len(sandbox().world.find_templates(waba_id)),
              "message_template_limit": 250, "are_translations_complete": True}
    names = [name.strip() for name in asked.split(",") if name.strip()]
    for name in names:
        if name not in values:
            raise errors.nonexisting_field(name, "WhatsAppMessageTemplateSummary")
    return {name: values[name] for name in names}


def describe(template: Template) -> dict:
    return {"name": template.name, "parameter_format": template.parameter_format, "components": template.components,
            "language": template.language, "status": template.status, "category": template.category,
            "id": template.id, "quality_score": {"score": template.quality, "date": template.quality_at},
            "rejected_reason": template.rejected_reason}


def _create(waba_id: str):
    data = params()
    data.pop("access_token", None)
    data.pop("appsecret_proof", None)
    if "components" in data:
        data["components"] = json_field(data, "components")
    name, language, category = (str(data.get(key) or "") for key in ("name", "language", "category"))
    if not NAME.fullmatch(name):
        raise errors.invalid_parameter("name may hold only lowercase letters, digits and underscores (1-512)")
    if language not in LANGUAGES:
        raise errors.invalid_parameter(f"language {language!r} is not a language Meta supports for templates")
    if category.upper() not in CATEGORIES:
        raise errors.invalid_parameter(f"category must be one of {', '.join(CATEGORIES)}")
    parameter_format = str(data.get("parameter_format") or "POSITIONAL").upper()
    if parameter_format not in ("POSITIONAL", "NAMED"):
        raise errors.invalid_parameter("parameter_format must be POSITIONAL or NAMED")
    components = data.get("components")
    if category.upper() == "AUTHENTICATION":
        components = _authentication(components)
    else:
        _check_components(components, category.upper(), parameter_format)
    world = sandbox().world
    if world.find_templates(waba_id, name, language):
        raise errors.template_exists(name, language)
    template = world.add_template(waba_id, name, language, category.upper(), components, status="PENDING",
                                  parameter_format=parameter_format)
    world.save()
    answer = {"id": template.id, "status": template.status, "category": template.category}
    sandbox().review_template(waba_id, template, rejected="reject" in name)
    return jsonify(answer)


def _authentication(components) -> list[dict]:
    """An AUTHENTICATION template: Meta writes its text. The request gives BODY with
    add_security_recommendation, optionally FOOTER with code_expiration_minutes (1-90), and one
    OTP button; Meta keeps (and lists) its own body text and the code button."""
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise errors.invalid_parameter("components must be a non-empty list")
    by_type = {str(c.get("type", "")).upper(): c for c in components}
    if set(by_type) - {"BODY", "FOOTER", "BUTTONS"} or "BODY" not in by_type or "text" in by_type["BODY"]:
        raise errors.invalid_parameter("an AUTHENTICATION template takes BODY (add_security_recommendation), an "
                                       "optional FOOTER (code_expiration_minutes) and an OTP button; Meta writes "
                                       "the text")
    buttons = by_type.get("BUTTONS", {}).get("buttons")
    if not isinstance(buttons, list) or len(buttons) != 1 or str((buttons[0] or {}).get("type", "")).upper() != "OTP":
        raise errors.invalid_parameter("an AUTHENTICATION template needs exactly one OTP button")
    footer = by_type.get("FOOTER")
    if footer is not None:
        minutes = footer.get("code_expiration_minutes")
        if not isinstance(minutes, int) or not 1 <= minutes <= 90:
            raise errors.invalid_parameter("code_expiration_minutes is a whole number from 1 to 90")
    text = AUTH_BODY + (" " + AUTH_SECURITY if by_type["BODY"].get("add_security_recommendation") else "")
    stored = [{"type": "BODY", "text": text}]
    if footer is not None:
        stored.append({"type": "FOOTER", "text": f"This code expires in {footer['code_expiration_minutes']} minutes."})
    stored.append({"type": "BUTTONS", "buttons": [{"type": "URL", "text": str(buttons[0].get("text") or "Copy code"),
                                                   "url": OTP_URL}]})
    return stored


def _check_components(components, category: str, parameter_format: str = "POSITIONAL") -> None:
    if not isinstance(components, list) or not components:
        raise errors.invalid_parameter("components must be a non-empty list")
    kinds = [str(c.get("type", "")).upper() if isinstance(c, dict) else "" for c in components]
    if kinds.count("BODY") != 1:
        raise errors.invalid_parameter("a template has exactly one BODY component")
    if any(kinds.count(kind) > 1 for kind in ("HEADER", "FOOTER", "BUTTONS")):
        raise errors.invalid_parameter("HEADER, FOOTER and BUTTONS may each appear once")
    for component, kind in zip(components, kinds):
        if kind == "HEADER":
            _check_header(component, parameter_format)
        elif kind == "BODY":
            _check_text(component, "BODY", 1024, "body_text", parameter_format)
            stripped = component["text"].strip()
            if VARIABLE.match(stripped) or re.search(r"\{\{[^{}]*\}\}$", stripped):
                raise errors.GraphAPIError("(#100) Invalid parameter", 100, subcode=2388299, error_data={
                    "messaging_product": "whatsapp",
                    "details": "Variables can't be at the start or end of the template."})
        elif kind == "FOOTER":
            text = component.get("text")
            if not isinstance(text, str) or not 0 < len(text) <= 60 or VARIABLE.search(text):
                raise errors.invalid_parameter("FOOTER text is 1-60 characters without variables")
        elif kind == "BUTTONS":
            _check_buttons(component.get("buttons"))
        else:
            raise errors.invalid_parameter(f"component type {kind or '(none)'!r} is not HEADER, BODY, FOOTER or BUTTONS")


def _check_header(component: dict, parameter_format: str) -> None:
    fmt = str(component.get("format", "")).upper()
    if fmt not in HEADER_FORMATS:
        raise errors.invalid_parameter(f"HEADER format must be one of {', '.join(HEADER_FORMATS)}")
    if fmt == "TEXT":
        _check_text(component, "HEADER", 60, "header_text", parameter_format)
        if len(set(VARIABLE.findall(component["text"]))) > 1:
            raise errors.invalid_parameter("a TEXT HEADER holds at most one variable")
    elif fmt != "LOCATION" and not (component.get("example") or {}).get("header_handle"):
        raise errors.invalid_parameter(f"a {fmt} HEADER needs example.header_handle (an uploaded sample)")


def _check_text(component: dict, kind: str, limit: int, example_key: str, parameter_format: str) -> None:
    text = component.get("text")
    if not isinstance(text, str) or not 0 < len(text) <= limit:
        raise errors.invalid_parameter(f"{kind} text is 1-{limit} characters")
    variables = VARIABLE.findall(text)
    if parameter_format == "NAMED":  # named variables give their samples as {param_name, example}
        example_key += "_named_params"
    if variables and not (component.get("example") or {}).get(example_key):
        raise errors.invalid_parameter(f"{kind} has variables, so it needs example.{example_key} (sample values)")


def _check_buttons(buttons) -> None:
    if not isinstance(buttons, list) or not 0 < len(buttons) <= 10:
        raise errors.invalid_parameter("BUTTONS holds 1 to 10 buttons")
    for button in buttons:
        kind = str((button or {}).get("type", "")).upper() if isinstance(button, dict) else ""
        if kind not in BUTTON_TYPES:
            raise errors.invalid_parameter(f"button type must be one of {', '.join(BUTTON_TYPES)}")
        if kind in ("QUICK_REPLY", "URL", "PHONE_NUMBER") and not 0 < len(str(button.get("text") or "")) <= 25:
            raise errors.invalid_parameter(f"a {kind} button has a text of 1-25 characters")
        if kind == "URL" and not str(button.get("url") or "").startswith(("https://", "http://")):
            raise errors.invalid_parameter("a URL button needs a url")
        if kind == "PHONE_NUMBER" and not button.get("phone_number"):
            raise errors.invalid_parameter("a PHONE_NUMBER button needs a phone_number")


def _delete(waba_id: str):
    name = request.args.get("name") or ""
    if not name:
        raise errors.missing_parameter("name")
    if not sandbox().world.delete_templates(waba_id, name, request.args.get("hsm_id") or None):
        raise errors.invalid_parameter(f"no template named {name!r} (with that hsm_id) in this account")
    sandbox().world.save()
    return jsonify(success=True)
