"""Meta's send errors in words a team understands (the codes of Meta's "Error codes" page that an
agent can act on; anything else is shown as Meta's own message). Translated when asked for
(`words_for`), in the language of the request that sends (English in a background job)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

WORDS = {
    131026: _l("WhatsApp could not deliver to this number: it may not be on WhatsApp, or the customer must accept "
               "WhatsApp's latest terms or update the app."),
    131049: _l("Meta did not deliver this marketing message, to keep the customer's experience good (they received "
               "several marketing messages recently). Try again later or send another kind of template."),
    131051: _l("WhatsApp does not support this kind of message."),
    132000: _l("The number of values does not match the template's variables: the template may have changed at "
               "Meta. Sync the templates and try again."),
    132001: _l("This template does not exist at Meta in this language (or is not approved yet). Sync the templates "
               "and check its status."),
    132005: _l("A value makes the template's text too long once filled in."),
    132007: _l("The filled-in text breaks WhatsApp's content policy."),
    132012: _l("A value has the wrong format for its variable (for instance media where text is expected)."),
    132015: _l("Meta paused this template after poor feedback from customers; it cannot be sent for now."),
    132016: _l("Meta disabled this template; it can no longer be sent."),
    132068: _l("A Flow in this template is blocked."),
    132069: _l("A Flow in this template is throttled."),
}


def words_for(code: int | None) -> str | None:
    words = WORDS.get(code) if code is not None else None
    return str(words) if words is not None else None
