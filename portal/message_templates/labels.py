"""The words shown for Meta's template values (statuses, categories, quality, header kinds,
variable kinds), in the reader's language. The stored values stay Meta's (APPROVED, UTILITY...);
a value not listed here is shown as Meta names it, in lower case."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS = {
    "APPROVED": _l("approved"), "PENDING": _l("pending"), "REJECTED": _l("rejected"), "PAUSED": _l("paused"),
    "DISABLED": _l("disabled"), "IN_APPEAL": _l("in appeal"), "PENDING_DELETION": _l("pending deletion"),
    "ARCHIVED": _l("archived"), "LIMIT_EXCEEDED": _l("limit exceeded"), "DELETED": _l("deleted"),
    "FLAGGED": _l("flagged"), "REINSTATED": _l("reinstated"),
}
CATEGORY = {"MARKETING": _l("marketing"), "UTILITY": _l("utility"), "AUTHENTICATION": _l("authentication")}
QUALITY = {"GREEN": _l("green"), "YELLOW": _l("yellow"), "RED": _l("red"), "UNKNOWN": _l("unknown")}
HEADER_FORMAT = {"NONE": _l("none"), "TEXT": _l("text"), "IMAGE": _l("image"), "VIDEO": _l("video"),
                 "DOCUMENT": _l("document")}
PARAMETER_FORMAT = {"POSITIONAL": _l("positional"), "NAMED": _l("named")}
KINDS = {"status": STATUS, "category": CATEGORY, "quality": QUALITY, "header_format": HEADER_FORMAT,
         "parameter_format": PARAMETER_FORMAT}


def label(kind: str, value: str | None) -> str:
    """`template_label("status", "IN_APPEAL")` -> "in appeal" (Spanish: "en apelación")."""
    if not value:
        return ""
    known = KINDS[kind].get(str(value).upper())
    return str(known) if known is not None else str(value).lower().replace("_", " ")


def status_label(status: str | None) -> str:
    return label("status", status)
