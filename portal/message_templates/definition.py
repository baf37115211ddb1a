"""A template as a team writes it: the form's fields, Meta's rules checked before submitting,
and the body of `POST /{waba-id}/message_templates` (pure functions, no database).

Rules from Meta's "Create and manage templates" and "Template components" guides
(developers.facebook.com/docs/whatsapp/business-management-api/message-templates/components):
name of lowercase letters, digits and underscores (at most 512); header text at most 60
characters with at most one variable; body at most 1024; footer at most 60 without
variables; at most 10 buttons: quick replies (text at most 25) grouped together, at most 2
URL buttons (one variable, at the end of the URL), 1 phone number (at most 20 characters), 1
copy code (example at most 15); variables either all positional ({{1}}, {{2}}... in order,
no gaps) or all named ({{first_name}}), never at the very start or end of the body, and a
sample value for every one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ..models.templates import CATEGORIES

NAME = re.compile(r"[a-z0-9_]{1,512}")
VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
NAMED_VARIABLE = re.compile(r"[a-z][a-z0-9_]*")
HEADER_FORMATS = ("NONE", "TEXT", "IMAGE", "VIDEO", "DOCUMENT")
BUTTON_TYPES = ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE")
BUTTON_LABELS = {"QUICK_REPLY": _l("Quick reply"), "URL": _l("Visit website"), "PHONE_NUMBER": _l("Call phone number"),
                 "COPY_CODE": _l("Copy offer code")}
BUTTON_ROWS = 6  # rows the form offers (Meta allows 10 buttons; checked below)
MAX_HEADER, MAX_BODY, MAX_FOOTER, MAX_BUTTON_TEXT = 60, 1024, 60, 25
MAX_BUTTONS, MAX_URL_BUTTONS, MAX_PHONE_BUTTONS, MAX_COPY_CODE = 10, 2, 1, 1
MAX_URL, MAX_PHONE, MAX_CODE = 2000, 20, 15
# Languages Meta supports for templates (a subset: the common ones; Meta lists about 70).
LANGUAGES = {
    "en_US": _l("English (US)"), "en_GB": _l("English (UK)"), "en": _l("English"), "es": _l("Spanish"),
    "es_ES": _l("Spanish (Spain)"), "es_MX": _l("Spanish (Mexico)"), "es_AR": _l("Spanish (Argentina)"),
    "pt_BR": _l("Portuguese (Brazil)"), "pt_PT": _l("Portuguese (Portugal)"), "fr": _l("French"), "de": _l("German"),
    "it": _l("Italian"), "nl": _l("Dutch"), "id": _l("Indonesian"), "hi": _l("Hindi"), "ar": _l("Arabic"),
    "tr": _l("Turkish"), "ru": _l("Russian"),
}
AUTH_BODY = "{{1}} is your verification code."  # what Meta renders an authentication body as
AUTH_SECURITY = "For your security, do not share this code."


@dataclass
class Button:
    type: str
    text: str = ""
    url: str = ""
    phone_number: str = ""
    example: str = ""  # the URL variable's sample, or the copy code's example


@dataclass
class Draft:
    """What the create form holds."""

    name: str = ""
    language: str = "en_US"
    category: str = "UTILITY"
    header_format: str = "NONE"
    header_text: str = ""
    header_sample: str = ""
    header_handle: str = ""  # a media handle from Meta's Resumable Upload API (the header's example)
    body: str = ""
    body_samples: dict[str, str] = field(default_factory=dict)
    footer: str = ""
    buttons: list[Button] = field(default_factory=list)
    add_security_recommendation: bool = True  # authentication templates only
    code_expiration_minutes: str = ""
    otp_button_text: str = "Copy code"

    @classmethod
    def from_form(cls, form) -> "Draft":
        """From the create form's fields (a MultiDict or dict)."""
        def get(name: str) -> str:
            return str(form.get(name) or "").strip()

        draft = cls(
            name=get("name"), language=get("language"), category=get("category").upper(),
            header_format=(get("header_format") or "NONE").upper(), header_text=get("header_text"),
            header_sample=get("header_sample"), header_handle=get("header_handle"), body=get("body"),
            footer=get("footer"), add_security_recommendation=bool(form.get("add_security_recommendation")),
            code_expiration_minutes=get("code_expiration_minutes"), otp_button_text=get("otp_button_text") or "Copy code",
        )
        draft.body_samples = {name: get(f"body_sample_{name}") for name in body_variables(draft.body)}
        for index in range(BUTTON_ROWS):
            kind = get(f"button_{index}_type").upper()
            if kind:
                draft.buttons.append(Button(kind, get(f"button_{index}_text"), get(f"button_{index}_url"),
                                            get(f"button_{index}_phone"), get(f"button_{index}_example")))
        return draft

    @property
    def parameter_format(self) -> str:
        names = body_variables(self.body) + variables(self.header_text if self.header_format == "TEXT" else "")
        return "NAMED" if any(not n.isdigit() for n in names) else "POSITIONAL"


def variables(text: str) -> list[str]:
    """The variables of a text, in order of appearance, each once."""
    seen: list[str] = []
    for name in VARIABLE.findall(text or ""):
        if name not in seen:
            seen.append(name)
    return seen


def body_variables(text: str) -> list[str]:
    return variables(text)


def check(draft: Draft) -> list[str]:
    """Every rule the draft breaks, in words (empty: it may be submitted)."""
    problems: list[str] = []
    if not NAME.fullmatch(draft.name):
        problems.append(_("The name may hold only lowercase letters, digits and underscores (at most 512), e.g. order_update."))
    if draft.language not in LANGUAGES:
        problems.append(_("Choose one of the languages offered."))
    if draft.category not in CATEGORIES:
        problems.append(_("The category is marketing, utility or authentication."))
    if draft.category == "AUTHENTICATION":
        return problems + _check_authentication(draft)
    if draft.header_format not in HEADER_FORMATS:
        problems.append(_("The header is none, text, image, video or document."))
    problems += _check_header(draft)
    problems += _check_body(draft)
    if len(draft.footer) > MAX_FOOTER:
        problems.append(_("The footer holds at most %(most)s characters; it has %(count)s.", most=MAX_FOOTER, count=len(draft.footer)))
    if variables(draft.footer):
        problems.append(_("The footer cannot hold variables."))
    problems += _check_buttons(draft.buttons)
    return problems


def _check_authentication(draft: Draft) -> list[str]:
    problems = []
    if draft.header_format not in ("", "NONE") or draft.footer or draft.buttons or draft.body:
        problems.append(_("An authentication template takes Meta's own text: leave header, body, footer and buttons "
                          "empty; set the security note, the code's expiry and the copy button's label."))
    if draft.code_expiration_minutes and not (draft.code_expiration_minutes.isdigit()
                                              and 1 <= int(draft.code_expiration_minutes) <= 90):
        problems.append(_("The code expires after 1 to 90 minutes."))
    if not 1 <= len(draft.otp_button_text) <= MAX_BUTTON_TEXT:
        problems.append(_("The copy button's label holds 1 to %(most)s characters.", most=MAX_BUTTON_TEXT))
    return problems


def _check_variables(names: list[str], where: str) -> list[str]:
    problems = []
    positional = [n for n in names if n.isdigit()]
    named = [n for n in names if not n.isdigit()]
    if positional and named:
        problems.append(_("The header mixes numbered ({{1}}) and named ({{first_name}}) variables: use one kind.")
                        if where == "header" else
                        _("The body mixes numbered ({{1}}) and named ({{first_name}}) variables: use one kind."))
    for name in named:
        if not NAMED_VARIABLE.fullmatch(name):
            problems.append(_("The variable %(variable)s in the header must be lowercase letters, digits and "
                              "underscores, starting with a letter.", variable="{{" + name + "}}")
                            if where == "header" else
                            _("The variable %(variable)s in the body must be lowercase letters, digits and "
                              "underscores, starting with a letter.", variable="{{" + name + "}}"))
    if positional and not named and [int(n) for n in positional] != list(range(1, len(positional) + 1)):
        problems.append(_("The header's numbered variables must be {{1}}, {{2}}... in order, without gaps.")
                        if where == "header" else
                        _("The body's numbered variables must be {{1}}, {{2}}... in order, without gaps."))
    return problems


def _check_header(draft: Draft) -> list[str]:
    problems = []
    if draft.header_format == "TEXT":
        names = variables(draft.header_text)
        if not draft.header_text:
            problems.append(_("Write the header text, or choose no header."))
        if len(draft.header_text) > MAX_HEADER:
            problems.append(_("The header holds at most %(most)s characters; it has %(count)s.", most=MAX_HEADER,
                              count=len(draft.header_text)))
        if len(names) > 1:
            problems.append(_("The header holds at most one variable."))
        problems += _check_variables(names, "header")
        if names and not draft.header_sample:
            problems.append(_("Give a sample value for the header's variable (Meta requires one)."))
    elif draft.header_format in ("IMAGE", "VIDEO", "DOCUMENT") and not draft.header_handle:
        problems.append({
            "IMAGE": _("A image header needs a sample file handle (from Meta's Resumable Upload API)."),
            "VIDEO": _("A video header needs a sample file handle (from Meta's Resumable Upload API)."),
            "DOCUMENT": _("A document header needs a sample file handle (from Meta's Resumable Upload API)."),
        }[draft.header_format])
    return problems


def _check_body(draft: Draft) -> list[str]:
    problems = []
    body = draft.body
    if not body:
        return [_("Write the body of the template.")]
    if len(body) > MAX_BODY:
        problems.append(_("The body holds at most %(most)s characters; it has %(count)s.", most=MAX_BODY, count=len(body)))
    names = body_variables(body)
    problems += _check_variables(names, "body")
    header_names = variables(draft.header_text) if draft.header_format == "TEXT" else []
    if names and header_names and names[0].isdigit() != header_names[0].isdigit():
        problems.append(_("Header and body must use the same kind of variables (numbered or named)."))
    stripped = body.strip()
    if names and (VARIABLE.match(stripped) or re.search(r"\{\{[^{}]*\}\}$", stripped)):
        problems.append(_("The body cannot start or end with a variable: add words before and after it."))
    missing = [n for n in names if not draft.body_samples.get(n)]
    if missing:
        problems.append(_("Give a sample value for every variable of the body (Meta requires them): %(variables)s.",
                          variables=", ".join("{{" + n + "}}" for n in missing)))
    return problems


def _check_buttons(buttons: list[Button]) -> list[str]:
    problems = []
    if len(buttons) > MAX_BUTTONS:
        problems.append(_("A template holds at most %(most)s buttons.", most=MAX_BUTTONS))
    kinds = [b.type for b in buttons]
    for kind, most in (("URL", MAX_URL_BUTTONS), ("PHONE_NUMBER", MAX_PHONE_BUTTONS), ("COPY_CODE", MAX_COPY_CODE)):
        if kinds.count(kind) > most:
            problems.append(ngettext("At most %(num)d “%(label)s” button.", "At most %(num)d “%(label)s” buttons.", most,
                                     label=BUTTON_LABELS[kind]))
    quick = [i for i, kind in enumerate(kinds) if kind == "QUICK_REPLY"]
    if quick and quick != list(range(quick[0], quick[0] + len(quick))):
        problems.append(_("Quick reply buttons must be next to each other, not between other buttons."))
    for number, button in enumerate(buttons, 1):
        if button.type not in BUTTON_TYPES:
            problems.append(_("Button %(number)s: choose quick reply, URL, phone number or copy code.", number=number))
            continue
        if button.type != "COPY_CODE" and not 1 <= len(button.text) <= MAX_BUTTON_TEXT:
            problems.append(_("Button %(number)s: the label holds 1 to %(most)s characters.", number=number,
                              most=MAX_BUTTON_TEXT))
        if button.type == "URL":
            names = variables(button.url)
            if not re.match(r"https?://\S+$", button.url) or len(button.url) > MAX_URL:
                problems.append(_("Button %(number)s: the URL starts with https:// and holds at most %(most)s characters.",
                                  number=number, most=MAX_URL))
            if len(names) > 1 or (names and not re.search(r"\{\{1\}\}$", button.url)):
                problems.append(_("Button %(number)s: a URL holds one variable, {{1}}, at its end.", number=number))
            if names and not button.example:
                problems.append(_("Button %(number)s: give a sample value for the URL's variable.", number=number))
        if button.type == "PHONE_NUMBER" and not re.fullmatch(r"\+?\d{6,20}", button.phone_number):
            problems.append(_("Button %(number)s: the phone number is digits with its country code (at most %(most)s).",
                              number=number, most=MAX_PHONE))
        if button.type == "COPY_CODE" and not 1 <= len(button.example) <= MAX_CODE:
            problems.append(_("Button %(number)s: the example code holds 1 to %(most)s characters.", number=number,
                              most=MAX_CODE))
    return problems


def to_meta(draft: Draft) -> dict:
    """The body of POST /{waba-id}/message_templates for a draft that passed check()."""
    payload = {"name": draft.name, "language": draft.language, "category": draft.category}
    if draft.category == "AUTHENTICATION":
        footer: dict = {"type": "FOOTER"}
        if draft.code_expiration_minutes:
            footer["code_expiration_minutes"] = int(draft.code_expiration_minutes)
        payload["components"] = [
            {"type": "BODY", "add_security_recommendation": draft.add_security_recommendation},
            *([footer] if draft.code_expiration_minutes else []),
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": draft.otp_button_text}]},
        ]
        return payload
    named = draft.parameter_format == "NAMED"
    payload["parameter_format"] = draft.parameter_format
    components = []
    if draft.header_format == "TEXT":
        header: dict = {"type": "HEADER", "format": "TEXT", "text": draft.header_text}
        names = variables(draft.header_text)
        if names:
            header["example"] = ({"header_text_named_params": [{"param_name": names[0], "example": draft.header_sample}]}
                                 if named else {"header_text": [draft.header_sample]})
        components.append(header)
    elif draft.header_format in ("IMAGE", "VIDEO", "DOCUMENT"):
        components.append({"type": "HEADER", "format": draft.header_format, "example": {"header_handle": [draft.header_handle]}})
    body: dict = {"type": "BODY", "text": draft.body}
    names = body_variables(draft.body)
    if names:
        body["example"] = ({"body_text_named_params": [{"param_name": n, "example": draft.body_samples[n]} for n in names]}
                           if named else {"body_text": [[draft.body_samples[n] for n in names]]})
    components.append(body)
    if draft.footer:
        components.append({"type": "FOOTER", "text": draft.footer})
    if draft.buttons:
        components.append({"type": "BUTTONS", "buttons": [_button(b) for b in draft.buttons]})
    payload["components"] = components
    return payload


def _button(button: Button) -> dict:
    if button.type == "QUICK_REPLY":
        return {"type": "QUICK_REPLY", "text": button.text}
    if button.type == "URL":
        out = {"type": "URL", "text": button.text, "url": button.url}
        if variables(button.url):
            out["example"] = [button.url.replace("{{1}}", button.example)]
        return out
    if button.type == "PHONE_NUMBER":
        return {"type": "PHONE_NUMBER", "text": button.text, "phone_number": button.phone_number}
    return {"type": "COPY_CODE", "example": button.example}


def stored_components(payload: dict) -> list:
    """The components to keep for a template just submitted, as Meta will list them (authentication
    templates get Meta's own body text and a URL-like code button)."""
    if payload.get("category") != "AUTHENTICATION":
        return payload["components"]
    body = payload["components"][0]
    text = AUTH_BODY + (" " + AUTH_SECURITY if body.get("add_security_recommendation") else "")
    out = [{"type": "BODY", "text": text}]
    out += [c for c in payload["components"] if c["type"] == "FOOTER"]
    button = payload["components"][-1]["buttons"][0]
    out.append({"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": button["text"]}]})
    return out
