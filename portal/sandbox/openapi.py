"""Meta's own OpenAPI description of the WhatsApp API, used to check what the sandbox accepts and answers.

The document is `meta_openapi/business-messaging-api_v23.0.yaml` (facebook/openapi,
MIT; a copy of ../shared/meta-openapi). It is checked with jsonschema (Draft
2020-12, OpenAPI 3.1's dialect). Where the document is wrong, found by
checking Meta's own examples and the reference pages against it, ERRATA below
mends the loaded copy; each mend says why. Everything else is taken as Meta
wrote it.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOCUMENT = Path(__file__).with_name("meta_openapi") / "business-messaging-api_v23.0.yaml"
BASE = "urn:meta-openapi"

# Path templates of the operations the sandbox serves (keys of the document's `paths`).
SEND = "/{Version}/{Phone-Number-ID}/messages"
MEDIA_UPLOAD = "/{Version}/{Phone-Number-ID}/media"
MEDIA = "/{Version}/{Media-ID}"
PHONE = "/{Version}/{Phone-Number-ID}"
REGISTER = "/{Version}/{Phone-Number-ID}/register"
PROFILE = "/{Version}/{Phone-Number-ID}/whatsapp_business_profile"
WABA = "/{Version}/{WABA-ID}"
PHONE_NUMBERS = "/{Version}/{WABA-ID}/phone_numbers"
SUBSCRIBED_APPS = "/{Version}/{WABA-ID}/subscribed_apps"
TEMPLATES = "/{Version}/{WABA-ID}/message_templates"
OWNED_WABAS = "/{Version}/{Business-ID}/owned_whatsapp_business_accounts"


# --- errata: where the document contradicts Meta's own examples and references ----------------

def _allof_closed_branches(node) -> None:
    """Every send schema is `allOf: [BaseMessageProperties, {additionalProperties: false, ...}]`,
    which forbids the base's own `to` and `messaging_product`: not one of Meta's 50 send
    examples passes. The author meant "nothing beyond these two together", which 2020-12
    says with `unevaluatedProperties: false` on the allOf itself."""
    if isinstance(node, dict):
        branches = node.get("allOf")
        if isinstance(branches, list) and any(isinstance(b, dict) and b.get("additionalProperties") is False
                                              for b in branches):
            for branch in branches:
                if isinstance(branch, dict) and branch.get("additionalProperties") is False:
                    del branch["additionalProperties"]
            node["unevaluatedProperties"] = False
        for value in node.values():
            _allof_closed_branches(value)
    elif isinstance(node, list):
        for value in node:
            _allof_closed_branches(value)


def _base_message(schemas: dict) -> None:
    """`recipient_type` and `type` default to individual and text (Meta's examples omit them);
    a business-scoped user id goes in `recipient` instead of `to` (BSUID reference, 2026)."""
    base = schemas["BaseMessageProperties"]
    base["required"] = ["messaging_product"]
    base["properties"]["messaging_product"] = {"type": "string", "enum": ["whatsapp"]}
    base["properties"]["recipient"] = {"type": "string"}
    base["properties"]["biz_opaque_callback_data"] = {"type": "string", "maxLength": 512}
    base["anyOf"] = [{"required": ["to"]}, {"required": ["recipient"]}]


def _template_language(schemas: dict) -> None:
    """`language.policy` is marked required, yet every template example sends only `code`."""
    schemas["LanguageObject"]["required"] = ["code"]


def _location_numbers(schemas: dict) -> None:
    """Latitude and longitude are typed string while the examples (and pywa) send numbers."""
    location = schemas["LocationMessage"]["allOf"][1]["properties"]["location"]["properties"]
    for key in ("latitude", "longitude"):
        location[key]["type"] = ["number", "string"]


def _template_buttons(node) -> None:
    """Button components: `index` is a number in half the examples and a string in the rest, and
    `sub_type` is CATALOG / flow / copy_code in examples the enum (quick_reply, url, catalog) refuses."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict) and "sub_type" in props and "index" in props:
            props["index"] = {"type": ["string", "integer"]}
            props["sub_type"] = {"type": "string"}
        for value in node.values():
            _template_buttons(value)
    elif isinstance(node, list):
        for value in node:
            _template_buttons(value)


def _interactive_kinds(schemas: dict) -> None:
    """Order details and order status messages (documented, with examples) are missing from the enum."""
    interactive = schemas["InteractiveObject"]
    kinds = interactive["properties"]["type"]
    kinds["enum"] = sorted(set(kinds["enum"]) | {"order_details", "order_status", "location_request_message",
                                                 "cta_url", "voice_call"})
    schemas["ActionObject"]["oneOf"].append({"required": ["name", "parameters"], "properties": {
        "name": {"enum": ["review_and_pay", "review_order"]}, "parameters": {"type": "object"}}})


def _quality_unknown(schemas: dict) -> None:
    """Meta's own phone_numbers example says `UNKNOWN` (a new number), which both quality enums lack."""
    for rating in (schemas["WhatsAppPhoneNumberQualityRating"], schemas["PhoneNumberInfo"]["properties"]["quality_rating"]):
        if "enum" in rating and "UNKNOWN" not in rating["enum"]:
            rating["enum"] = [*rating["enum"], "UNKNOWN"]


ERRATA = (_quality_unknown, _base_message, _template_language, _location_numbers, _interactive_kinds)


@lru_cache(maxsize=1)
def document() -> dict:
    """The document as Meta published it (parsed once per process)."""
    with DOCUMENT.open("rb") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@lru_cache(maxsize=1)
def mended() -> dict:
    """The document with ERRATA applied (a copy: `document()` stays as published)."""
    doc = copy.deepcopy(document())
    _allof_closed_branches(doc["components"]["schemas"])
    _template_buttons(doc["components"]["schemas"])
    for mend in ERRATA:
        mend(doc["components"]["schemas"])
    return doc


@lru_cache(maxsize=1)
def _registry() -> Registry:
    return Registry().with_resource(BASE, Resource.from_contents(mended(), default_specification=DRAFT202012))


@lru_cache(maxsize=256)
def _validator(pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{BASE}#{pointer}"}, registry=_registry())


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _json_content(node: dict) -> dict | None:
    content = (node or {}).get("content") or {}
    return content.get("application/json")


def problems(pointer: str, instance) -> list[str]:
    """Where `instance` breaks the schema at JSON pointer `pointer` (empty: it conforms)."""
    errors = sorted(_validator(pointer).iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}" for e in errors]


def send_problems(body) -> list[str]:
    """A `POST /{phone}/messages` body checked against the schema its `type` names (the document's
    discriminator, which jsonschema does not apply by itself). Mark-as-read has its own shape."""
    if not isinstance(body, dict):
        return ["(body): must be a JSON object"]
    if body.get("status") == "read":
        return _mark_read_problems(body)
    mapping = mended()["components"]["schemas"]["Message"]["discriminator"]["mapping"]
    kind = body.get("type", "text")
    if kind not in mapping:
        return [f"type: {kind!r} is not one of {sorted(mapping)}"]
    return problems(mapping[kind].lstrip("#"), body)


def _mark_read_problems(body: dict) -> list[str]:
    found = []
    if body.get("messaging_product") != "whatsapp":
        found.append("messaging_product: must be 'whatsapp'")
    if not isinstance(body.get("message_id"), str) or not body["message_id"]:
        found.append("message_id: is required")
    indicator = body.get("typing_indicator")
    if indicator is not None and (not isinstance(indicator, dict) or indicator.get("type") != "text"):
        found.append("typing_indicator: must be {'type': 'text'}")
    extra = set(body) - {"messaging_product", "status", "message_id", "typing_indicator"}
    if extra:
        found.append(f"(body): unexpected {sorted(extra)}")
    return found


def operation(path: str, method: str) -> dict:
    return mended()["paths"][path][method.lower()]


def request_problems(path: str, method: str, body) -> list[str]:
    """A JSON request body checked against the operation's `application/json` schema (none: no check)."""
    if path == SEND and method.upper() == "POST":
        return send_problems(body)
    content = _json_content(operation(path, method).get("requestBody"))
    if not content or "schema" not in content:
        return []
    pointer = f"/paths/{_escape(path)}/{method.lower()}/requestBody/content/application~1json/schema"
    return problems(pointer, body)


def response_problems(path: str, method: str, status: int, body) -> list[str]:
    """A JSON answer checked against the operation's schema for that status (or `default`)."""
    responses = operation(path, method).get("responses") or {}
    key = str(status) if str(status) in responses else ("default" if "default" in responses else None)
    if key is None:
        return [] if status >= 400 else [f"(status): {status} is not an answer the document lists"]
    content = _json_content(responses[key])
    if not content or "schema" not in content:
        return []
    pointer = f"/paths/{_escape(path)}/{method.lower()}/responses/{key}/content/application~1json/schema"
    return problems(pointer, body)


# Meta's examples that are wrong themselves (replaying them would test the example, not the sandbox).
BROKEN_EXAMPLES = {
    "Send Reply to List Message": "omits `type: interactive`, so it reads as a text message without text",
    "Send Multi-Product Message": "its header type is the placeholder `<HEADER_TYPE>`",
}


def request_examples(path: str, method: str) -> dict[str, object]:
    """Meta's own request examples for an operation, by their names in the document."""
    content = _json_content(document()["paths"][path][method.lower()].get("requestBody")) or {}
    return {name: example["value"] for name, example in (content.get("examples") or {}).items() if "value" in example}
