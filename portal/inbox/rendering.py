"""Template helpers: message text made safe (escaped, links, line breaks), ticks, labels."""
from __future__ import annotations

import re
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from markupsafe import Markup, escape

from ..meta import payloads
from ..models import ORIGIN_BUSINESS_APP, ORIGIN_HISTORY, STATUS_RANK, utcnow

# Matched on the ESCAPED text, so a link can never carry a quote or an angle bracket out of its attribute.
_URL = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"

MEDIA_LABELS = {"image": _l("Photo"), "video": _l("Video"), "audio": _l("Audio"), "document": _l("Document"),
                "sticker": _l("Sticker")}
TICKS = {
    "pending": ("🕓", _l("Sending")),
    "sent": ("✓", _l("Sent")),
    "delivered": ("✓✓", _l("Delivered")),
    "read": ("✓✓", _l("Read")),
    "played": ("✓✓", _l("Played")),
    "failed": ("!", _l("Not sent")),
}
# What a message is, in words, for people (payloads.KIND_WORDS is the stored, English preview's).
KIND_LABELS = {
    "location": _l("Location"), "contacts": _l("Shared contact"), "interactive": _l("Interactive reply"),
    "button": _l("Button reply"), "order": _l("Order"), "system": _l("WhatsApp system message"),
    "request_welcome": _l("Opened the chat for the first time"), "edit": _l("Edited a message"),
    "revoke": _l("Deleted a message"), "media_placeholder": _l("Media from the chat history"),
    "unsupported": _l("Unsupported message"), "unknown": _l("Unsupported message"),
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
    symbol, label = TICKS.get(status or "pending", ("?", status or _("unknown")))
    return {"status": status or "pending", "symbol": symbol, "label": str(label)}


def status_word(status: str | None) -> str:
    """A conversation's status in the reader's language (badges)."""
    words = {"open": _("open"), "pending": _("pending"),
             "resolved": _("resolved")}
    return words.get(status, status or "")


def is_newer_status(new: str | None, old: str | None) -> bool:
    """Ticks only move forward (a late "delivered" never replaces "read")."""
    return STATUS_RANK.get(new or "", -1) > STATUS_RANK.get(old or "", -1)


def final_status(status: str | None) -> bool:
    """No later status can change what the ticks show."""
    return status in ("read", "played", "failed")


def summary(message) -> str:
    """One line for lists, in the reader's language: the text, or what kind of message it is, and
    what became of it (shown only: the stored preview is payloads.one_line's)."""
    edited = " " + _("(edited)") if message.edited_at else ""
    if message.revoked_at:
        return _("This message was deleted")
    if message.type in MEDIA_LABELS:
        from ..media.labels import summary as media_summary  # "Photo", "Voice note 0:14"

        return media_summary(message) + edited
    if message.type == "reaction" and message.reaction_emoji and not message.text:
        return _("Reacted %(emoji)s", emoji=message.reaction_emoji)
    line = one_line(message.type, message.text)
    if message.type == "location" and message.location_name:
        line = _("Location: %(name)s", name=message.location_name)
    if message.type == "interactive" and message.reply_title and message.text and message.reply_title not in message.text:
        line = f"{message.reply_title}: {message.text}"
    referral = _dict(message.raw).get("referral") if message.raw else None
    if isinstance(referral, dict) and not line:
        line = _("From an ad: %(headline)s", headline=payloads.text(referral.get("headline")) or "")
    return line + edited


def one_line(kind: str, body: str | None) -> str:
    """payloads.one_line in the reader's language: the kind in words, then what it says."""
    if kind == "text":
        return body or ""
    if kind in ("interactive", "button", "system", "order", "contacts") and body:
        return body
    if kind == "reaction":
        return _("Reacted %(emoji)s", emoji=body) if body else _("Removed a reaction")
    label = KIND_LABELS.get(kind)
    if label is None:
        return (_("Unsupported message (%(kind)s): %(text)s", kind=kind, text=body) if body
                else _("Unsupported message (%(kind)s)", kind=kind))
    return f"{label}: {body}" if body else str(label)


def system_words(body: dict) -> str:
    """payloads.system_words in the reader's language."""
    kind = payloads.text(body.get("type"), 64) or ""
    if kind in ("user_changed_number", "customer_changed_number"):
        new = payloads.text(body.get("new_wa_id") or body.get("wa_id"), 32)
        return (_("The customer changed their phone number to +%(number)s", number=new) if new
                else _("The customer changed their phone number"))
    if kind in ("user_changed_user_id", "customer_identity_changed"):
        return _("The customer's WhatsApp account id changed")
    return _("WhatsApp system message")


def call_permission_words(reply: dict) -> str:
    """payloads.call_permission_words in the reader's language (the time in the reader's zone)."""
    from ..i18n.formatting import stamp

    response = (payloads.text(reply.get("response"), 32) or "").lower()
    expiration = payloads.timestamp(reply.get("expiration_timestamp") or reply.get("expiration"))
    if response == "accept":
        return (_("Allowed WhatsApp calls until %(time)s", time=stamp(expiration)) if expiration
                else _("Allowed WhatsApp calls"))
    if response == "reject":
        return _("Declined WhatsApp calls")
    return _("Call permission: %(response)s", response=payloads.text(reply.get("response"), 32) or "")


# Codes the sentence stored for them already explains (rate limits): shown without their number.
UNNUMBERED_CODES = (130429, 131056, 4, 80007)


def shown_error(message, numbered: bool = True) -> str:
    """Why an outbound message failed (or is held), in the reader's language, with Meta's code unless
    not `numbered` (a tooltip): Meta's refusal of a send is composed now around Meta's own words; the
    portal's own stored sentences are translated; a failed status's title stays as Meta wrote it."""
    from .sending import refused_words, said_error

    said = said_error(message)
    if said is None:
        return _("WhatsApp could not deliver this message.")
    code = message.error_code
    if not numbered or not code or code in UNNUMBERED_CODES or f"code {code}" in message.error_title:
        return said
    if refused_words(message) is not None:  # the refusal's sentence says its code
        return said
    return f"{said} {_('(code %(code)s)', code=code)}"


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
            found["flow"] = {"name": payloads.text(reply.get("name")) or _("Flow"),
                             "body": payloads.text(reply.get("body")),
                             "answers": payloads.flow_answers(reply.get("response_json"))}
        elif sub == "list_reply":
            found["description"] = payloads.text(reply.get("description"))
        elif sub == "call_permission_reply":
            found["call"] = call_permission_words(reply)
    elif message.type == "order":
        items = payloads.order_items(body)
        found["order"] = {"items": items, "total": payloads.order_total(items), "catalog_id": payloads.text(body.get("catalog_id")),
                          "note": payloads.text(body.get("text"))}
    elif message.type == "contacts":
        found["cards"] = payloads.contact_cards(raw.get("contacts"))
    elif message.type == "system":
        found["system"] = payloads.text(body.get("body")) or system_words(body)
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
        return _("Unknown")
    return f"+{value}" if value.isdigit() else _("WhatsApp user")


ORIGIN_WORDS = {
    ORIGIN_BUSINESS_APP: _l("Sent from the WhatsApp Business app"),
    ORIGIN_HISTORY: _l("From the chat history"),
}


def map_url(latitude: float, longitude: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={latitude:.6f}&mlon={longitude:.6f}#map=16/{latitude:.6f}/{longitude:.6f}"


def init_app(app):
    app.add_template_filter(message_html, "message_html")
    app.add_template_filter(summary, "message_summary")
    app.add_template_global(ticks, "message_ticks")
    app.add_template_global(status_word, "status_word")
    app.add_template_global(final_status, "final_status")
    app.add_template_global(map_url, "map_url")
    app.add_template_global(details, "message_details")
    app.add_template_filter(customer_id, "customer_id")
    app.add_template_filter(shown_error, "shown_error")
    app.add_template_global(ORIGIN_WORDS, "origin_words")
    app.add_template_global(MEDIA_LABELS, "media_labels")
    app.add_template_global(utcnow, "now_utc")

    from .sending import retryable

    app.add_template_global(retryable, "message_retryable")
