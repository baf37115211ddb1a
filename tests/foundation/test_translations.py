"""Every string people read is marked for translation and translated into Spanish.

- the Spanish catalog holds every msgid the sources mark (and nothing they no longer mark),
  each translated, none fuzzy, with the same placeholders;
- no template shows English text outside a `_()` / `{% trans %}` (the lint below reads the
  templates' literal text and the attributes people read);
- Python code hands people only marked strings (flash, form labels, validation messages).
"""
from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment

from portal.i18n import catalogs

ROOT = catalogs.ROOT
TEMPLATE_DIRS = [ROOT / "templates", ROOT / "portal" / "sandbox" / "templates"]
TEMPLATES = sorted(p for folder in TEMPLATE_DIRS for p in folder.rglob("*.html"))
# The JSON API answers machines (and its clients match on its English messages): not translated.
MACHINE_FACING = {ROOT / "portal" / "api" / "schemas.py"}
PYTHON = sorted(p for p in (ROOT / "portal").rglob("*.py") if p not in MACHINE_FACING)

# Words that are the same in both languages (names of things), never flagged.
SAME_IN_EVERY_LANGUAGE = {"Maestra", "WhatsApp", "Meta", "API", "URL", "ID", "OK", "HTTP", "HTTPS", "JSON", "OAuth",
                          "BSUID", "PIN", "HMAC", "SHA", "Webhooks", "Webhook", "Graph", "Business", "Español",
                          "English", "UTC", "GMT", "PDF", "ZIP"}
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
GETTEXT_NAMES = {"_", "gettext", "ngettext", "pgettext", "npgettext", "lazy_gettext", "_l", "lazy_ngettext"}


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z][A-Za-z'’]+", text) if w not in SAME_IN_EVERY_LANGUAGE]


# --- the catalog -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def marked():
    return catalogs.extract()


@pytest.fixture(scope="module")
def spanish():
    return catalogs.read_catalog("es")


def test_every_marked_string_has_a_spanish_translation(marked, spanish):
    untranslated = []
    for msgid, where in sorted(marked.items()):
        message = spanish.get(msgid)
        strings = (message.string if isinstance(message.string, tuple) else (message.string,)) if message else ("",)
        if message is None or not all(strings) or message.fuzzy:
            untranslated.append(f"{msgid!r} ({where[0]})")
    assert untranslated == [], "run `make translations` and translate:\n" + "\n".join(untranslated)


def test_the_catalog_holds_nothing_the_sources_no_longer_mark(marked, spanish):
    stale = sorted(m.id if isinstance(m.id, str) else m.id[0] for m in spanish if m.id)
    stale = [msgid for msgid in stale if msgid not in marked]
    assert stale == [], "run `make translations` (these are no longer marked):\n" + "\n".join(stale)


def test_translations_keep_every_placeholder(spanish):
    problems = [f"{message.id!r}: {errors}" for message, errors in spanish.check()]
    assert problems == []


# --- templates ---------------------------------------------------------------------------------

class _TextOf(HTMLParser):
    """The text and read attributes of a template's literal HTML (Jinja parts stand as \\x00)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code", "pre", "kbd", "samp"):
            self.skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.found.append(value)
            if tag == "input" and name == "value" and ("type", "submit") in attrs and value:
                self.found.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code", "pre", "kbd", "samp") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.found.append(data)


def unmarked_in_template(source: str) -> list[str]:
    """English a template shows without marking it: literal text and read attributes outside
    `{% trans %}`, and quoted strings of sentences inside its expressions not passed to `_()`."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    html: list[str] = []
    strings: list[str] = []
    tokens = [t for t in env.lex(source) if t[1] != "whitespace"]
    in_trans = False
    calls: list[int] = []  # paren depths at which a gettext call's arguments began
    depth = 0
    for index, (_line, kind, value) in enumerate(tokens):
        previous = tokens[index - 1] if index else (0, "", "")
        if kind == "name" and previous[1] == "block_begin" and value in ("trans", "endtrans"):
            in_trans = value == "trans"
        if kind == "data":
            html.append("\x00" if in_trans else value)
        elif kind in ("variable_begin", "block_begin", "comment_begin"):
            html.append("\x00")
        elif kind == "operator" and value in "([{":
            depth += 1
            if value == "(" and previous[1] == "name" and previous[2] in GETTEXT_NAMES:
                calls.append(depth)
        elif kind == "operator" and value in ")]}":
            if calls and calls[-1] == depth:
                calls.pop()
            depth -= 1
        elif kind == "string" and not in_trans and not calls:
            text = ast.literal_eval(value)
            if re.search(r"[A-Za-z]{2,}", text) and (" " in text.strip() or re.fullmatch(r"[A-Z][a-z]+", text)):
                strings.append(text)
    parser = _TextOf()
    parser.feed("".join(html))
    texts = [t for t in parser.found if _words(t.replace("\x00", " "))]
    strings = [s for s in strings if _words(s) and not re.fullmatch(r"[\w\s.:%/-]*%[A-Za-z][\w\s.:%/-]*", s)]
    return [" ".join(t.replace("\x00", "…").split()) for t in texts] + [repr(s) for s in strings]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_template_marks_every_string_people_read(template):
    assert unmarked_in_template(template.read_text()) == []


def test_the_template_lint_finds_what_it_should():
    assert unmarked_in_template('<p>Hello {{ name }}</p>') == ["Hello …"]
    assert unmarked_in_template('<input placeholder="Write here">') == ["Write here"]
    assert unmarked_in_template('{{ "Send a template" if x else _("Send") }}') == ["'Send a template'"]
    assert unmarked_in_template('<p>{{ _("Hello") }} {% trans %}Hi {{ n }} there{% endtrans %}</p>') == []
    assert unmarked_in_template('<span class="badge badge-ok">{{ x|lower }}</span><code>flask run</code>') == []


# --- Python ------------------------------------------------------------------------------------

def _is_marked(node) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in GETTEXT_NAMES


def _literal_sentence(node) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(_words(node.value))


FIELD = re.compile(r"[A-Z]\w*Field$")


def unmarked_in_python(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        candidates = []
        if name == "flash" and node.args:
            candidates.append(node.args[0])
        if FIELD.match(name) and node.args:
            candidates.append(node.args[0])
        if name == "ValidationError" and node.args:
            candidates.append(node.args[0])
        candidates += [k.value for k in node.keywords if k.arg in ("label", "message", "description")
                       and (FIELD.match(name) or name in ("DataRequired", "Length", "Email", "Optional", "InputRequired",
                                                          "URL", "Regexp", "NumberRange", "EqualTo"))]
        found += [f"line {node.lineno}: {ast.unparse(c)[:80]}" for c in candidates
                  if not _is_marked(c) and _literal_sentence(c)]
    return found


@pytest.mark.parametrize("module", PYTHON, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_hands_people_only_marked_strings(module):
    assert unmarked_in_python(module.read_text()) == []


def test_the_python_lint_finds_what_it_should():
    assert unmarked_in_python('flash("Saved.", "info")') == ["line 1: 'Saved.'"]
    assert unmarked_in_python('flash(f"Saved {x}.")') == ["line 1: f'Saved {x}.'"]
    assert unmarked_in_python('x = StringField("Name", validators=[Length(max=3, message="Too long")])') \
        == ["line 1: 'Name'", "line 1: 'Too long'"]
    assert unmarked_in_python('flash(_("Saved."), "info"); StringField(_l("Name")); flash(message)') == []
