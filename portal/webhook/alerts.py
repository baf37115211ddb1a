"""Meta's account_update events, and value-level webhook errors, in words for the dashboard.

Shapes from Meta's account_update webhook reference: `ban_info` {waba_ban_state, waba_ban_date}
for DISABLED_UPDATE, `restriction_info` [{restriction_type, expiration}] for ACCOUNT_RESTRICTION,
`violation_info` {violation_type} for ACCOUNT_VIOLATION; OFFBOARDED, PARTNER_REMOVED and
RECONNECTED carry only the event.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..meta.payloads import error_words, text, timestamp


@dataclass(frozen=True)
class Alert:
    event: str
    text: str
    level: str  # "danger" | "warn" | "ok"


_RESTRICTIONS = {
    "RESTRICTED_ADD_PHONE_NUMBER_ACTION": "adding phone numbers",
    "RESTRICTED_BIZ_INITIATED_MESSAGING": "starting conversations",
    "RESTRICTED_CUSTOMER_INITIATED_MESSAGING": "answering customers",
}


def _when(value) -> str | None:
    moment = timestamp(value)
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else text(value, 64)


def _words(code) -> str:
    return (text(code, 128) or "unspecified").replace("_", " ").lower()


def describe(value: dict) -> Alert | None:
    """The alert an account_update event means for the number(s), or None if it changes nothing shown."""
    event = value.get("event")
    if event == "DISABLED_UPDATE":
        ban = value.get("ban_info") if isinstance(value.get("ban_info"), dict) else {}
        state, date = text(ban.get("waba_ban_state"), 64) or "DISABLE", text(ban.get("waba_ban_date"), 64)
        if state == "REINSTATE":
            return Alert(event, "Meta reinstated this WhatsApp account" + (f" ({date})." if date else "."), "ok")
        if state == "SCHEDULE_FOR_DISABLE":
            return Alert(event, "Meta scheduled this WhatsApp account to be disabled for a policy violation"
                         + (f" on {date}." if date else ".") + " Appeal in Meta Business Manager.", "danger")
        return Alert(event, "Meta disabled (banned) this WhatsApp account for a policy violation"
                     + (f" on {date}." if date else ".") + " No messages can be sent; appeal in Meta Business Manager.",
                     "danger")
    if event == "ACCOUNT_RESTRICTION":
        items = value.get("restriction_info") if isinstance(value.get("restriction_info"), list) else []
        parts = []
        for item in (i for i in items if isinstance(i, dict)):
            kind = text(item.get("restriction_type"), 128) or ""
            what = _RESTRICTIONS.get(kind, _words(kind))
            until = _when(item.get("expiration"))
            parts.append(what + (f" until {until}" if until else ""))
        return Alert(event, "Meta restricted this WhatsApp account: " + ("; ".join(parts) or "see Meta Business Manager") + ".",
                     "danger")
    if event == "ACCOUNT_VIOLATION":
        info = value.get("violation_info") if isinstance(value.get("violation_info"), dict) else {}
        return Alert(event, f"Meta reports a policy violation ({_words(info.get('violation_type'))}). "
                     "Repeated violations lead to restrictions or a ban.", "warn")
    if event == "ACCOUNT_OFFBOARDED":
        return Alert(event, "Meta offboarded this WhatsApp account from the Cloud API: messages no longer arrive here.",
                     "danger")
    if event == "PARTNER_REMOVED":
        return Alert(event, "The business stopped sharing this WhatsApp account with the app: connect it again.",
                     "danger")
    if event == "ACCOUNT_RECONNECTED":
        return Alert(event, "Meta reconnected this WhatsApp account to the Cloud API.", "ok")
    return None


def errors_words(errors) -> str | None:
    """Value-level `errors` of a change ({code, title, message, error_data: {details}}) in words."""
    words = error_words(errors)
    if not words:
        return None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = first.get("code")
    return f"{words} (code {code})" if isinstance(code, int) and not isinstance(code, bool) else words
