"""Template helpers: message text made safe (escaped, links, line breaks), ticks, labels."""
from __future__ import annotations

import re
from markupsafe import Markup, escape

from ..meta import payloads
from ..models import ORIGIN_BUSINESS_APP, ORIGIN_HISTORY, STATUS_RANK, utcnow

# Matched on the ESCAPED text, so a link can never carry a quote or an angle bracket out of its attribute.
_URL = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"

MEDIA_LABELS = {"image": "Photo", "video": "Video", "audio": "Audio", "document": "Document", "sticker": "Sticker"}
TICKS = {
    "pending": ("🕓", "Sending"),
    "sent": ("✓", "Sent"),
    "delivered": ("✓✓", "Delivered"),
    "read": ("✓✓", "Read"),
    "played": ("✓✓", "Played"),
    "failed": ("!", "Not sent"),
}


def message_html(text: str | None) -> Markup:
    """Escape everything, then turn http(s) links into links and line breaks into <br>."""
    if not text:
        return Markup("")
    escaped = str(escape(text))

    def link(match: re.Match) -> str:
        # One rstrip, not a character at a time: that loop copied the URL once per trailing
        # character, and a message of nothing but punctuation made every view quadratic.
        url = match.group(0).rstrip(_TRAILING)
        trail = match.group(0)[len(url):]
        if url.endswith("&amp") or url.endswith("&lt") or url.endswith("&gt"):
            return match.group(0)
        return f'<a href="{url}" rel="noopener noreferrer nofollow" target="_blank">{url}</a>{trail}'

    linked = _URL.sub(link, escaped)
    return Markup(linked.replace("\r\n", "\n").replace("\n", "<br>\n"))


def ticks(status: str | None) -> dict:
    """Symbol and label of an outbound message's delivery status."""
    symbol, label = TICKS.get(status or "pending", ("?", status or "unknown"))
    return {"status": status or "pending", "symbol": symbol, "label": label}


def is_newer_status(new: str | None, old: str | None) -> bool:
    """Ticks only move forward (a late "delivered" never replaces "read")."""
    return STATUS_RANK.get(new or "", -1) > STATUS_RANK.get(old or "", -1)


def final_status(status: str | None) -> bool:
    """No later status can change what the ticks show."""
    return status in ("read", "played", "failed")


def summary(message) -> str:
    """One line for lists: the text, or what kind of message it is, and what became of it."""
    if message.revoked_at:
        return "This message was deleted"
    if message.type in MEDIA_LABELS:
        from ..media.labels import summary as media_summary  # "Photo", "Voice note 0:14"

        return media_summary(message) + (" (edited)" if message.edited_at else "")
    if message.type == "reaction" and message.reaction_emoji and not message.text:
        return f"Reacted {message.reaction_emoji}"
    line = payloads.one_line(message.type, message.text)
    if message.type == "location" and message.location_name:
        line = f"Location: {message.location_name}"
    if message.type == "interactive" and message.reply_title and message.text and message.reply_title not in message.text:
        line = f"{message.reply_title}: {message.text}"
    referral = _dict(message.raw).get("referral") if message.raw else None
    if isinstance(referral, dict) and not line:
        line = "From an ad: " + (payloads.text(referral.get("headline")) or "")
    return line + (" (edited)" if message.edited_at else "")


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def details(message) -> dict:
    """What a thread shows of a message beyond its columns, read from Meta's own object (`raw`):
    a Flow's answers, an order's items, contact cards, the ad that brought the customer, errors."""
    raw = _dict(message.raw)
    body = _dict(raw.get(message.type))
    found: dict = {}
    if message.type == "interactive":
        sub = payloads.text(body.get("type")) or ""
        reply = _dict(body.get(sub))
        found["interactive"] = sub
        if sub == "nfm_reply":
            found["flow"] = {"name": payloads.text(reply.get("name")) or "Flow",
                             "body": payloads.text(reply.get("body")),
                             "answers": payloads.flow_answers(reply.get("response_json"))}
        elif sub == "list_reply":
            found["description"] = payloads.text(reply.get("description"))
        elif sub == "call_permission_reply":
            found["call"] = payloads.call_permission_words(reply)
    elif message.type == "order":
        items = payloads.order_items(body)
        found["order"] = {"items": items, "total": payloads.order_total(items), "catalog_id": payloads.text(body.get("catalog_id")),
                          "note": payloads.text(body.get("text"))}
    elif message.type == "contacts":
        found["cards"] = payloads.contact_cards(raw.get("contacts"))
    elif message.type == "system":
        found["system"] = payloads.text(body.get("body")) or payloads.system_words(body)
    referral = _dict(raw.get("referral"))
    if referral:
        found["referral"] = {key: payloads.text(referral.get(key)) for key in
                             ("headline", "body", "source_type", "source_url", "media_type", "source_id")}
        if not re.match(r"https?://", found["referral"]["source_url"] or "", re.IGNORECASE):
            found["referral"]["source_url"] = None  # only web links become links
    context = _dict(raw.get("context"))
    product = _dict(context.get("referred_product"))
    if product:
        found["referred_product"] = payloads.text(product.get("product_retailer_id"))
    if raw.get("errors"):
        found["errors"] = payloads.error_words(raw.get("errors"))
    return found


def customer_id(value: str | None) -> str:
    """A message's customer id for people: a phone number with its "+", never a BSUID as if it were one."""
    if not value:
        return "Unknown"
    return f"+{value}" if value.isdigit() else "WhatsApp user"


ORIGIN_WORDS = {
    ORIGIN_BUSINESS_APP: "Sent from the WhatsApp Business app",
    ORIGIN_HISTORY: "From the chat history",
}


def map_url(latitude: float, longitude: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={latitude:.6f}&mlon={longitude:.6f}#map=16/{latitude:.6f}/{longitude:.6f}"


def init_app(app):
    app.add_template_filter(message_html, "message_html")
    app.add_template_filter(summary, "message_summary")
    app.add_template_global(ticks, "message_ticks")
    app.add_template_global(final_status, "final_status")
    app.add_template_global(map_url, "map_url")
    app.add_template_global(details, "message_details")
    app.add_template_filter(customer_id, "customer_id")
    app.add_template_global(ORIGIN_WORDS, "origin_words")
    app.add_template_global(MEDIA_LABELS, "media_labels")
    app.add_template_global(utcnow, "now_utc")

    from .sending import retryable

    app.add_template_global(retryable, "message_retryable")
