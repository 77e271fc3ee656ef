"""Issue 11, items 7 and 9 on the command line: every bad input is one clear line on stderr
and exit 1, never a traceback; on SQLite and PostgreSQL (PostgreSQL refuses what SQLite
stores silently: NUL bytes, values longer than their column)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from commands.main import main
from core import crypto
from core.db import Database


@pytest.fixture
def flattr(database_url, monkeypatch, capsys):
    monkeypatch.setenv("FLATTR_DATABASE_URL", database_url)
    monkeypatch.setenv("FLATTR_TOKEN_KEYS", crypto.generate_key())  # no key file written here

    def run(*argv: str, now: str | None = "2026-10-02T10:00:00Z") -> tuple[int, str, str]:
        code = main([*(("--now", now) if now is not None else ()), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    assert run("users", "add", "ann", "--budget", "5.00", "--funds", "20.00")[0] == 0
    return run


def _one_clear_line(result: tuple[int, str, str], *words: str, status: int = 1) -> None:
    code, _, err = result
    assert code == status, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, err


LONG_EMAIL = "a" * 250 + "@example.org"


@pytest.mark.parametrize(("argv", "words"), [
    (("things", "add", "https://example.org/" + "%" * 700, "--owner", "ann"), ["2048"]),
    (("things", "add", "https://example.org/" + "é" * 400, "--owner", "ann"), ["2048"]),
    (("users", "add", "bob", "--budget", "5", "--email", LONG_EMAIL), ["254"]),
    (("users", "add", "bob", "--budget", "5", "--email", "bob@exa mple.org"), ["e-mail"]),
    (("settle", "--period", "0000-01"), ["0000-01"]),
    (("settle", "--period", "9999-12"), ["9999-12"]),
    (("report", "--period", "2026-1x"), ["not a period"]),
    (("users", "add", "bob\0", "--budget", "5"), ["NUL"]),
    (("users", "topup", "ann\x01", "1.00"), ["control character"]),
    (("flattr", "ann", "https://example.org/a", "--at", ""), ["ISO 8601"]),
    (("run", "--once", "--concurrency", "١٢"), ["digits 0-9"]),
    (("web", "--port", "99999"), ["between"]),
    (("bots", "parse", "--network", "nowhere", "--endpoint", "likes", "-"), ["invalid choice"]),
    (("optout", "a:" + "b" * 2200), ["not an identity"]),  # wider than opt_outs.subject
])
def test_bad_values_are_one_line_and_exit_1(flattr, argv, words):
    _one_clear_line(flattr(*argv), *words)


def test_an_empty_now_is_an_error_not_ignored(flattr):
    _one_clear_line(flattr("check", now=""), "ISO 8601")


def test_account_link_token_file_missing_or_a_directory(flattr, tmp_path: Path):
    base = ("accounts", "link", "ann", "--network", "x", "--user-id", "5", "--token-file")
    _one_clear_line(flattr(*base, str(tmp_path / "missing")), "does not exist")
    _one_clear_line(flattr(*base, str(tmp_path)), "is a directory")
    token = tmp_path / "token"
    token.write_text("secret-token\n")
    _one_clear_line(flattr(*base, str(token), "--handle", "h" * 101), "at most 100")
    code, out, err = flattr(*base, str(token), "--handle", "h" * 100)
    assert code == 0, err


def test_deep_json_to_bots_parse(flattr, tmp_path: Path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    _one_clear_line(flattr("bots", "parse", "--network", "x", "--endpoint", "liked_tweets",
                           str(deep)), "nested too deeply", status=2)  # not a response
    _one_clear_line(flattr("bots", "parse", "--network", "x", "--endpoint", "liked_tweets",
                           str(tmp_path)), "is a directory")


def test_nothing_was_written_by_refused_input(flattr, database_url):
    flattr("users", "add", "bob", "--budget", "5", "--email", LONG_EMAIL)
    flattr("users", "add", "bob\n", "--budget", "5")
    db = Database(database_url)
    with db.engine.connect() as connection:
        names = connection.execute(text("SELECT name FROM people")).scalars().all()
    db.dispose()
    assert names == ["ann"]
    code, out, _ = flattr("check")
    assert code == 0 and out.startswith("ok")
    assert json.loads(flattr("payouts", "--json")[1])["payouts"] == []
