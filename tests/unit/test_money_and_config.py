import pytest
from hypothesis import given
from hypothesis import strategies as st

from config import ConfigError, load_settings
from core.money import MAX_CENTS, InvalidAmount, format_cents, parse_cents
from core.periods import (
    InvalidPeriod,
    calendar_month,
    is_period,
    next_period,
    parse_moment,
    parse_period,
    period_end,
    period_index,
)

# Digits that \d takes but a number here must not: Arabic-Indic, full-width, Devanagari.
LOOKALIKE_DIGITS = "٠١٢٣٤٥٦٧٨٩０１２３４５６７８９०१२३४५६७८९"


@given(st.integers(min_value=0, max_value=MAX_CENTS))
def test_format_and_parse_are_inverse(cents):
    assert parse_cents(format_cents(cents)) == cents


@pytest.mark.parametrize(("text", "cents"), [("5", 500), ("5.0", 500), ("5,25", 525),
                                              ("0.01", 1), (" 20.00 ", 2000),
                                              ("1000000000.00", MAX_CENTS)])
def test_amounts(text, cents):
    assert parse_cents(text) == cents


@pytest.mark.parametrize("bad", ["", "-1", "1.234", "abc", "1e3", "nan", "1.2.3", "٥", "５",
                                 "٥.00", "1٠", "5\n", "5.00\n", "\n5", "5\t", "5\x00",
                                 "5\u00a0", "+5", "1_000"])
def test_bad_amounts(bad):
    with pytest.raises(InvalidAmount, match="not an amount"):
        parse_cents(bad)


@pytest.mark.parametrize("big", ["1000000000.01", "99999999999999999999", "9" * 5000])
def test_amounts_too_large_for_the_columns_are_refused_clearly(big):
    with pytest.raises(InvalidAmount, match="too large"):
        parse_cents(big)


@given(st.text(alphabet=LOOKALIKE_DIGITS + "0123456789., \n", max_size=12))
def test_an_amount_with_any_digit_but_ascii_is_refused(text):
    if any(c in LOOKALIKE_DIGITS for c in text) or "\n" in text:
        with pytest.raises(InvalidAmount):
            parse_cents(text)


def test_periods():
    assert next_period("2026-12") == "2027-01"
    assert period_index("2027-01") - period_index("2026-12") == 1
    with pytest.raises(InvalidPeriod):
        parse_period("2026-13")


@pytest.mark.parametrize("bad", ["٢٠٢٦-10", "２٠٢٦-10", "２０２６-１０", "2026-1٠", "2026-10\n",
                                 "2026-10 ", " 2026-10", "2026-1", "26-10", "2026/10",
                                 "2026-10-01", ""])
def test_look_alike_digits_and_a_trailing_newline_are_no_period(bad):
    with pytest.raises(InvalidPeriod, match="not a period"):
        parse_period(bad)
    assert not is_period(bad)


@pytest.mark.parametrize("far", ["0000-01", "9999-12", "1999-12", "3000-01"])
def test_periods_out_of_range_are_a_clear_user_error(far):
    with pytest.raises(InvalidPeriod, match="out of range"):
        parse_period(far)


def test_the_last_period_in_range_still_has_an_end():
    assert period_end(parse_period("2999-12")).year == 3000
    assert parse_period("2000-01") == "2000-01"


@pytest.mark.parametrize(("spelling", "month"), [
    ("٢٠٢٦-10", "2026-10"), ("２٠٢٦-10", "2026-10"), ("2026-10\n", "2026-10"),
    ("2026-10", "2026-10"), ("2026-13", None), ("nonsense", None)])
def test_the_month_a_stored_spelling_names(spelling, month):
    assert calendar_month(spelling) == month


@pytest.mark.parametrize("bad", ["٢٠٢٦-10-01T00:00:00", "2026-10-01\n", "0001-01-01",
                                 "9999-12-31T23:59:59", "", " "])
def test_bad_moments_are_a_clear_user_error(bad):
    with pytest.raises(InvalidPeriod):
        parse_moment(bad)


def test_defaults_give_a_working_local_setup(monkeypatch):
    for name in ("FLATTR_DATABASE_URL", "FLATTR_FEE_BPS", "FLATTR_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.currency == "EUR"
    assert settings.min_monthly_budget == 200
    assert settings.fee_bps == 1000
    assert settings.idle_budget_policy == "keep"
    assert settings.claim_window_days == 90
    assert settings.x_triggers == {"explicit"}


def test_every_bad_value_is_reported_at_once_by_its_variable(monkeypatch):
    monkeypatch.setenv("FLATTR_FEE_BPS", "20000")
    monkeypatch.setenv("FLATTR_MIN_MONTHLY_BUDGET", "two")
    monkeypatch.setenv("FLATTR_IDLE_BUDGET_POLICY", "burn")
    monkeypatch.setenv("FLATTR_CLAIM_WINDOW_DAYS", "0")
    monkeypatch.setenv("FLATTR_X_TRIGGERS", "likes,hearts")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    names = {p.split(":")[0] for p in caught.value.problems}
    assert names == {"FLATTR_FEE_BPS", "FLATTR_MIN_MONTHLY_BUDGET", "FLATTR_IDLE_BUDGET_POLICY",
                     "FLATTR_CLAIM_WINDOW_DAYS", "FLATTR_X_TRIGGERS"}


def test_a_toml_file_is_read_and_the_environment_wins(monkeypatch, tmp_path):
    path = tmp_path / "flattr.toml"
    path.write_text('fee_bps = 500\nmin_monthly_budget = "3.00"\nidle_budget_policy = "charity"\n')
    monkeypatch.setenv("FLATTR_CONFIG_FILE", str(path))
    monkeypatch.setenv("FLATTR_FEE_BPS", "700")
    settings = load_settings()
    assert (settings.fee_bps, settings.min_monthly_budget, settings.idle_budget_policy) == (
        700, 300, "charity")


def test_a_missing_config_file_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("FLATTR_CONFIG_FILE", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="FLATTR_CONFIG_FILE"):
        load_settings()
