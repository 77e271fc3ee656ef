"""core.inputs: the one place each kind of input is checked (pure)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import inputs
from core.errors import UserError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(alphabet='[]{}"\\ab'), children, max_size=3),
    max_leaves=20)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(json_values)
def test_json_depth_is_the_nesting_whatever_the_strings_hold(value):
    assert inputs.json_depth(json.dumps(value)) == _depth(value)


def test_deep_json_is_refused_before_parsing():
    with pytest.raises(inputs.InvalidInput, match="nested too deeply"):
        inputs.load_json("[" * 200_000 + "]" * 200_000)
    with pytest.raises(inputs.InvalidInput, match="too large"):
        inputs.load_json(b" " * (inputs.MAX_JSON_BYTES + 1))
    with pytest.raises(inputs.InvalidInput, match="not JSON"):
        inputs.load_json(b"\xff{")
    assert inputs.load_json(b'{"a": [[1]]}') == {"a": [[1]]}


@given(st.text(min_size=1))
def test_text_refuses_exactly_the_control_characters(value):
    bad = any(ord(c) < 32 or 127 <= ord(c) < 160 or c in "\u2028\u2029"
              or 0xD800 <= ord(c) < 0xE000 for c in value)
    try:
        inputs.text(value, field="f", max_length=10**6)
    except inputs.InvalidInput as exc:
        assert bad and "f must not contain" in str(exc)
    else:
        assert not bad


def test_text_lengths_and_allowed_characters():
    assert inputs.text("a\tb", field="f", allow="\t") == "a\tb"
    with pytest.raises(inputs.InvalidInput, match="NUL"):
        inputs.text("a\0b", field="f")
    with pytest.raises(inputs.InvalidInput, match="at most 3"):
        inputs.text("abcd", field="f", max_length=3)


@pytest.mark.parametrize("address", ["a" * 250 + "@x.org", "no-at-sign", "two@@x.org",
                                     "a b@x.org", "a@-x.org", "a@x.org\n", "a@x\0.org"])
def test_bad_email_addresses(address):
    with pytest.raises(inputs.InvalidInput):
        inputs.email(address)


def test_good_email_addresses():
    assert inputs.email("ann@example.org") == "ann@example.org"
    assert inputs.email("  ") is None and inputs.email(None) is None
    assert inputs.email("a" * 64 + "@" + "b" * 185 + ".org") is not None  # 254 characters


@pytest.mark.parametrize("raw", ["١٢", "１２", "12\n", " 12", "-1", "", "1e3", "0x10"])
def test_numbers_take_ascii_digits_only(raw):
    with pytest.raises(UserError):
        inputs.ascii_int(raw, field="n")
    with pytest.raises(UserError):
        inputs.ascii_decimal(raw, field="n")


@pytest.mark.parametrize("raw", ["0000-01", "9999-12", "２０２６-10", "2026-10\n", "2026-13"])
def test_periods_that_lead_to_no_date(raw):
    with pytest.raises(UserError):
        inputs.period(raw)


@pytest.mark.parametrize("raw", ["", " ", "٢٠٢٦-10-01", "0001-01-01T00:00:00+14:00"])
def test_moments(raw):
    with pytest.raises(UserError):
        inputs.moment(raw)
