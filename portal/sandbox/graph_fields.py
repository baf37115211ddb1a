"""Graph's `fields` parameter: each node type knows its fields, answers a default set without
`fields`, and refuses a field it does not have with Meta's (#100) error."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request

from . import graph_errors as errors


@dataclass(frozen=True)
class Node:
    type_name: str  # Meta's node type, as its error names it
    default: tuple[str, ...]  # answered without `fields`
    known: frozenset[str]


def _node(type_name: str, default: tuple[str, ...], *more: str) -> Node:
    return Node(type_name, default, frozenset(default) | frozenset(more) | {"id"})


USER = _node("User", ("id", "name"), "email", "first_name", "last_name")
BUSINESS = _node("Business", ("id", "name"), "verification_status", "timezone_id", "created_time")
# GET /{waba-id} without fields (the document's "basic account" example, as Meta answers it).
WABA = _node("WhatsAppBusinessAccount", ("id", "name", "timezone_id", "message_template_namespace"),
             "currency", "account_review_status", "business_verification_status", "country", "ownership_type",
             "primary_business_location")
# GET /{phone-number-id} without fields: the document's "default_response" example.
PHONE = _node("WhatsAppBusinessPhoneNumber", ("id", "display_phone_number", "verified_name", "quality_rating"),
              "code_verification_status", "name_status", "platform_type", "host_platform", "throughput", "status",
              "messaging_limit_tier", "account_mode", "country_code", "country_dial_code", "is_official_business_account",
              "username", "webhook_configuration",
              # Meta's other phone number fields (the ones pywa asks for), answered when the sandbox has a value
              "conversational_automation", "quality_score", "new_name_status", "is_on_biz_app", "is_pin_enabled",
              "is_preverified_number", "search_visibility", "eligibility_for_api_business_global_search",
              "health_status", "certificate", "new_certificate", "last_onboarded_time",
              "whatsapp_business_manager_messaging_limit")
# Items of GET /{waba-id}/phone_numbers without fields (what Meta lists; `status` is required by its schema).
PHONE_LIST = Node(PHONE.type_name, ("verified_name", "code_verification_status", "display_phone_number",
                                    "quality_rating", "platform_type", "throughput", "status", "id"), PHONE.known)
PROFILE = _node("WhatsAppBusinessProfile", ("about", "address", "description", "email", "profile_picture_url",
                                            "websites", "vertical", "messaging_product"))
TEMPLATE = _node("WhatsAppMessageTemplate", ("name", "parameter_format", "components", "language", "status",
                                             "category", "id"), "quality_score", "rejected_reason",
                 "previous_category", "sub_category", "correct_category", "library_template_name",
                 "message_send_ttl_seconds", "cta_url_link_tracking_opted_out", "degrees_of_freedom_spec")


def wanted(node: Node) -> list[str]:
    """The fields this request asks for (or the node's default), refusing unknown ones as Meta does.
    Nested selections (`throughput{level}`) are read as the outer field."""
    raw = request.args.get("fields")
    if raw is None or not raw.strip():
        return list(node.default)
    names = []
    depth, current = 0, ""
    for char in raw + ",":
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            names.append(current.strip())
            current = ""
            continue
        if depth == 0 and char != "}":
            current += char
    names = [name for name in names if name]
    for name in names:
        if name not in node.known:
            raise errors.nonexisting_field(name, node.type_name)
    return names


def select(obj: dict, node: Node) -> dict:
    """`obj` cut to the fields asked for; Graph always adds the id of a node that has one."""
    fields = wanted(node)
    picked = {key: obj[key] for key in fields if key in obj}
    if "id" in obj and "id" not in picked:
        picked["id"] = obj["id"]
    return picked


def page(items: list[dict], node: Node, page_size: int) -> dict:
    """A Graph page of `items` (each cut to the fields asked for): `limit` (default `page_size`),
    cursors, and `next` while more remain."""
    import base64
    import binascii
    from urllib.parse import urlencode

    def cursor(index: int) -> str:
        return base64.urlsafe_b64encode(str(index).encode()).decode()

    try:
        limit = max(1, min(100, int(request.args.get("limit") or page_size)))
    except ValueError:
        raise errors.invalid_parameter("limit must be a number") from None
    start = 0
    if request.args.get("after"):
        try:
            start = int(base64.urlsafe_b64decode(request.args["after"].encode()).decode()) + 1
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise errors.invalid_parameter("after is not a cursor of this list") from None
    wanted(node)  # refuse unknown fields even on an empty page
    chunk = [select(item, node) for item in items[start:start + limit]]
    body: dict = {"data": chunk}
    if chunk:
        body["paging"] = {"cursors": {"before": cursor(start), "after": cursor(start + len(chunk) - 1)}}
        if start + len(chunk) < len(items):
            query = {"limit": limit, "after": cursor(start + len(chunk) - 1)}
            for key in ("fields", "name", "language", "status", "category"):
                if request.args.get(key):
                    query[key] = request.args[key]
            body["paging"]["next"] = f"{request.base_url}?{urlencode(query)}"
    return body
