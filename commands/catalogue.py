"""The message catalogue's upkeep: every string shown to people, extracted from the Python
sources and the templates, and the French catalogue brought up to date.

    python -m commands.catalogue update   # after adding or changing a string
    python -m commands.catalogue check     # what is missing or untranslated (exit 1 if any)

What is extracted: `_`/`gettext`/`ngettext`/`lazy_gettext`/`_l`/`N_` calls, the worker's
`tr(lang, ...)`/`ntr(lang, ...)`, the message of every UserError raised (core's, the
networks', the web's: the web shows them translated) and the templates' `_()` and
`{% trans %}` blocks, in the packages PACKAGES (the CLI's words stay English)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from runtime import i18n

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "bots", "runtime", "jobs", "web")
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"trimmed": "true"}}


def user_errors() -> list[str]:
    """The names of every UserError class (their first argument is a message)."""
    from core.errors import UserError

    _import_all()
    names, todo = set(), [UserError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return sorted(names)


def _import_all() -> None:
    import importlib
    import pkgutil

    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if info.name.endswith("__main__"):
                continue
            importlib.import_module(info.name)


def keywords() -> dict[str, Any]:
    words: dict[str, Any] = dict(DEFAULT_KEYWORDS)
    words.update({"_l": None, "lazy_gettext": None, "N_": None, "tr": (2,), "ntr": (2, 3)})
    words.update({name: None for name in user_errors()})
    return words


def messages() -> Iterator[tuple[str, int, str | tuple[str, ...]]]:
    """(file, line, message) for every message in PACKAGES."""
    words = keywords()
    for package in PACKAGES:
        for name, line, message, _comments, _context in extract_from_dir(
                ROOT / package, METHODS, OPTIONS, words, strip_comment_tags=True):
            yield f"{package}/{name}", line, message


def extract() -> Catalog:
    catalog = Catalog(project="flattr-social", charset="utf-8")
    for where, line, message in messages():
        catalog.add(message, locations=[(where, line)])
    return catalog


def read(language: str) -> Catalog:
    with (i18n.LOCALES_DIR / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("rb") as f:
        return read_po(f, locale=language)


def write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=False, omit_header=False)


def problems(language: str) -> list[str]:
    """Every extracted message that `language`'s catalogue lacks, leaves untranslated or
    marks fuzzy, as "file:line: message"."""
    translated = read(language)
    found = []
    for where, line, message in messages():
        key = message if isinstance(message, str) else message[0]
        entry = translated.get(key)
        done = entry is not None and not entry.fuzzy and (
            all(entry.string) if isinstance(entry.string, tuple | list) else bool(entry.string))
        if not done:
            found.append(f"{where}:{line}: {key!r}")
    return found


def update() -> None:
    """Each language's .po brought up to date with the sources: new strings empty, gone
    ones dropped (no .pot is kept: the sources are the template)."""
    template = extract()
    for language in i18n.LANGUAGES:
        if language == i18n.DEFAULT:
            continue
        path = i18n.LOCALES_DIR / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
        catalog = read(language) if path.exists() else Catalog(locale=language)
        catalog.update(template, no_fuzzy_matching=True)
        write(catalog, path)


def main(argv: list[str]) -> int:
    if argv[1:] == ["update"]:
        update()
        return 0
    if argv[1:] == ["check"]:
        bad = [p for lang in i18n.LANGUAGES if lang != i18n.DEFAULT for p in problems(lang)]
        print("\n".join(bad) or "every message is translated")
        return 1 if bad else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
