"""The `flattr` money commands end to end, in-process, on SQLite and PostgreSQL."""

import json

import pytest

from commands.main import main


@pytest.fixture
def flattr(database_url, monkeypatch, capsys):
    monkeypatch.setenv("FLATTR_DATABASE_URL", database_url)

    def run(*argv: str, now: str = "2026-10-02T10:00:00Z") -> tuple[int, str, str]:
        code = main(["--now", now, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _month(flattr):
    assert flattr("users", "add", "alice", "--budget", "5.00", "--funds", "20.00")[0] == 0
    assert flattr("users", "add", "bob", "--budget", "2.00")[0] == 0
    assert flattr("things", "add", "https://bob.example/post", "--owner", "bob",
                  "--title", "Post")[0] == 0
    for url in ("https://bob.example/post?utm_source=x", "https://example.org/a",
                "https://example.org/b"):
        assert flattr("flattr", "alice", url, "--at", "2026-10-05T12:00:00Z")[0] == 0


def test_a_scripted_month_settles_and_reports_as_json(flattr):
    _month(flattr)
    code, out, _ = flattr("settle", "--period", "2026-10", now="2026-11-01T00:05:00Z")
    assert code == 0 and "bob" in out
    code, out, _ = flattr("report", "--period", "2026-10", "--json")
    report = json.loads(out)
    assert report["period"] == "2026-10" and report["currency"] == "EUR"
    assert {p["name"]: p["charged_cents"] for p in report["people"]} == {"alice": 500, "bob": 0}
    [bob] = report["creators"]
    assert bob["gross_cents"] - bob["fee_cents"] == bob["net_cents"]
    assert sum(e["cents"] for e in report["escrow"]) + bob["gross_cents"] == 500
    assert report["fees_cents"] == bob["fee_cents"] and report["charity_cents"] == 0
    code, out, _ = flattr("payouts", "--json")
    assert json.loads(out)["payouts"] == [{"name": "bob", "owed_cents": bob["net_cents"]}]
    assert flattr("check")[0] == 0


def test_claiming_a_prefix_releases_escrow(flattr):
    _month(flattr)
    flattr("settle", "--period", "2026-10", now="2026-11-01T00:05:00Z")
    flattr("users", "add", "carol", "--budget", "2.00", now="2026-11-02T00:00:00Z")
    code, out, _ = flattr("claim", "carol", "https://example.org/", now="2026-11-03T00:00:00Z")
    assert code == 0 and "2 thing(s)" in out and "released" in out
    report = json.loads(flattr("report", "--period", "2026-10", "--json")[1])
    assert report["escrow"] == [] and [c["name"] for c in report["creators"]] == ["bob", "carol"]
    assert flattr("check")[0] == 0


@pytest.mark.parametrize(("argv", "message"), [
    (("users", "topup", "nobody", "1.00"), "unknown person"),
    (("users", "add", "zed", "--budget", "1.00"), "below the minimum"),
    (("users", "add", "zed", "--budget", "abc"), "not an amount"),
    (("users", "budget", "alice", "1.99"), "below the minimum"),
    (("users", "topup", "alice", "-5"), "not an amount"),
    (("flattr", "alice", "not a url"), "not a URL"),
    (("flattr", "alice", "ftp://example.org/x"), "not an absolute http(s) URL"),
    (("flattr", "alice", "https://example.org/x", "--at", "yesterday"), "ISO 8601"),
    (("report", "--period", "2026-07"), "unknown period"),
    (("settle", "--period", "2026-10"), "not over yet"),
    (("claim", "alice", "mastodon:1"), "not an identity"),
    (("things", "add", "https://example.org/x", "--owner", "nobody"), "unknown person"),
])
def test_bad_input_gets_one_clear_line_and_a_non_zero_exit(flattr, argv, message):
    flattr("users", "add", "alice", "--budget", "5.00", "--funds", "20.00")
    code, out, err = flattr(*argv)
    assert code != 0
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_a_malformed_period_is_bad_input_not_a_usage_error(flattr):
    code, _, err = flattr("settle", "--period", "2026-13")
    assert code == 1 and "not a period" in err and len(err.strip().splitlines()) == 1


def test_an_unknown_command_is_a_usage_error(flattr):
    with pytest.raises(SystemExit) as caught:
        flattr("settel", "--period", "2026-10")
    assert caught.value.code == 2


def test_a_refused_command_writes_nothing(flattr):
    flattr("users", "add", "alice", "--budget", "5.00", "--funds", "20.00")
    code, _, err = flattr("users", "add", "alice", "--budget", "5.00", "--funds", "20.00")
    assert code == 1 and "already exists" in err
    assert "wallet 20.01 EUR" in flattr("users", "topup", "alice", "0.01")[1]
    assert flattr("check")[0] == 0


def test_a_person_with_too_little_money_is_told_why(flattr):
    flattr("users", "add", "poor", "--budget", "3.00", "--funds", "1.00")
    code, out, _ = flattr("flattr", "poor", "https://example.org/x")
    assert code == 2 and "top up" in out
