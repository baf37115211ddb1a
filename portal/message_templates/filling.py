"""Filling a template to send it: which values it needs, the exact `components` Meta expects,
and the text the thread shows (pure functions, no database).

Meta's "Send message templates" guide
(developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates):
`{"type": "header", "parameters": [{"type": "text", "text": ...}]}` or a media parameter
(`{"type": "image", "image": {"link": ...}}` / `{"id": ...}`), `{"type": "body", "parameters":
[{"type": "text", "text": ..., "parameter_name": ...}]}` (parameter_name only for NAMED
templates), and per button with a variable `{"type": "button", "sub_type": "url" |
"copy_code", "index": "<position>", "parameters": [...]}`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _

from .definition import variables

MAX_VALUE = 1024
MEDIA_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT")


class FillError(ValueError):
    """A value is missing or cannot be sent; the message says which, in words."""


@dataclass(frozen=True)
class Slot:
    key: str  # form field name: header, header_media, body_<name>, button_<index>
    label: str
    kind: str  # text | media | code
    hint: str = ""


def component(components: list, kind: str) -> dict | None:
    for item in components or []:
        if isinstance(item, dict) and str(item.get("type", "")).upper() == kind:
            return item
    return None


def buttons(components: list) -> list[dict]:
    block = component(components, "BUTTONS")
    return [b for b in (block or {}).get("buttons", []) if isinstance(b, dict)]


def slots(components: list) -> list[Slot]:
    """Every value a send of this template needs, in the order the form asks for them."""
    out = []
    header = component(components, "HEADER")
    if header:
        fmt = str(header.get("format", "TEXT")).upper()
        if fmt == "TEXT" and variables(header.get("text", "")):
            out.append(Slot("header", _("Header %(variable)s", variable="{{" + variables(header["text"])[0] + "}}"),
                            "text"))
        elif fmt in MEDIA_FORMATS:
            label = {"IMAGE": _("Header image"), "VIDEO": _("Header video"), "DOCUMENT": _("Header document")}[fmt]
            out.append(Slot("header_media", label, "media", _("A public https link to the file, or a media id from Meta")))
    body = component(components, "BODY")
    for name in variables((body or {}).get("text", "")):
        out.append(Slot(f"body_{name}", f"{{{{{name}}}}}", "text"))
    for index, button in enumerate(buttons(components)):
        kind = str(button.get("type", "")).upper()
        if kind == "URL" and variables(button.get("url", "")):
            out.append(Slot(f"button_{index}", _("Button “%(label)s” link ending", label=button.get("text", "")), "text",
                            button.get("url", "")))
        elif kind == "COPY_CODE":
            out.append(Slot(f"button_{index}", _("Code to copy"), "code"))
        # An authentication template's OTP button takes the body's code ({{1}}): asked once.
    return out


def clean_values(components: list, form) -> dict[str, str]:
    """The values of every slot from a form; FillError names the first that is missing or wrong."""
    values = {}
    for slot in slots(components):
        value = str(form.get(slot.key) or "").strip()
        if not value:
            raise FillError(_("Fill in %(field)s.", field=slot.label))
        if len(value) > MAX_VALUE:
            raise FillError(_("%(field)s holds at most %(most)s characters.", field=slot.label, most=MAX_VALUE))
        if slot.kind == "text" and ("\n" in value or "\t" in value or "    " in value):
            raise FillError(_("%(field)s: WhatsApp refuses new lines, tabs and more than 4 spaces in a row in a variable.",
                              field=slot.label))
        if slot.kind == "media" and not (re.match(r"https://\S+$", value) or value.isdigit()):
            raise FillError(_("%(field)s: give an https:// link to the file or a media id (digits).", field=slot.label))
        if slot.kind == "code" and len(value) > 15:
            raise FillError(_("%(field)s holds at most %(most)s characters.", field=slot.label, most=15))
        values[slot.key] = value
    return values


def send_components(components: list, parameter_format: str, values: dict[str, str]) -> list[dict]:
    """The `template.components` of the send request, in Meta's shape."""
    named = parameter_format == "NAMED"
    out = []
    header = component(components, "HEADER")
    if header:
        fmt = str(header.get("format", "TEXT")).upper()
        names = variables(header.get("text", "")) if fmt == "TEXT" else []
        if names:
            out.append({"type": "header", "parameters": [_text(values["header"], names[0], named)]})
        elif fmt in MEDIA_FORMATS:
            media = values["header_media"]
            kind = fmt.lower()
            out.append({"type": "header", "parameters": [
                {"type": kind, kind: {"id": media} if media.isdigit() else {"link": media}}]})
    body = component(components, "BODY")
    names = variables((body or {}).get("text", ""))
    if names:
        out.append({"type": "body", "parameters": [_text(values[f"body_{n}"], n, named) for n in names]})
    for index, button in enumerate(buttons(components)):
        kind = str(button.get("type", "")).upper()
        key = f"button_{index}"
        if kind == "URL" and variables(button.get("url", "")):
            out.append({"type": "button", "sub_type": "url", "index": str(index),
                        "parameters": [{"type": "text", "text": values[key]}]})
        elif kind == "COPY_CODE":
            out.append({"type": "button", "sub_type": "copy_code", "index": str(index),
                        "parameters": [{"type": "coupon_code", "coupon_code": values[key]}]})
        elif kind == "OTP":  # authentication: the code goes to the body and to the button
            out.append({"type": "button", "sub_type": "url", "index": str(index),
                        "parameters": [{"type": "text", "text": values.get("body_1", "")}]})
    return out


def _text(value: str, name: str, named: bool) -> dict:
    parameter = {"type": "text", "text": value}
    if named:
        parameter["parameter_name"] = name
    return parameter


def render(components: list, values: dict[str, str]) -> str:
    """The message as the customer sees it: header, body, footer, then the buttons' labels."""
    def fill(text: str, prefix: str) -> str:
        return re.sub(r"\{\{\s*([^{}]*?)\s*\}\}",
                      lambda m: values.get(prefix + m.group(1), m.group(0)) if prefix != "header" else values.get("header", m.group(0)),
                      text or "")

    lines = []
    header = component(components, "HEADER")
    if header:
        fmt = str(header.get("format", "TEXT")).upper()
        if fmt == "TEXT":
            lines.append(fill(header.get("text", ""), "header"))
        elif fmt in MEDIA_FORMATS:
            lines.append(f"[{fmt.lower()}]")
    body = component(components, "BODY")
    if body:
        lines.append(fill(body.get("text", ""), "body_"))
    footer = component(components, "FOOTER")
    if footer and footer.get("text"):
        lines.append(footer["text"])
    labels = [b.get("text") or ("Copy code" if str(b.get("type")).upper() == "COPY_CODE" else "") for b in buttons(components)]
    labels = [label for label in labels if label]
    if labels:
        lines.append(" · ".join(f"[{label}]" for label in labels))
    return "\n".join(line for line in lines if line)
