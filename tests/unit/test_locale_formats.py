"""Amounts, months and days for the reader's locale (runtime/i18n.py): from integer minor
units, never float, and never cut across two lines."""

from __future__ import annotations

from datetime import UTC, date, datetime

from runtime import i18n

NBSP, NNBSP = "\u00a0", "\u202f"


def test_french_amounts_put_the_euro_after_a_non_breaking_space() -> None:
    assert i18n.amount(500, "EUR", "fr") == f"5,00{NBSP}€"
    assert i18n.amount(31, "EUR", "fr") == f"0,31{NBSP}€"
    assert i18n.amount(123_456_789, "EUR", "fr") == f"1{NNBSP}234{NNBSP}567,89{NBSP}€"


def test_english_amounts_put_the_sign_first() -> None:
    assert i18n.amount(500, "EUR", "en") == "€5.00"
    assert i18n.amount(-31, "EUR", "en") == "-€0.31"
    assert i18n.amount(123_456_789, "EUR", "en") == "€1,234,567.89"


def test_amounts_are_exact_beyond_what_a_float_holds() -> None:
    cents = 9_007_199_254_740_993  # 2**53 + 1: a float would round it
    assert i18n.amount(cents, "EUR", "en") == "€90,071,992,547,409.93"


def test_an_amount_never_holds_a_breaking_space() -> None:
    for language in i18n.LANGUAGES:
        for currency in ("EUR", "CHF", "USD", "JPY"):
            assert " " not in i18n.amount(1_234_567, currency, language)


def test_a_currency_without_minor_units_is_not_divided() -> None:
    assert i18n.amount(500, "JPY", "en") == "¥500"


def test_months_and_days_in_each_language() -> None:
    assert i18n.month("2026-11", "fr") == "novembre 2026"
    assert i18n.month("2026-11", "en") == "November 2026"
    assert i18n.day(date(2026, 11, 3), "fr") == f"3{NBSP}nov.{NBSP}2026"
    assert i18n.day(date(2026, 11, 3), "en") == f"Nov{NBSP}3,{NBSP}2026"
    moment = datetime(2026, 11, 3, 9, 5, tzinfo=UTC)
    assert i18n.moment(moment, "fr") == f"3{NBSP}nov.{NBSP}2026 09:05{NBSP}UTC"


def test_an_unknown_or_regional_language_falls_back() -> None:
    assert i18n.supported("fr-CA") == "fr" and i18n.supported("FR_be") == "fr"
    assert i18n.supported("de") is None and i18n.supported("") is None
    assert i18n.amount(500, "EUR", "de") == "€5.00"  # English


def test_the_worker_translates_with_the_catalogue() -> None:
    assert i18n.gettext("fr", "Your flattr wallet is too low") == \
        "Votre porte-monnaie flattr est trop bas"
    assert i18n.ngettext("fr", "%(num)d new flattr", "%(num)d new flattrs", 2) == \
        "2 nouveaux flattrs"
    assert i18n.ngettext("fr", "%(num)d new flattr", "%(num)d new flattrs", 1) == \
        "1 nouveau flattr"
