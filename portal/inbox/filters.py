"""The conversation list's filters, read from the query string: ?view=&status=&number=&q=.

One object carries them from the request to the query and back into every link and
poller of the page, so a filter is never lost by a poll or a click.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_babel import gettext as _

from ..models import CONVERSATION_STATUSES

VIEWS = ("all", "mine", "unassigned")
STATUS_CHOICES = CONVERSATION_STATUSES + ("all",)
MAX_QUERY = 200


@dataclass(frozen=True)
class Filters:
    view: str = "all"
    status: str = "open"
    number: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args) -> "Filters":
        """Filters of a request; an unknown value is a 400 with the reason, never a silent default."""
        view = args.get("view") or "all"
        status = args.get("status") or "open"
        number = (args.get("number") or "").strip()
        q = (args.get("q") or "").strip()
        if view not in VIEWS:
            abort(400, _("view must be one of: %(choices)s.", choices=", ".join(VIEWS)))
        if status not in STATUS_CHOICES:
            abort(400, _("status must be one of: %(choices)s.", choices=", ".join(STATUS_CHOICES)))
        if len(q) > MAX_QUERY or len(number) > 64:
            abort(400, _("A search is at most %(max)d characters.", max=MAX_QUERY))
        return cls(view=view, status=status, number=number, q=q)

    def args(self) -> dict:
        """The non-default filters, for url_for (short, stable URLs)."""
        values = {"view": self.view if self.view != "all" else None,
                  "status": self.status if self.status != "open" else None,
                  "number": self.number or None, "q": self.q or None}
        return {k: v for k, v in values.items() if v}
