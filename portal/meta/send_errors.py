"""Meta's send errors in words a team understands (the codes of Meta's "Error codes" page that an
agent can act on; anything else is shown as Meta's own message). Translated when asked for (`words_for`,
`refusal`): a page asks in its reader's language, the API in English."""
from __future__ import annotations

import re

from flask_babel import gettext as _
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


# A refused send's stored error_title is Meta's own message (error_code beside it); replies refused
# before that was so kept the whole English sentence, which `meta_words` takes apart again.
_OLD_REFUSED = re.compile(r"^Meta refused the message: (?P<words>.*?)(?: \(code -?\d+\))?$", re.S)
_OLD_EXPLAINED = re.compile(r"^.*? Meta said: (?P<words>.*?)(?: \(code -?\d+\))?$", re.S)


def meta_words(title: str) -> str:
    """Meta's own words of a refused send, as stored now or (older rows) inside the English sentence."""
    old = _OLD_REFUSED.match(title) or _OLD_EXPLAINED.match(title)
    return old["words"] if old else title


def refusal(code: int | None, words: str) -> str:
    """Why Meta refused to send a message, in the language of the moment: the portal's words around
    Meta's own (`words`, as Meta wrote them) and its code."""
    known = words_for(code)
    if known:
        return _("%(explanation)s Meta said: %(words)s (code %(code)s)", explanation=known, words=words, code=code)
    if code:
        return _("Meta refused the message: %(words)s (code %(code)s)", words=words, code=code)
    return _("Meta refused the message: %(words)s", words=words)
