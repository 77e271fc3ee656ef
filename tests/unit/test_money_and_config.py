import pytest
from hypothesis import given
from hypothesis import strategies as st

from config import ConfigError, load_settings
from core.money import InvalidAmount, format_cents, parse_cents
from core.periods import InvalidPeriod, next_period, parse_period, period_index


@given(st.integers(min_value=0, max_value=10**12))
def test_format_and_parse_are_inverse(cents):
    assert parse_cents(format_cents(cents)) == cents


@pytest.mark.parametrize(("text", "cents"), [("5", 500), ("5.0", 500), ("5,25", 525),
                                              ("0.01", 1), (" 20.00 ", 2000)])
def test_amounts(text, cents):
    assert parse_cents(text) == cents


@pytest.mark.parametrize("bad", ["", "-1", "1.234", "abc", "1e3", "nan", "1.2.3"])
def test_bad_amounts(bad):
    with pytest.raises(InvalidAmount):
        parse_cents(bad)


def test_periods():
    assert next_period("2026-12") == "2027-01"
    assert period_index("2027-01") - period_index("2026-12") == 1
    with pytest.raises(InvalidPeriod):
        parse_period("2026-13")


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
