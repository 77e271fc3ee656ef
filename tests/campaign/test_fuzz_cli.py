"""Fuzzing every `flattr` command's arguments, on SQLite and PostgreSQL.

The commands come from the argparse parser itself (commands.main.build_parser), so a new
command or option is fuzzed without a line here. Each hypothesis example is a batch of
commands with valid, hostile and random values; after each: no traceback, no exception out
of `main`, an exit status of 0, 1 or 2 (and 2 only for a usage error or a refused flattr),
one clear line on stderr for bad input, and `flattr check` still holds.

Commands that serve until stopped (run, web, sandbox, demo) have their arguments parsed
and checked but are not started (their bodies are tested elsewhere)."""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from commands import bots as bots_commands
from commands import main as main_module
from commands import web as web_commands
from commands import worker as worker_commands
from core import crypto
from tests.campaign.conftest import SEED, scaled

SERVING = {("run",), ("web",), ("sandbox",), ("demo",)}
BATCHES = 40  # hypothesis examples per backend at scale 1
PER_BATCH = 10  # commands per example

KNOWN = ["ann", "bob", "carol", "nobody", "2026-10", "2026-09", "2026-11", "5.00", "0.01",
         "20", "2026-10-05T12:00:00Z", "2026-11-01T00:05:00Z", "https://example.org/a",
         "https://bob.example/post", "https://example.org/", "twitter:123",
         "facebook:page:678", "url:https://example.org/a", "x", "facebook", "likes",
         "liked_tweets", "explicit", "0", "1", "8765", "alice@example.org"]
HOSTILE = ["", " ", "\0", "a\0b", "\t", "ann\n", "\u2028", "\x7f", "١٢", "２０２６-10",
           "٢٠٢٦-10", "0000-01", "9999-12", "2026-13", "2026-10\n", "-1", "-5.00", "1e400",
           "9" * 40, "0.001", "5,00", "NaN", "inf", "%" * 700, "https://example.org/" + "%" * 700,
           "https://example.org/" + "é" * 500, "https://-/", "https://_/", "https://a..b/",
           "http://127.0.0.1/", "file:///etc/passwd", "javascript:alert(1)", "x" * 101,
           "x" * 300, "x" * 5000, "a" * 250 + "@x.org", "a@b", "twitter:١٢٣", "twitter:",
           "facebook:page:-1", "url:", "--", "-h", "../../etc/passwd", "/", "💥", "'; DROP--"]
# Just over the columns' widths (names 64, handles 100, e-mails 254, titles 300, URLs 2048,
# identities 2100) and the arguments' (4096).
EDGES = [c * n for n in (65, 101, 255, 301, 2049, 2101, 4096) for c in ("x", "9")] + [
    "a:" + "b" * 2200, "twitter:" + "9" * 2100, "https://example.org/" + "a" * 2100,
    "url:https://example.org/" + "a" * 2090]
VALUES = st.one_of(st.sampled_from(KNOWN), st.sampled_from(HOSTILE), st.sampled_from(EDGES),
                   st.text(max_size=30), st.text(alphabet="0123456789-.:T", max_size=20))


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
           ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from leaves(sub, (*path, name))
            return
    yield path, parser


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions
            if a.option_strings and not isinstance(a, argparse._HelpAction)
            and not isinstance(a, argparse._SubParsersAction)]


def _value(draw, action: argparse.Action, files: list[str]) -> str:  # type: ignore[no-untyped-def]
    if action.choices and draw(st.integers(0, 4)):
        return draw(st.sampled_from(sorted(map(str, action.choices))))
    if action.dest in ("file", "token_file", "scenario") and draw(st.integers(0, 3)):
        return draw(st.sampled_from(files))
    return draw(VALUES)


@st.composite
def invocations(draw, commands, root_options, files):  # type: ignore[no-untyped-def]
    path, parser = draw(st.sampled_from(commands))
    argv: list[str] = []
    for action in draw(st.lists(st.sampled_from(root_options), max_size=1, unique=True)):
        argv += [action.option_strings[0], _value(draw, action, files)]
    argv += list(path)
    optionals = _options(parser)
    chosen = draw(st.lists(st.sampled_from(optionals), unique=True,
                           max_size=len(optionals))) if optionals else []
    required = [a for a in optionals if a.required and a not in chosen]
    if draw(st.integers(0, 9)):  # mostly complete; sometimes a missing required option
        chosen += required
    for action in chosen:
        argv.append(action.option_strings[-1])
        if action.nargs != 0:
            argv.append(_value(draw, action, files))
    for action in parser._actions:
        if not action.option_strings and not isinstance(action, argparse._SubParsersAction):
            argv.append(_value(draw, action, files))
    return path, argv


@pytest.fixture
def inputs_dir(tmp_path: Path) -> list[str]:
    (tmp_path / "token").write_text("a-user-token\n")
    (tmp_path / "empty").write_text("")
    (tmp_path / "deep.json").write_text("[" * 50_000 + "]" * 50_000)
    (tmp_path / "liked.json").write_text(json.dumps(
        {"data": [{"id": "1", "text": "hi", "author_id": "2"}], "meta": {"result_count": 1}}))
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00\x01" * 100)
    (tmp_path / "scenario.json").write_text("{}")
    (tmp_path / "dir").mkdir()
    return [str(tmp_path / n) for n in ("token", "empty", "deep.json", "liked.json", "binary",
                                        "scenario.json", "dir", "missing")] + ["/dev/null"]


def test_every_command_takes_any_argument_without_a_traceback(
        database_url, monkeypatch, capsys, inputs_dir):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FLATTR_DATABASE_URL", database_url)
    monkeypatch.setenv("FLATTR_TOKEN_KEYS", crypto.generate_key())
    for module, name in ((worker_commands, "_run"), (worker_commands, "_demo"),
                         (web_commands, "_web"), (bots_commands, "run_sandbox")):
        monkeypatch.setattr(module, name, lambda args: 0)
    parser = main_module.build_parser()
    commands = sorted(leaves(parser))
    root_options = _options(parser)
    assert len(commands) >= 25, [p for p, _ in commands]  # the parser is where they come from

    def flattr(*argv: str) -> tuple[int, str, str]:
        try:
            code = main_module.main(list(argv))
        except SystemExit as exc:  # argparse: usage errors (2) and --help (0)
            code = exc.code if isinstance(exc.code, int) else 2
            assert code in (0, 2), argv
        out, err = capsys.readouterr()
        return code, out, err

    for argv in (["db", "upgrade"], ["users", "add", "ann", "--budget", "5", "--funds", "20"],
                 ["users", "add", "bob", "--budget", "2"],
                 ["things", "add", "https://bob.example/post", "--owner", "bob"],
                 ["flattr", "ann", "https://example.org/a"],
                 ["flattr", "ann", "https://bob.example/post"]):
        code, out, err = flattr("--now", "2026-10-05T00:00:00Z", *argv)
        assert code == 0, (argv, out, err)
    exits: Counter[int] = Counter()
    began = time.monotonic()

    @seed(SEED)
    @settings(max_examples=scaled(BATCHES), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(invocations(commands, root_options, inputs_dir), min_size=PER_BATCH,
                    max_size=PER_BATCH))
    def batch(calls: list[tuple[tuple[str, ...], list[str]]]) -> None:
        for path, argv in calls:
            code, _, err = flattr(*argv)
            exits[code] += 1
            assert "Traceback" not in err, (argv, err)
            assert code in (0, 1, 2), (argv, code, err)
            if code == 1:
                assert len(err.strip().splitlines()) == 1, (argv, err)
            if code == 2 and path != ("flattr",):
                assert "usage:" in err, (argv, err)  # argparse's usage errors only
        code, out, err = flattr("check")
        assert code == 0 and out.startswith("ok"), (out, err)

    batch()
    print(f"\ncampaign cli[{database_url.split(':')[0]}]: {exits.total()} runs of "
          f"{len(commands)} commands in {time.monotonic() - began:.1f} s, "
          f"exits {dict(sorted(exits.items()))}")
