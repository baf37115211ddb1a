"""Meta's account_update events, and value-level webhook errors, in words for the dashboard.

Shapes from Meta's account_update webhook reference: `ban_info` {waba_ban_state, waba_ban_date}
for DISABLED_UPDATE, `restriction_info` [{restriction_type, expiration}] for ACCOUNT_RESTRICTION,
`violation_info` {violation_type} for ACCOUNT_VIOLATION; OFFBOARDED, PARTNER_REMOVED and
RECONNECTED carry only the event.

The words are made in the language of the moment: English when a webhook is stored (the text kept
on the account, for logs, the API and outgoing webhooks), the reader's when a page shows the alert
again from the event Meta sent (`shown`), which the account keeps too; likewise a webhook's
value-level errors (`shown_webhook_error`), Meta's own words staying as Meta wrote them.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..meta.payloads import error_words, text, timestamp

# What a page needs to describe the alert again: the event and its details, nothing else Meta sent.
KEPT_KEYS = ("event", "ban_info", "restriction_info", "violation_info")


@dataclass(frozen=True)
class Alert:
    event: str
    text: str
    level: str  # "danger" | "warn" | "ok"


_RESTRICTIONS = {
    "RESTRICTED_ADD_PHONE_NUMBER_ACTION": _l("adding phone numbers"),
    "RESTRICTED_BIZ_INITIATED_MESSAGING": _l("starting conversations"),
    "RESTRICTED_CUSTOMER_INITIATED_MESSAGING": _l("answering customers"),
}


def _when(value, for_reader: bool) -> str | None:
    moment = timestamp(value)
    if moment is None:
        return text(value, 64)
    if for_reader:
        from ..i18n.formatting import stamp

        return stamp(moment)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _words(code) -> str:
    return (text(code, 128) or _("unspecified")).replace("_", " ").lower()


def kept(value: dict) -> dict:
    """The part of an account_update value an account keeps to show its alert again."""
    return {key: value[key] for key in KEPT_KEYS if key in value}


def shown(account) -> str | None:
    """The account's alert in the reader's language (from the event it keeps; else the stored text)."""
    if isinstance(account.alert_value, dict):
        alert = describe(account.alert_value, for_reader=True)
        if alert is not None:
            return alert.text
    return account.alert_text


def describe(value: dict, for_reader: bool = False) -> Alert | None:
    """The alert an account_update event means for the number(s), or None if it changes nothing shown:
    in English with UTC times to be stored, or `for_reader` in the reader's language and zone."""
    if not for_reader:
        with force_locale("en"):  # whoever's request stores it (the webhook's own, in inline mode)
            return _describe(value, for_reader)
    return _describe(value, for_reader)


def _describe(value: dict, for_reader: bool) -> Alert | None:
    event = value.get("event")
    if event == "DISABLED_UPDATE":
        ban = value.get("ban_info") if isinstance(value.get("ban_info"), dict) else {}
        state, date = text(ban.get("waba_ban_state"), 64) or "DISABLE", text(ban.get("waba_ban_date"), 64)
        if state == "REINSTATE":
            return Alert(event, _("Meta reinstated this WhatsApp account (%(date)s).", date=date) if date
                         else _("Meta reinstated this WhatsApp account."), "ok")
        if state == "SCHEDULE_FOR_DISABLE":
            return Alert(event, (_("Meta scheduled this WhatsApp account to be disabled for a policy violation on "
                                   "%(date)s. Appeal in Meta Business Manager.", date=date) if date else
                                 _("Meta scheduled this WhatsApp account to be disabled for a policy violation. "
                                   "Appeal in Meta Business Manager.")), "danger")
        return Alert(event, (_("Meta disabled (banned) this WhatsApp account for a policy violation on %(date)s. "
                               "No messages can be sent; appeal in Meta Business Manager.", date=date) if date else
                             _("Meta disabled (banned) this WhatsApp account for a policy violation. "
                               "No messages can be sent; appeal in Meta Business Manager.")), "danger")
    if event == "ACCOUNT_RESTRICTION":
        items = value.get("restriction_info") if isinstance(value.get("restriction_info"), list) else []
        parts = []
        for item in (i for i in items if isinstance(i, dict)):
            kind = text(item.get("restriction_type"), 128) or ""
            what = str(_RESTRICTIONS.get(kind) or _words(kind))
            until = _when(item.get("expiration"), for_reader)
            parts.append(_("%(what)s until %(time)s", what=what, time=until) if until else what)
        return Alert(event, _("Meta restricted this WhatsApp account: %(restrictions)s.",
                              restrictions="; ".join(parts) or _("see Meta Business Manager")), "danger")
    if event == "ACCOUNT_VIOLATION":
        info = value.get("violation_info") if isinstance(value.get("violation_info"), dict) else {}
        return Alert(event, _("Meta reports a policy violation (%(violation)s). Repeated violations lead to "
                              "restrictions or a ban.", violation=_words(info.get("violation_type"))), "warn")
    if event == "ACCOUNT_OFFBOARDED":
        return Alert(event, _("Meta offboarded this WhatsApp account from the Cloud API: messages no longer arrive "
                              "here."), "danger")
    if event == "PARTNER_REMOVED":
        return Alert(event, _("The business stopped sharing this WhatsApp account with the app: connect it again."),
                     "danger")
    if event == "ACCOUNT_RECONNECTED":
        return Alert(event, _("Meta reconnected this WhatsApp account to the Cloud API."), "ok")
    return None


# What an account keeps of a change's value-level `errors` to say them again: Meta's own fields.
KEPT_ERRORS = 5


def kept_errors(errors) -> list[dict] | None:
    """Value-level `errors` of a change ({code, title, message, error_data: {details}}) as an account
    keeps them: Meta's code and words, nothing else Meta sent, at most a few."""
    if not isinstance(errors, list):
        return None
    kept = []
    for error in (e for e in errors[:KEPT_ERRORS] if isinstance(e, dict)):
        code = error.get("code")
        item: dict = {"code": code} if isinstance(code, int) and not isinstance(code, bool) else {}
        item.update((key, words) for key in ("title", "message") if (words := text(error.get(key), 512)))
        data = error.get("error_data")
        details = text(data.get("details"), 512) if isinstance(data, dict) else None
        if details:
            item["error_data"] = {"details": details}
        if item:
            kept.append(item)
    return kept or None


def errors_words(errors, for_reader: bool = False) -> str | None:
    """Value-level `errors` of a change in words: Meta's own (the first error's title and details)
    and its code, the portal's part in English to be stored, or `for_reader` in the reader's language."""
    if not for_reader:
        with force_locale("en"):  # whoever's request stores it (the webhook's own, in inline mode)
            return _errors_words(errors)
    return _errors_words(errors)


def _errors_words(errors) -> str | None:
    words = error_words(errors)
    if not words:
        return None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = first.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        return words
    return f"{words} {_('(code %(code)s)', code=code)}"


def shown_webhook_error(account) -> str | None:
    """The number's latest webhook error in the reader's language (from the errors it keeps; else the stored text)."""
    if isinstance(account.webhook_error_value, list):
        words = errors_words(account.webhook_error_value, for_reader=True)
        if words is not None:
            return words
    return account.webhook_error
