"""/{waba-id}/message_templates: list, create and delete a WABA's templates, checked like Meta.

Create answers `{id, status: PENDING, category}`; a moment later (the first
of SANDBOX_STATUS_DELAYS) Meta's review ends: APPROVED, or REJECTED when the
name contains "reject" (so a test can see a rejection), each announced by a
`message_template_status_update` webhook to the WABA.
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
            "id": template.id}


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
    _check_components(components, category.upper())
    world = sandbox().world
    if world.find_templates(waba_id, name, language):
        raise errors.template_exists(name, language)
    template = world.add_template(waba_id, name, language, category.upper(), components, status="PENDING",
                                  parameter_format=parameter_format)
    sandbox().review_template(waba_id, template, rejected="reject" in name)
    return jsonify(id=template.id, status=template.status, category=template.category)


def _check_components(components, category: str) -> None:
    if not isinstance(components, list) or not components:
        raise errors.invalid_parameter("components must be a non-empty list")
    kinds = [str(c.get("type", "")).upper() if isinstance(c, dict) else "" for c in components]
    if kinds.count("BODY") != 1:
        raise errors.invalid_parameter("a template has exactly one BODY component")
    if any(kinds.count(kind) > 1 for kind in ("HEADER", "FOOTER", "BUTTONS")):
        raise errors.invalid_parameter("HEADER, FOOTER and BUTTONS may each appear once")
    for component, kind in zip(components, kinds):
        if kind == "HEADER":
            _check_header(component)
        elif kind == "BODY":
            _check_text(component, "BODY", 1024, "body_text")
        elif kind == "FOOTER":
            text = component.get("text")
            if not isinstance(text, str) or not 0 < len(text) <= 60 or VARIABLE.search(text):
                raise errors.invalid_parameter("FOOTER text is 1-60 characters without variables")
        elif kind == "BUTTONS":
            _check_buttons(component.get("buttons"))
        else:
            raise errors.invalid_parameter(f"component type {kind or '(none)'!r} is not HEADER, BODY, FOOTER or BUTTONS")
    if category == "AUTHENTICATION" and "BUTTONS" not in kinds:
        raise errors.invalid_parameter("an AUTHENTICATION template needs an OTP button")


def _check_header(component: dict) -> None:
    fmt = str(component.get("format", "")).upper()
    if fmt not in HEADER_FORMATS:
        raise errors.invalid_parameter(f"HEADER format must be one of {', '.join(HEADER_FORMATS)}")
    if fmt == "TEXT":
        _check_text(component, "HEADER", 60, "header_text")
        if len(set(VARIABLE.findall(component["text"]))) > 1:
            raise errors.invalid_parameter("a TEXT HEADER holds at most one variable")
    elif fmt != "LOCATION" and not (component.get("example") or {}).get("header_handle"):
        raise errors.invalid_parameter(f"a {fmt} HEADER needs example.header_handle (an uploaded sample)")


def _check_text(component: dict, kind: str, limit: int, example_key: str) -> None:
    text = component.get("text")
    if not isinstance(text, str) or not 0 < len(text) <= limit:
        raise errors.invalid_parameter(f"{kind} text is 1-{limit} characters")
    variables = VARIABLE.findall(text)
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
    return jsonify(success=True)
