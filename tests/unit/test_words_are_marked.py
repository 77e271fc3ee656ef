"""Every word shown to people goes through the catalogue: a flash message, an error page's
text, a confirmation page's words and every UserError's message are literals the
extraction can see (no f-string, no bare string), and the templates hold no bare text
outside `_()` and `{% trans %}`."""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

from commands import catalogue

ROOT = Path(__file__).resolve().parents[2]
WORD_CALLS = {"_", "gettext", "ngettext", "lazy_gettext", "_l", "_refused", "error_text",
              "sentence"}


def _sources() -> list[Path]:
    return [p for package in catalogue.PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_words(node: ast.expr | None) -> bool:
    """A call of the catalogue, or a variable/expression holding one (not a bare text)."""
    if node is None:
        return True
    if isinstance(node, ast.IfExp):
        return _is_words(node.body) and _is_words(node.orelse)
    if isinstance(node, ast.Call):
        return _name(node.func) in WORD_CALLS
    return not isinstance(node, ast.Constant | ast.JoinedStr | ast.BinOp)


def test_flash_abort_and_confirmation_words_go_through_the_catalogue() -> None:
    bare = []
    for path in (ROOT / "web").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            shown: list[ast.expr | None] = []
            if name == "flash" and node.args:
                shown.append(node.args[0])
            if name in ("abort", "ask_first"):
                shown += [k.value for k in node.keywords
                          if k.arg in ("description", "title", "consequence", "button")]
            bare += [f"{path.relative_to(ROOT)}:{node.lineno}" for s in shown if not _is_words(s)]
    assert not bare, "wrap these in _() (web/i18n.py):\n" + "\n".join(bare)


def test_every_user_error_message_is_a_plain_literal() -> None:
    """The catalogue holds the message as written: values go in as %(name)s params."""
    errors = set(catalogue.user_errors())
    bad = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and _name(node.func) in errors and node.args:
                first = node.args[0]
                literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
                if not literal:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "UserError(\"... %(name)s ...\", name=value), not an f-string:\n" + \
        "\n".join(bad)


# What a template may show untranslated: names, symbols, examples.
ALLOWED = {"Flattr", "· Flattr", "https://example.org/blog/"}
SHOWN_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "data-label")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_data(self, data: str) -> None:
        self.found.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value or "" for name, value in attrs if name in SHOWN_ATTRIBUTES]


def bare_text(template: str) -> list[str]:
    """The words of a template outside `{% trans %}`, `{{ }}` and `{% %}`."""
    source = re.sub(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", " ", template, flags=re.S)
    source = re.sub(r"{{.*?}}|{%.*?%}|{#.*?#}", " ", source, flags=re.S)
    parser = _Text()
    parser.feed(source)
    words = (" ".join(text.split()) for text in parser.found)
    return [w for w in words if re.search(r"[A-Za-z]{2}", w) and w not in ALLOWED]


def test_templates_hold_no_bare_text() -> None:
    found = {str(path.relative_to(ROOT)): bare_text(path.read_text())
             for path in sorted((ROOT / "web" / "templates").rglob("*.html"))}
    assert {path: words for path, words in found.items() if words} == {}


def test_the_bare_text_check_sees_text_and_placeholders() -> None:
    assert bare_text('<p>Hello <b>{{ name }}</b></p><input placeholder="your name">') == \
        ["Hello", "your name"]
    assert bare_text('<p>{{ _("Hello") }} {% trans %}Bye{% endtrans %}</p>') == []
