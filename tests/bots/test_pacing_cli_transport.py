"""The pure pieces: pacing, the URL rewrite, parsing properties, and the CLI."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bots.pacing import (
    MAX_IDLE_DELAY,
    MIN_DELAY,
    STREAM_BACKOFF,
    backoff_delay,
    decay_recent,
    next_poll_delay,
    recent_page_size,
)
from bots.transport import RewritingAdapter
from bots.x.parse import is_explicit_request, post_targets
from commands.bots import register

NOW = datetime(2025, 3, 1, tzinfo=UTC)


@given(
    st.floats(0, 1e4),
    st.one_of(st.none(), st.integers(0, 900)),
    st.one_of(st.none(), st.integers(-900, 3600)),
)
def test_next_poll_delay_stays_within_bounds_and_respects_the_reset(recent, remaining, reset_s):
    reset_at = NOW + timedelta(seconds=reset_s) if reset_s is not None else None
    delay = next_poll_delay(recent, remaining, reset_at, NOW)
    assert delay >= MIN_DELAY
    if remaining is not None and remaining <= 2 and reset_at and reset_at > NOW:
        assert NOW + delay > reset_at
    elif remaining is None:
        assert delay <= MAX_IDLE_DELAY


def test_idle_accounts_wait_longest_and_busy_ones_least():
    assert next_poll_delay(0, None, None, NOW) == MAX_IDLE_DELAY
    assert next_poll_delay(1e5, None, None, NOW) == MIN_DELAY
    assert next_poll_delay(50, None, None, NOW) < next_poll_delay(10, None, None, NOW)


@given(st.integers(0, 40), st.text(max_size=8))
def test_backoff_is_capped_and_grows(failures, salt):
    assert backoff_delay(failures, salt) <= STREAM_BACKOFF.cap * 1.2
    assert backoff_delay(failures + 1, salt) >= backoff_delay(failures, salt) / 1.2


@given(st.floats(0, 100), st.integers(0, 1000))
def test_decay_halves_a_day(recent, found):
    assert decay_recent(recent, timedelta(hours=24), found) == pytest.approx(recent / 2 + found)


@given(st.floats(0, 1000))
def test_page_size_in_range(expected):
    assert 5 <= recent_page_size(expected, 5, 100) <= 100


@pytest.mark.parametrize(
    ("url", "rewritten"),
    [
        ("https://api.twitter.com/2/users/me", "http://127.0.0.1:9/2/users/me"),
        ("https://api.x.com/2/tweets", "http://127.0.0.1:9/2/tweets"),
        ("https://graph.facebook.com/v22.0/me/likes?a=1", "http://127.0.0.1:9/v22.0/me/likes?a=1"),
        ("https://twitter.com/i/oauth2/authorize?x=1", "http://127.0.0.1:9/i/oauth2/authorize?x=1"),
        (
            "https://www.facebook.com/v22.0/dialog/oauth?x",
            "http://127.0.0.1:9/v22.0/dialog/oauth?x",
        ),
        ("https://graph.facebook.com.evil.example/x", "https://graph.facebook.com.evil.example/x"),
        ("https://example.org/", "https://example.org/"),
    ],
)
def test_rewrite(url, rewritten):
    assert RewritingAdapter("http://127.0.0.1:9/").rewrite(url) == rewritten
    assert RewritingAdapter(None).rewrite(url) == url


url_entity = st.fixed_dictionaries(
    {
        "expanded_url": st.sampled_from(
            [
                "https://example.org/a?utm_source=x",
                "https://t.co/abc",
                "https://x.com/u/status/5/photo/1",
                "not a url",
                "https://twitter.com/i/web/status/9",
                "https://example.org/a",
            ]
        )
    },
    optional={
        "unwound_url": st.sampled_from(["https://blog.example/p", None]),
        "media_key": st.just("3_1"),
    },
)


@given(st.lists(url_entity, max_size=6), st.booleans())
def test_post_targets_links_first_post_last_never_x_or_tco(urls, long_post):
    holder = (
        {"note_tweet": {"entities": {"urls": urls}}} if long_post else {"entities": {"urls": urls}}
    )
    targets = post_targets({"id": "42", "author_id": "7", **holder})
    assert targets[-1].url == "https://x.com/i/status/42" and targets[-1].identity == "twitter:7"
    links = [t.url for t in targets[:-1]]
    assert len(links) == len(set(links))
    assert not any(u and ("x.com" in u or "t.co" in u or "utm_" in u) for u in links)


@pytest.mark.parametrize(
    ("text", "handle", "explicit"),
    [
        ("Great #flattr", None, True),
        ("#FLATTR this", None, True),
        ("#flattrs", None, False),
        ("a##flattr", None, False),
        ("thanks @flattrbot", "flattrbot", True),
        ("thanks @flattrbot2", "flattrbot", False),
        ("nothing", "flattrbot", False),
    ],
)
def test_explicit_request(text, handle, explicit):
    assert is_explicit_request({"text": text}, handle) is explicit


def run_cli(argv: list[str], capsys) -> tuple[int, list[dict], str]:
    parser = argparse.ArgumentParser(prog="flattr")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_cli_parse_fixture_posts(fixtures_dir: Path, capsys):
    code, lines, _ = run_cli(
        [
            "bots",
            "parse",
            "--network",
            "facebook",
            "--endpoint",
            "posts",
            str(fixtures_dir / "facebook" / "feed.json"),
        ],
        capsys,
    )
    assert code == 0 and len(lines) == 1
    assert set(lines[0]) == {"network", "action", "external_id", "actor", "occurred_at", "targets"}
    assert lines[0]["targets"] == [
        {"url": "https://www.habuma.com/", "identity": "url:https://www.habuma.com/"}
    ]


def test_cli_parse_empty_and_malformed(tmp_path: Path, capsys):
    empty = tmp_path / "empty.json"
    empty.write_text('{"meta": {"result_count": 0}}')
    code, lines, _ = run_cli(
        ["bots", "parse", "--network", "x", "--endpoint", "users_tweets", str(empty)], capsys
    )
    assert (code, lines) == (0, [])
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [{"id": ')
    code, lines, err = run_cli(
        ["bots", "parse", "--network", "x", "--endpoint", "liked_tweets", str(broken)], capsys
    )
    assert code == 2 and lines == [] and "not JSON" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(
        ["bots", "parse", "--network", "x", "--endpoint", "likes", str(empty)], capsys
    )
    assert code == 1 and "not an endpoint of x" in err


def test_cli_parse_users_tweets_from_the_sandbox_shape(tmp_path: Path, capsys):
    body = {
        "data": [
            {
                "id": "11",
                "text": "RT @c: hi",
                "edit_history_tweet_ids": ["11"],
                "author_id": "5",
                "referenced_tweets": [{"type": "retweeted", "id": "10"}],
            },
            {
                "id": "12",
                "text": "love it #flattr",
                "edit_history_tweet_ids": ["12"],
                "author_id": "5",
                "referenced_tweets": [{"type": "replied_to", "id": "10"}],
                "created_at": "2025-03-02T10:00:00.000Z",
            },
        ],
        "includes": {
            "tweets": [
                {
                    "id": "10",
                    "text": "post",
                    "author_id": "8",
                    "edit_history_tweet_ids": ["10"],
                    "entities": {
                        "urls": [
                            {
                                "start": 0,
                                "end": 1,
                                "url": "https://t.co/x",
                                "expanded_url": "https://example.org/blog/1",
                            }
                        ]
                    },
                }
            ]
        },
        "meta": {"result_count": 2},
    }
    path = tmp_path / "timeline.json"
    path.write_text(json.dumps(body))
    code, lines, _ = run_cli(
        [
            "bots",
            "parse",
            "--network",
            "x",
            "--endpoint",
            "users_tweets",
            "--actor",
            "5",
            "--triggers",
            "explicit",
            str(path),
        ],
        capsys,
    )
    assert code == 0 and [line["action"] for line in lines] == ["explicit"]
    assert lines[0]["targets"] == [
        {"url": "https://example.org/blog/1", "identity": "url:https://example.org/blog/1"},
        {"url": "https://x.com/i/status/10", "identity": "twitter:8"},
    ]
    assert lines[0]["occurred_at"] == "2025-03-02T10:00:00+00:00"
