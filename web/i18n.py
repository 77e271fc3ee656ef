"""The translation functions the pages call: `_` (gettext) and `ngettext`. For now they
return the English text unchanged; Flask-Babel's replace them (one module to swap)."""

from __future__ import annotations


def gettext(message: str, **values: object) -> str:
    return message % values if values else message


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    return gettext(singular if n == 1 else plural, n=n, **values)


_ = gettext
