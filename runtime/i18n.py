"""Languages, message catalogues and locale formatting, without Flask: the worker's
notifications use it directly, the web app through `web/i18n.py` (Flask-Babel).

The catalogues are `runtime/locales/<lang>/LC_MESSAGES/messages.po` (English is the
source language: a message id is its English text); the `.mo` files are compiled when
the project is installed (`setup.py`'s build hook) and never committed. Amounts are
formatted from integer minor units through `Decimal`, never float, and with non-breaking
spaces, so that an amount is never cut across two lines."""

from __future__ import annotations

import io
import logging
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, get_currency_precision
from babel.support import NullTranslations, Translations

from core import logs
from core.periods import period_start
from core.words import N_ as N_

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
DEFAULT = "en"
LANGUAGES = ("en", "fr")
# Each language by its own name: how the language switch offers it.
NAMES = {"en": "English", "fr": "Français"}
NBSP = "\u00a0"


def supported(language: str | None) -> str | None:
    """`fr`, `fr-CA`, `FR_be` -> `fr`; an unknown or empty one -> None."""
    if not language:
        return None
    base = language.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def language_or_default(language: str | None) -> str:
    return supported(language) or DEFAULT


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of `language` (English: none, the ids are English). Where the
    `.mo` is missing or older than its `.po` (a source tree never installed, or an editable
    install whose `.po` was edited since), the `.po` is compiled in memory, with a warning."""
    language = language_or_default(language)
    if language == DEFAULT:
        return NullTranslations()
    folder = LOCALES_DIR / language / "LC_MESSAGES"
    mo, po = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if mo.is_file() and not (po.is_file() and po.stat().st_mtime > mo.stat().st_mtime):
        with mo.open("rb") as handle:
            return Translations(handle, domain=DOMAIN)
    logs.event("i18n.catalogue_not_compiled", logging.WARNING, language=language)
    return Translations(io.BytesIO(compile_po(po)), domain=DOMAIN)


def compile_po(po: Path) -> bytes:
    """A `.po` file as `.mo` bytes (the build hook writes them to a file)."""
    with po.open("rb") as handle:
        catalog = read_po(handle)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def gettext(language: str, message: str, /, **params: object) -> str:
    text = translations(language).gettext(message)
    return text % params if params else text


def ngettext(language: str, singular: str, plural: str, n: int, /, **params: object) -> str:
    text = translations(language).ngettext(singular, plural, n)
    return text % {"num": n, **params}


def amount(cents: int, currency: str, language: str) -> str:
    """`cents` minor units as money: "€5.00" in English, "5,00 €" in French; exact (no
    float) and with non-breaking spaces only."""
    digits = get_currency_precision(currency)
    value = Decimal(int(cents or 0)).scaleb(-digits)
    text = format_currency(value, currency, locale=language_or_default(language),
                           currency_digits=True)
    return text.replace(" ", NBSP)


def month(period: str, language: str) -> str:
    """A period ("2026-11") as its month: "November 2026", "novembre 2026"."""
    start = period_start(period).date()
    return format_date(start, "LLLL yyyy", locale=language_or_default(language))


def day(moment: date | datetime, language: str) -> str:
    """A day: "Nov 3, 2026", "3 nov. 2026"."""
    value = moment.date() if isinstance(moment, datetime) else moment
    return format_date(value, "medium", locale=language_or_default(language)).replace(" ", NBSP)


def moment(value: datetime, language: str) -> str:
    """A day and a time of day, in UTC (the times the service keeps)."""
    locale = language_or_default(language)
    clock = format_time(value, "HH:mm", locale=locale)
    return f"{day(value, locale)} {clock}{NBSP}UTC"


def warm_up(currency: str) -> None:
    """Load every language's catalogue and locale data now (a worker's start), rather than
    in the middle of its first batch of messages."""
    for language in LANGUAGES:
        translations(language)
        amount(0, currency, language)
        month("2026-01", language)
        day(date(2026, 1, 1), language)


def language_name(language: str) -> str:
    return NAMES.get(language) or Locale.parse(language).get_display_name(language) or language



# The names the worker's messages call (extracted as keywords: the message is the 2nd
# argument, and the plural the 3rd).
tr = gettext
ntr = ngettext
