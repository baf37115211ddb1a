"""Message templates in the sandbox: `GET/POST/DELETE /{waba-id}/message_templates` with Meta's
shapes and a part of Meta's validation, a control page to approve, reject, pause or disable a
template (each sends `message_template_status_update` to the portal), and the check of a
template send (132001 unknown or not approved, 132015 paused, 132016 disabled, 132000 wrong
number of parameters) that also renders what the customer phone shows.

A minimal stand-in kept in its own module (the fuller Graph version is issue 20's).
"""
from __future__ import annotations

import json
import re
import secrets
import threading
from pathlib import Path

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for

from . import graph_errors as errors
from . import payloads
from .graph_auth import json_field, owned, params, require_token, sandbox
from .world import MANAGEMENT

bp = Blueprint("sandbox_templates", __name__)  # Graph routes (CSRF-exempt)
controls_bp = Blueprint("sandbox_template_controls", __name__)  # the sandbox's own page (CSRF-protected)

NAME = re.compile(r"[a-z0-9_]{1,512}")
VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
REVIEW_EVENTS = ("APPROVED", "REJECTED", "PAUSED", "DISABLED")
REJECT_REASONS = ("INVALID_FORMAT", "INCORRECT_CATEGORY", "ABUSIVE_CONTENT", "SCAM", "TAG_CONTENT_MISMATCH")


def hello_world(waba_id: str) -> dict:
    """The sample template every new WhatsApp Business Account has at Meta, approved (Meta's OpenAPI example)."""
    return {"id": str(1192339204654487 + int(waba_id[-6:])), "name": "hello_world", "language": "en_US",
            "category": "UTILITY", "status": "APPROVED", "parameter_format": "POSITIONAL",
            "quality_score": {"score": "GREEN"}, "rejected_reason": "NONE", "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
                {"type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to send "
                                         "a WhatsApp message notification from the Cloud API, hosted by Meta."},
                {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"}]}


class TemplateStore:
    """Templates per WABA, in memory (and in a JSON file beside the demo's state file)."""

    def __init__(self, state_file: str | None = None, waba_ids=()):
        self.lock = threading.RLock()
        self.path = Path(state_file + ".templates.json") if state_file else None
        self.by_waba: dict[str, list[dict]] = {}
        if self.path and self.path.exists():
            try:
                self.by_waba = json.loads(self.path.read_text())
            except ValueError:
                self.by_waba = {}
        for waba_id in waba_ids:
            self.by_waba.setdefault(waba_id, [hello_world(waba_id)])

    def save(self) -> None:
        if self.path:
            with self.lock:
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self.by_waba))
                tmp.replace(self.path)

    def list(self, waba_id: str) -> list[dict]:
        with self.lock:
            return [dict(t) for t in self.by_waba.get(waba_id, [])]

    def find(self, waba_id: str, name: str, language: str | None = None) -> list[dict]:
        with self.lock:
            return [t for t in self.by_waba.get(waba_id, []) if t["name"] == name and language in (None, t["language"])]

    def by_id(self, template_id: str) -> tuple[str, dict] | None:
        with self.lock:
            for waba_id, templates in self.by_waba.items():
                for template in templates:
                    if template["id"] == template_id:
                        return waba_id, template
        return None

    def add(self, waba_id: str, template: dict) -> None:
        with self.lock:
            self.by_waba.setdefault(waba_id, []).append(template)
            self.save()

    def remove(self, waba_id: str, name: str, template_id: str | None) -> int:
        with self.lock:
            before = self.by_waba.get(waba_id, [])
            kept = [t for t in before if not (t["name"] == name and template_id in (None, t["id"]))]
            self.by_waba[waba_id] = kept
            self.save()
            return len(before) - len(kept)


def store() -> TemplateStore:
    return current_app.extensions["sandbox_templates"]


# --- Graph ---------------------------------------------------------------------------

@bp.route("/<version:version>/<waba_id>/message_templates", methods=["GET", "POST", "DELETE"])
def message_templates(version, waba_id):
    token = require_token()
    owned(token, waba_id, ("waba",), MANAGEMENT)
    if request.method == "GET":
        from .graph_whatsapp import _page  # the sandbox's one Graph paging

        items = store().list(waba_id)
        if request.args.get("name"):
            items = [t for t in items if t["name"] == request.args["name"]]
        return jsonify(_page(items))
    if request.method == "DELETE":
        data = params()
        name = str(data.get("name") or "")
        if not name:
            raise errors.missing_parameter("name")
        if not store().remove(waba_id, name, str(data["hsm_id"]) if data.get("hsm_id") else None):
            raise errors.GraphAPIError("(#100) Invalid parameter", 100, subcode=2593002,
                                       error_data={"details": f"Message template {name!r} was not found."})
        return jsonify(success=True)
    template = _validated_template(waba_id, params())
    store().add(waba_id, template)
    return jsonify(id=template["id"], status=template["status"], category=template["category"])


def _invalid(details: str, subcode: int = 2388040) -> errors.GraphAPIError:
    return errors.GraphAPIError("Invalid parameter", 100, subcode=subcode, error_data={"details": details})


def _validated_template(waba_id: str, data: dict) -> dict:
    name, language = str(data.get("name") or ""), str(data.get("language") or "")
    category = str(data.get("category") or "").upper()
    if not NAME.fullmatch(name):
        raise _invalid("Template name can only contain lowercase alphanumeric characters and underscores.")
    if not re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", language):
        raise _invalid(f"Invalid language: {language!r}")
    if category not in CATEGORIES:
        raise _invalid("Param category must be one of {AUTHENTICATION, MARKETING, UTILITY}")
    if store().find(waba_id, name, language):
        raise errors.GraphAPIError(
            "Invalid parameter", 100, subcode=2388024,
            error_data={"details": f"Content in this language already exists for {name}."})
    components = json_field(data, "components")
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise errors.missing_parameter("components")
    by_type = {str(c.get("type", "")).upper(): c for c in components}
    if category == "AUTHENTICATION":
        body = "{{1}} is your verification code." + (
            " For your security, do not share this code." if by_type.get("BODY", {}).get("add_security_recommendation") else "")
        otp = (by_type.get("BUTTONS") or {}).get("buttons") or [{"text": "Copy code"}]
        stored = [{"type": "BODY", "text": body},
                  {"type": "BUTTONS", "buttons": [{"type": "URL", "text": otp[0].get("text", "Copy code"),
                                                   "url": "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code={{1}}"}]}]
        return _new(name, language, category, "POSITIONAL", stored)
    body = by_type.get("BODY")
    if not body or not isinstance(body.get("text"), str) or not body["text"].strip():
        raise _invalid("The BODY component is required.", 2388043)
    if len(body["text"]) > 1024:
        raise _invalid("Body text is too long (at most 1024 characters).", 2388042)
    names = VARIABLE.findall(body["text"])
    if names and not (body.get("example") or {}):
        raise _invalid("Message template body variables need example values.", 2388043)
    stripped = body["text"].strip()
    if names and (VARIABLE.match(stripped) or re.search(r"\{\{[^{}]*\}\}$", stripped)):
        raise _invalid("Variables can't be at the start or end of the template.", 2388299)
    header = by_type.get("HEADER")
    if header and str(header.get("format", "")).upper() == "TEXT" and len(header.get("text", "")) > 60:
        raise _invalid("Header text is too long (at most 60 characters).", 2388040)
    buttons = (by_type.get("BUTTONS") or {}).get("buttons") or []
    if len(buttons) > 10:
        raise _invalid("A template can hold at most 10 buttons.", 2388158)
    parameter_format = str(data.get("parameter_format") or "POSITIONAL").upper()
    return _new(name, language, category, parameter_format, components)


def _new(name, language, category, parameter_format, components) -> dict:
    return {"id": str(10**15 + secrets.randbelow(9 * 10**15)), "name": name, "language": language,
            "category": category, "status": "PENDING", "parameter_format": parameter_format,
            "components": components, "quality_score": {"score": "UNKNOWN"}, "rejected_reason": "NONE"}


# --- sends ---------------------------------------------------------------------------

def check_send(waba_id: str, content: dict) -> str:
    """Meta's checks of a template send; returns the text the customer's phone shows."""
    name = str(content.get("name") or "")
    language = (content.get("language") or {}).get("code") if isinstance(content.get("language"), dict) else None
    found = store().find(waba_id, name, language)
    if not found or found[0]["status"] not in ("APPROVED", "PAUSED", "DISABLED"):
        raise errors.GraphAPIError("(#132001) Template name does not exist in the translation", 132001,
                                   error_data={"details": f"template name ({name}) does not exist in {language}"})
    template = found[0]
    if template["status"] == "PAUSED":
        raise errors.GraphAPIError("(#132015) Template is Paused", 132015,
                                   error_data={"details": f"Template {name} is paused due to low quality."})
    if template["status"] == "DISABLED":
        raise errors.GraphAPIError("(#132016) Template is disabled", 132016,
                                   error_data={"details": f"Template {name} was disabled due to low quality."})
    given = {str(c.get("type", "")).lower(): c.get("parameters") or []
             for c in content.get("components") or [] if isinstance(c, dict) and c.get("type") != "button"}
    values: dict[str, str] = {}
    for component in template["components"]:
        kind = str(component.get("type", "")).lower()
        text = component.get("text") or ""
        names = VARIABLE.findall(text) if kind in ("header", "body") else []
        parameters = given.get(kind, [])
        if kind in ("header", "body") and names and len(parameters) != len(names):
            raise errors.GraphAPIError(
                "(#132000) Number of parameters does not match the expected number of params", 132000,
                error_data={"details": f"{kind}: number of localizable_params ({len(parameters)}) does not match "
                                       f"the expected number of params ({len(names)})"})
        for variable, parameter in zip(names, parameters):
            if isinstance(parameter, dict):  # named parameters name their variable; positional ones go in order
                values[f"{kind}:{parameter.get('parameter_name') or variable}"] = str(parameter.get("text", ""))
    lines = []
    for component in template["components"]:
        kind = str(component.get("type", "")).lower()
        if kind in ("header", "body") and component.get("text"):
            lines.append(VARIABLE.sub(lambda m: values.get(f"{kind}:{m.group(1)}", m.group(0)), component["text"]))
        elif kind == "header":
            lines.append(f"[{str(component.get('format', 'media')).lower()}]")
        elif kind == "footer" and component.get("text"):
            lines.append(component["text"])
    return "\n".join(lines)


# --- the control page (and its JSON twin for scripts) ---------------------------------

@bp.post("/api/templates/<template_id>/review")
def api_review(template_id):
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        return jsonify(error="Send a JSON object with Content-Type: application/json."), 415
    try:
        delivered = review_template(template_id, str(body.get("event") or "").upper(), str(body.get("reason") or "NONE"))
    except ValueError as error:
        return jsonify(error=str(error)), 400
    return jsonify(delivered=bool(delivered and delivered.ok), http_status=delivered.status if delivered else None)


@controls_bp.get("/controls/templates")
def controls():
    box = sandbox()
    rows = [(waba_id, t) for waba_id in box.world.wabas for t in store().list(waba_id)]
    return render_template("sandbox/templates.html", rows=rows, world=box.world, events=REVIEW_EVENTS,
                           reasons=REJECT_REASONS)


@controls_bp.post("/controls/templates/<template_id>")
def review(template_id):
    event = request.form.get("event", "").upper()
    reason = request.form.get("reason", "") or "NONE"
    try:
        delivered = review_template(template_id, event, reason)
    except ValueError as error:
        flash(str(error), "error")
        return redirect(url_for(".controls"))
    if delivered is None:
        flash(f"Template {event.lower()}: kept at Meta, not delivered (no app subscribed to its WhatsApp account).", "warning")
    elif delivered.ok:
        flash(f"Template {event.lower()}: message_template_status_update delivered (HTTP {delivered.status}).", "success")
    else:
        flash(f"Template {event.lower()}: the portal answered {delivered.status or 'nothing'}; it will be retried.", "error")
    return redirect(url_for(".controls"))


def review_template(template_id: str, event: str, reason: str = "NONE"):
    """Meta's review (or a later pause or disable): the status changes and the webhook goes out."""
    if event not in REVIEW_EVENTS:
        raise ValueError(f"The review is one of {', '.join(REVIEW_EVENTS)}.")
    found = store().by_id(template_id)
    if found is None:
        raise ValueError(f"No sandbox template {template_id!r}.")
    waba_id, template = found
    with store().lock:
        template["status"] = event
        template["rejected_reason"] = reason if event == "REJECTED" else "NONE"
        store().save()
    value = {"event": event, "message_template_id": int(template["id"]), "message_template_name": template["name"],
             "message_template_language": template["language"], "reason": reason if event == "REJECTED" else "NONE",
             "message_template_category": template["category"]}
    if event in ("PAUSED", "DISABLED"):
        value["other_info"] = {"title": f"Template {event.lower()}",
                               "description": "Customers blocked or reported this template."}
    box = sandbox()
    body = payloads.envelope(waba_id, [{"field": "message_template_status_update", "value": value}], box.world.now())
    if box.app_id not in box.world.wabas[waba_id].subscribed_apps:
        return None
    return box.dispatcher.deliver(body, f"template {template['name']} {event}")
