"""Meta's template webhooks, applied to the product's copy of the template.

Ingest routes these WABA-level changes by the entry id (the WABA) to each product with
numbers in that WABA and stores each as an account event exactly once; a WABA no product
has is kept as unrouted and replayed once one links it (portal/webhook/ingest.py). The
handlers here run only for events that ingest's transaction just inserted, so a redelivery
never applies twice, and they touch only the template of that product and that WABA.

Payloads, from Meta's webhook references
(developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/<field>):
- message_template_status_update: {event, message_template_id, message_template_name,
  message_template_language, reason, message_template_category?, other_info?, disable_info?}
- message_template_quality_update: {previous_quality_score, new_quality_score, message_template_id,
  message_template_name, message_template_language}
- message_template_components_update: {message_template_id, message_template_name,
  message_template_language, message_template_element, message_template_title?,
  message_template_footer?, message_template_buttons?}
- template_category_update: {message_template_id, message_template_name, message_template_language,
  previous_category, new_category}
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from ..extensions import db
from ..models import MessageTemplate

FIELDS = ("message_template_status_update", "message_template_quality_update",
          "message_template_components_update", "template_category_update")
# What the template page says about a status, besides Meta's reason.
STATUS_WORDS = {
    "APPROVED": _l("Approved: it can be sent."),
    "PENDING": _l("Waiting for Meta's review."),
    "REJECTED": _l("Rejected by Meta."),
    "PAUSED": _l("Paused by Meta after poor feedback from customers; it cannot be sent for now."),
    "DISABLED": _l("Disabled by Meta; it can no longer be sent."),
    "IN_APPEAL": _l("Under appeal at Meta."),
    "PENDING_DELETION": _l("Being deleted at Meta."),
    "ARCHIVED": _l("Archived."),
    "LIMIT_EXCEEDED": _l("Meta's template limit is exceeded."),
}


def _template(row: dict, value: dict, create: bool = False) -> MessageTemplate | None:
    """The product's template the event names: by Meta's id, else by name and language, in the event's WABA."""
    meta_id = str(value.get("message_template_id") or "")
    name, language = value.get("message_template_name"), value.get("message_template_language")
    conditions = []
    if meta_id:
        conditions.append(MessageTemplate.meta_id == meta_id)
    if isinstance(name, str) and isinstance(language, str):
        conditions.append((MessageTemplate.name == name) & (MessageTemplate.language == language))
    if not conditions:
        return None
    found = db.session.execute(
        select(MessageTemplate).where(MessageTemplate.product_id == row["product_id"],
                                      MessageTemplate.business_account_id == row["business_account_id"],
                                      or_(*conditions))
        .execution_options(all_products=True)
    ).scalars().first()
    if found is None and create and isinstance(name, str) and isinstance(language, str) and name and language:
        # Made at Meta (or elsewhere) and not synced yet: keep what the event says; a sync fills the rest.
        found = MessageTemplate(product_id=row["product_id"], business_account_id=row["business_account_id"],
                                name=name[:512], language=language[:16], components=[], parameter_format="POSITIONAL")
        db.session.add(found)
    if found is not None and meta_id and not found.meta_id:
        found.meta_id = meta_id[:64]
    return found


def status_update(row: dict, value: dict) -> None:
    event = value.get("event")
    if not isinstance(event, str) or not event:
        return
    template = _template(row, value, create=True)
    if template is None:
        return
    template.status = event[:32]
    reason = value.get("reason")
    other = value.get("other_info") if isinstance(value.get("other_info"), dict) else {}
    words = [str(reason)] if reason and reason != "NONE" else []
    if other.get("description") or other.get("title"):
        words.append(": ".join(str(other[k]) for k in ("title", "description") if other.get(k)))
    template.rejected_reason = " · ".join(words) or None
    if isinstance(value.get("message_template_category"), str):
        template.category = value["message_template_category"][:32]


def quality_update(row: dict, value: dict) -> None:
    template = _template(row, value)
    score = value.get("new_quality_score")
    if template is not None and isinstance(score, str):
        template.quality_score = score[:16]


def category_update(row: dict, value: dict) -> None:
    template = _template(row, value)
    category = value.get("new_category")
    if template is not None and isinstance(category, str) and category:
        template.category = category[:32]


def components_update(row: dict, value: dict) -> None:
    """An edited template: its texts and buttons as the event gives them (media headers stay as they were)."""
    template = _template(row, value)
    if template is None:
        return
    old = {str(c.get("type", "")).upper(): c for c in template.components or [] if isinstance(c, dict)}
    components = []
    if isinstance(value.get("message_template_title"), str):
        components.append({"type": "HEADER", "format": "TEXT", "text": value["message_template_title"]})
    elif "HEADER" in old and str(old["HEADER"].get("format", "TEXT")).upper() != "TEXT":
        components.append(old["HEADER"])
    if isinstance(value.get("message_template_element"), str):
        components.append({"type": "BODY", "text": value["message_template_element"]})
    elif "BODY" in old:
        components.append(old["BODY"])
    if isinstance(value.get("message_template_footer"), str):
        components.append({"type": "FOOTER", "text": value["message_template_footer"]})
    buttons = value.get("message_template_buttons")
    if isinstance(buttons, list):
        converted = [_button(b) for b in buttons if isinstance(b, dict)]
        # The event lists URL and phone buttons only: keep the others (quick replies, copy code).
        kept = [b for b in (old.get("BUTTONS") or {}).get("buttons", []) if b.get("type") not in ("URL", "PHONE_NUMBER")]
        components.append({"type": "BUTTONS", "buttons": kept + converted})
    elif "BUTTONS" in old:
        components.append(old["BUTTONS"])
    template.components = components


def _button(item: dict) -> dict:
    kind = str(item.get("message_template_button_type") or "").upper()
    out = {"type": kind, "text": item.get("message_template_button_text") or ""}
    if item.get("message_template_button_url"):
        out["url"] = item["message_template_button_url"]
    if item.get("message_template_button_phone_number"):
        out["phone_number"] = str(item["message_template_button_phone_number"])
    return out


HANDLERS = {
    "message_template_status_update": status_update,
    "message_template_quality_update": quality_update,
    "message_template_components_update": components_update,
    "template_category_update": category_update,
}
