"""French and English on the pages: the one module the web code imports for words and
for locale formatting (Flask-Babel over runtime.i18n's catalogues).

`_`/`gettext`, `ngettext`, `lazy_gettext` (`_l`, for words defined at import time) take
`%(name)s` placeholders; `amount`, `month`, `day`, `moment` format for the page's
language. Which language: the signed-in person's setting, else the language switch's
cookie (signed-out visitors), else the browser's Accept-Language, else English."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cached_property
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, Domain, get_locale
from flask_babel import gettext as gettext
from flask_babel import lazy_gettext as lazy_gettext
from flask_babel import ngettext as _babel_ngettext
from markupsafe import Markup

from core.errors import UserError
from core.money import Amount
from runtime import i18n


def ngettext(singular: str, plural: str, num: int, **variables: object) -> str:
    """The plural for `num`; the count is both `%(num)d` (Flask-Babel's) and `%(n)d`."""
    variables.setdefault("n", num)
    return str(_babel_ngettext(singular, plural, num, **variables))


_ = gettext
_l = lazy_gettext
N_ = i18n.N_
LANGUAGES = i18n.LANGUAGES
COOKIE = "flattr_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
PERSON = "flattr.current_person"  # the app's signed-in person, given to install()


class _Catalogues(Domain):  # type: ignore[misc]
    """Flask-Babel's domain over runtime.i18n's catalogues (one loader for the pages and
    the worker's messages)."""

    def get_translations(self) -> Any:
        return i18n.translations(language())


class _Babel(Babel):  # type: ignore[misc]
    @cached_property
    def domain_instance(self) -> Domain:
        return _Catalogues()


def select_language() -> str:
    """The page's language (see the module's docstring)."""
    person = current_app.extensions[PERSON]()
    chosen = i18n.supported(person.language) if person is not None else None
    if chosen is None:
        chosen = i18n.supported(request.cookies.get(COOKIE))
    if chosen is None:
        chosen = _browser_language()
    return chosen or i18n.DEFAULT


def _browser_language() -> str | None:
    """The first language of Accept-Language (by quality) we have, a regional one counting
    as its language ("fr-CA" is French)."""
    for value, quality in request.accept_languages:
        if quality > 0 and (found := i18n.supported(value)) is not None:
            return found
    return None


def language() -> str:
    """The current page's language; English outside a request."""
    if not has_request_context():
        return i18n.DEFAULT
    if "language" not in g:
        g.language = str(get_locale() or i18n.DEFAULT)
    return str(g.language)


def amount(cents: int, currency: str) -> str:
    return i18n.amount(cents, currency, language())


def amount_html(cents: int, currency: str) -> Markup:
    return Markup('<span class="amount">{}</span>').format(amount(cents, currency))


def month(period: str) -> str:
    return i18n.month(period, language())


def day(value: date | datetime) -> str:
    return i18n.day(value, language())


def moment(value: datetime) -> str:
    return i18n.moment(value, language())


def error_text(exc: UserError) -> str:
    """A UserError in the page's language: its message translated, its params filled in
    (amounts formatted for the locale)."""
    message = getattr(exc, "message", None)
    params = getattr(exc, "params", None) or {}
    if not isinstance(message, str):
        return str(exc)
    shown = {key: amount(value.cents, value.currency) if isinstance(value, Amount) else value
             for key, value in params.items()}
    try:
        return gettext(message) % shown if shown else gettext(message)
    except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder
        return str(exc)


def sentence(text: str) -> str:
    """A message as a sentence: its first letter upper-case (only: "UTC" stays), a full stop."""
    return f"{text[:1].upper()}{text[1:]}."


def install(flask_app: Flask, currency: str, current_person: Callable[[], Any]) -> None:
    """Flask-Babel and the template filters; `current_person`: the signed-in person (whose
    `language` setting wins), or None."""
    flask_app.extensions[PERSON] = current_person
    flask_app.config.setdefault("BABEL_DEFAULT_LOCALE", i18n.DEFAULT)
    _Babel(flask_app, locale_selector=select_language)
    env = flask_app.jinja_env
    env.policies["ext.i18n.trimmed"] = True
    env.filters.update(amount=lambda cents: amount_html(int(cents or 0), currency),
                       month=month, day=day, moment=moment)
    env.globals.update(language=language, languages=i18n.NAMES, _l=lazy_gettext)
