"""What English a page shown in Spanish still carries: words of the visible text and of the
attributes people read (title, placeholder, aria-label, alt), outside people's own content.

People's content (message texts, names, template bodies) is marked translate="no" in the HTML
and skipped, as are <script>, <style>, <code>, <pre> and <kbd>.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

# English words no Spanish sentence has; a Spanish page that shows one left a string untranslated.
ENGLISH = frozenset("""
the and your you with from this that these have has was were will would should could
of is are be to not yet for only when what which who why how there their they them
send sent reply replies message messages conversation conversations template templates
number numbers account accounts product products member members team settings
connect connected disconnect log login password new open closed close assign assigned
save cancel delete remove back next previous search filter all none today yesterday
""".split())
SKIPPED = {"script", "style", "code", "pre", "kbd", "samp"}
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.texts: list[str] = []

    @property
    def skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        skip = self.skipping or tag in SKIPPED or attributes.get("translate") == "no"
        if not skip:
            self.texts.extend(value for name, value in attrs if name in READ_ATTRIBUTES and value)
            if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
                self.texts.append(attributes["value"])
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if not self.skipping:
            self.texts.append(data)


def english_left(html: str) -> list[str]:
    """The English words left on a page (empty when everything people read is translated)."""
    reader = _Reader()
    reader.feed(html)
    text = " ".join(reader.texts)
    text = re.sub(r"\b\w+(?:_\w+)+\b", " ", text)  # snake_case names are Meta's codes, not prose
    # Names made of letters and digits (test users' "user-3fbe09a1", ids) are not prose either: random hex
    # spells "be" now and then, where a member's name sits inside a translated <option>.
    text = re.sub(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", " ", text)  # e-mail addresses: people's, not prose
    text = re.sub(r"[\w.+-]*\d[\w.+-]*", " ", text)
    words = re.findall(r"[A-Za-z']+", text)
    return sorted({word for word in words if word.lower() in ENGLISH})
