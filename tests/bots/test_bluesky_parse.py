"""Bluesky parsing on production Jetstream v1 events, a real repository (CAR) and the SDK's
record fixtures (../shared/fixtures/bluesky/)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from atproto import CAR, CID

from bots.base import MalformedResponse
from bots.bluesky import parse
from bots.bluesky.parse import Event
from core import identity

NOW = datetime(2026, 7, 5, tzinfo=UTC)
SERVICE = "did:plc:servicexservicexservicex"
ALICE = "did:plc:aliceaaaaaaaaaaaaaaaaaaa"
BOB = "did:plc:bobbbbbbbbbbbbbbbbbbbbbb"


@pytest.fixture(scope="module")
def folder(fixtures_dir: Path) -> Path:
    return fixtures_dir / "bluesky"


@pytest.fixture(scope="module")
def raw_events(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "jetstream_v1_events.jsonl").open()]


@pytest.fixture(scope="module")
def events(raw_events: list[dict]) -> list[Event]:
    return [parse.parse_event(e) for e in raw_events]


def _subject_author(event: dict) -> str:
    return event["commit"]["record"]["subject"]["uri"].split("/")[2]


def test_every_recorded_event_parses_with_its_repository_and_cursor(raw_events, events):
    assert len(events) == len(raw_events) > 100
    for raw, event in zip(raw_events, events, strict=True):
        assert (event.did, event.time_us, event.kind) == (raw["did"], raw["time_us"],
                                                           raw["kind"])
        for meant in (event.intent, event.withdrawal):
            if meant is not None:
                assert meant.actor == raw["did"]
                assert meant.record_uri.startswith(f"at://{raw['did']}/")


def test_likes_and_reposts_of_other_peoples_posts_are_intents(raw_events, events):
    made = Counter(e.intent.action for e in events if e.intent)
    created = [r for r in raw_events if r["kind"] == "commit"
               and r["commit"]["operation"] == "create"
               and r["commit"]["collection"] in (parse.LIKE, parse.REPOST)]
    own = [r for r in created if _subject_author(r) == r["did"]]
    assert len(own) == 1  # the recording holds one self-like
    assert made == {"like": sum(r["commit"]["collection"] == parse.LIKE for r in created
                                if r not in own),
                    "repost": sum(r["commit"]["collection"] == parse.REPOST for r in created
                                  if r not in own)}
    for raw, event in zip(raw_events, events, strict=True):
        if event.intent:
            assert event.intent.subject == raw["commit"]["record"]["subject"]["uri"]
            assert event.intent.occurred_at == parse.time_of_us(raw["time_us"])


def test_a_like_through_a_repost_flattrs_the_post_not_the_repost(raw_events, events):
    via = [(r, e) for r, e in zip(raw_events, events, strict=True)
           if r.get("commit", {}).get("record", {}).get("via")]
    assert via
    for raw, event in via:
        assert event.intent is not None
        target = parse.activity(event.intent).targets[-1]
        assert target.identity == f"bluesky:{_subject_author(raw)}"
        assert "/post/" in (target.url or "")


def test_follows_blocks_statuses_identity_account_and_other_deletes_yield_nothing(
        raw_events, events):
    for raw, event in zip(raw_events, events, strict=True):
        commit = raw.get("commit", {})
        ours = commit.get("collection") in (parse.LIKE, parse.REPOST)
        explicit = commit.get("collection") == parse.POST  # a delete undoes a #flattr request
        if raw["kind"] != "commit" or not (ours or explicit):
            assert (event.intent, event.withdrawal) == (None, None), raw
    kinds = {r["kind"] for r in raw_events}
    assert {"identity", "account"} <= kinds


def test_a_deleted_like_or_repost_is_a_withdrawal_of_the_same_activity(raw_events, events):
    raw, event = next((r, e) for r, e in zip(raw_events, events, strict=True) if e.intent)
    deleted = {**raw, "time_us": raw["time_us"] + 5,
               "commit": {k: v for k, v in raw["commit"].items() if k not in ("record", "cid")}
               | {"operation": "delete"}}
    gone = parse.parse_event(deleted)
    assert gone.withdrawal is not None and gone.intent is None
    assert gone.withdrawal.key == event.intent.key == parse.activity(event.intent).key


def test_the_service_account_and_own_posts_are_never_flattred():
    like = {"$type": parse.LIKE, "createdAt": "2026-07-01T00:00:00Z",
            "subject": {"uri": f"at://{SERVICE}/app.bsky.feed.post/3k", "cid": "x"}}
    at = NOW
    assert parse.record_intent(ALICE, parse.LIKE, "3l", like, at, service_did=SERVICE) is None
    assert parse.record_intent(SERVICE.replace("service", "aliceali"), parse.LIKE, "3l",
                               like, at) is not None
    mine = {**like, "subject": {"uri": f"at://{ALICE}/app.bsky.feed.post/3k"}}
    assert parse.record_intent(ALICE, parse.LIKE, "3l", mine, at) is None


def test_a_like_of_a_feed_generator_or_a_list_is_no_flattr():
    like = {"subject": {"uri": f"at://{BOB}/app.bsky.feed.generator/whats-hot"}}
    assert parse.record_intent(ALICE, parse.LIKE, "3l", like, NOW) is None


@pytest.mark.parametrize("record", [
    {"text": "Love this #flattr", "reply": {"parent": {"uri": f"at://{BOB}/app.bsky.feed.post/3p"},
                                            "root": {"uri": f"at://{BOB}/app.bsky.feed.post/3p"}}},
    {"text": "#Flattr!", "embed": {"$type": "app.bsky.embed.record",
                                   "record": {"uri": f"at://{BOB}/app.bsky.feed.post/3p"}}},
    {"text": "so good", "facets": [{"index": {"byteStart": 0, "byteEnd": 7},
                                    "features": [{"$type": parse.TAG_FACET, "tag": "flattr"}]}],
     "embed": {"$type": "app.bsky.embed.recordWithMedia",
               "record": {"record": {"uri": f"at://{BOB}/app.bsky.feed.post/3p"}},
               "media": {"$type": "app.bsky.embed.images", "images": []}}},
    {"text": "hey @flattr.example", "facets": [{"index": {"byteStart": 4, "byteEnd": 19},
     "features": [{"$type": parse.MENTION_FACET, "did": SERVICE}]}],
     "reply": {"parent": {"uri": f"at://{BOB}/app.bsky.feed.post/3p"}}},
], ids=["reply", "quote", "tag-facet-quote-with-media", "mention"])
def test_an_explicit_flattr_reply_or_quote_flattrs_the_post_it_answers(record):
    intent = parse.record_intent(ALICE, parse.POST, "3me", {"$type": parse.POST, **record},
                                 NOW, service_did=SERVICE)
    assert intent is not None and intent.action == "explicit"
    assert intent.subject == f"at://{BOB}/app.bsky.feed.post/3p"
    assert intent.record_uri == f"at://{ALICE}/app.bsky.feed.post/3me"


def test_a_reply_without_the_tag_and_a_hashtag_like_flattrs_are_no_request():
    parent = {"reply": {"parent": {"uri": f"at://{BOB}/app.bsky.feed.post/3p"}}}
    for text in ("nice", "#flattrs are great", "mail#flattr"):
        assert parse.record_intent(ALICE, parse.POST, "3m", {"text": text, **parent},
                                   NOW) is None


def test_recorded_posts_give_their_first_outside_link_then_the_post(raw_events):
    posts = [r for r in raw_events if r.get("commit", {}).get("collection") == parse.POST
             and r["commit"]["operation"] == "create"]
    found = {}
    for raw in posts:
        uri = f"at://{raw['did']}/{parse.POST}/{raw['commit']['rkey']}"
        targets = parse.post_targets({"uri": uri, "record": raw["commit"]["record"]})
        assert targets[-1].identity == f"bluesky:{raw['did']}"
        assert targets[-1].url == f"https://bsky.app/profile/{raw['did']}/post/{raw['commit']['rkey']}"
        found[uri] = targets
    links = [t[0] for t in found.values() if len(t) == 2]
    urls = {t.url for t in links}
    # The link card (with its title), a link facet alone, a facet after an image.
    assert "https://www.youtube.com/watch?v=V5lDo-jw8mA" in urls
    assert "https://denikn.cz/2113523" in urls
    assert any(u.startswith("https://www.tumblr.com/tempo-tales/765681292369166336/") for u in urls)
    assert all(t.identity == f"url:{t.url}" for t in links)
    youtube = next(t for t in links if "youtube" in (t.url or ""))
    assert youtube.title == "What does America's 250th anniversary mean to Native Americans?"
    assert len(found) - len(links) >= 5  # replies and statuses without a link: the post


def test_link_facets_are_ordered_and_titled_by_utf8_byte_offsets():
    text = "Čtěte 🎉 první a druhý"
    encoded = text.encode()
    first, second = encoded.index("první".encode()), encoded.index("druhý".encode())
    record = {"text": text, "facets": [
        {"index": {"byteStart": second, "byteEnd": second + len("druhý".encode())},
         "features": [{"$type": parse.LINK_FACET, "uri": "https://two.example/b"}]},
        {"index": {"byteStart": first, "byteEnd": first + len("první".encode())},
         "features": [{"$type": parse.LINK_FACET, "uri": "https://one.example/a?utm_source=x"}]},
    ]}
    assert parse.record_links(record) == [("https://one.example/a", "první"),
                                          ("https://two.example/b", "druhý")]


def test_links_to_bluesky_itself_and_non_http_links_are_not_creations():
    record = {"text": "x", "facets": [
        {"index": {"byteStart": 0, "byteEnd": 1}, "features": [
            {"$type": parse.LINK_FACET, "uri": "https://bsky.app/profile/bob.example"},
            {"$type": parse.LINK_FACET, "uri": "javascript:alert(1)"}]}]}
    assert parse.record_links(record) == []


def test_the_sdk_thread_view_post_with_media_is_read(folder: Path):
    view = json.loads((folder / "atproto_thread_view_post_with_embed_media.json").read_text())
    post = view["thread"]["post"]
    targets = parse.post_targets(post)
    assert targets[-1].identity == f"bluesky:{post['author']['did']}"
    assert parse.parse_posts({"posts": [post]}) == {post["uri"]: targets}


def test_the_sdk_record_fixtures(folder: Path):
    like = json.loads((folder / "atproto_like_record.json").read_text())
    extended = json.loads((folder / "atproto_extended_like_record.json").read_text())
    intents, cursor = parse.parse_list_records({"records": [like, extended]}, now=NOW)
    assert (intents, cursor) == ([], None)  # both like the account's own posts
    other = {**like, "value": {**like["value"], "subject": {
        "uri": f"at://{BOB}/app.bsky.feed.post/3k5u7c7eis72y", "cid": "x"}}}
    [intent], _ = parse.parse_list_records({"records": [other], "cursor": "3k"}, now=NOW)
    assert intent.occurred_at == datetime(2023, 8, 26, 12, 56, 31, 44240, tzinfo=UTC)
    post = json.loads((folder / "atproto_extended_post_record.json").read_text())
    assert parse.parse_list_records({"records": [post]}, now=NOW)[0] == []


def test_a_real_repository_listed_page_by_page(folder: Path):
    car = CAR.from_bytes((folder / "repo.car").read_bytes())
    did = car.blocks.get(car.root)["did"]
    records = []
    for line in (folder / "repo_car_records.tsv").read_text().splitlines():
        path, cid = line.split("\t")
        records.append({"uri": f"at://{did}/{path}", "cid": cid,
                        "value": car.blocks.get(CID.decode(cid))})
    likes = [r for r in records if "/app.bsky.feed.like/" in r["uri"]]
    reposts = [r for r in records if "/app.bsky.feed.repost/" in r["uri"]]
    found = []
    for start in range(0, len(records), 7):
        page = {"records": records[start:start + 7], "cursor": "next"}
        intents, cursor = parse.parse_list_records(page, now=NOW)
        assert cursor == "next"
        found.extend(intents)
    own = [r for r in likes + reposts if r["value"]["subject"]["uri"].split("/")[2] == did]
    assert len(found) == len(likes) + len(reposts) - len(own) > 5
    assert {i.actor for i in found} == {did}
    assert {parse.activity(i).actor for i in found} == {f"bluesky:{did}"}


def test_did_identities_plc_and_web_ascii_only():
    assert str(identity.parse(f"bluesky:{ALICE}")) == f"bluesky:{ALICE}"
    assert identity.parse("bluesky:did:web:example.com").id == "did:web:example.com"
    for bad in ("bluesky:did:plc:short", "bluesky:did:plc:ALICEAAAAAAAAAAAAAAAAAAA",
                "bluesky:did:web:exämple.com", "bluesky:did:key:z6Mk", "bluesky:alice.bsky.social"):
        assert identity.try_parse(bad) is None, bad


@pytest.mark.parametrize("body", [
    [], "x", {"did": ALICE}, {"did": "alice", "time_us": 1, "kind": "commit"},
    {"did": ALICE, "time_us": "1", "kind": "commit"},
    {"did": ALICE, "time_us": 1, "kind": "commit"},
    {"did": ALICE, "time_us": 1, "kind": "commit", "commit": {"operation": "create"}},
])
def test_a_malformed_event_is_refused(body):
    with pytest.raises(MalformedResponse):
        parse.parse_event(body)


def test_malformed_list_records_and_get_posts_are_refused():
    for body in ({}, {"records": {}}, {"records": [{"uri": "https://x"}]},
                 {"records": [], "cursor": 5}):
        with pytest.raises(MalformedResponse):
            parse.parse_list_records(body, now=NOW)
    with pytest.raises(MalformedResponse):
        parse.parse_posts({"posts": [{"cid": "x"}]})
    with pytest.raises(MalformedResponse):
        parse.parse_line(b"{not json")


def test_flattr_bots_parse_reads_a_recorded_stream_and_refuses_a_broken_one(folder: Path,
                                                                          tmp_path: Path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "commands.main", "bots", "parse",
                               "--network", "bluesky", *args], capture_output=True, text=True,
                              check=False)

    done = run("--endpoint", "jetstream", str(folder / "jetstream_v1_events.jsonl"))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert {line["action"] for line in lines} == {"like", "repost"}
    assert all(line["actor"].startswith("bluesky:did:") for line in lines)
    likes_only = run("--endpoint", "jetstream", "--triggers", "likes",
                     str(folder / "jetstream_v1_events.jsonl"))
    assert {json.loads(x)["action"] for x in likes_only.stdout.splitlines()} == {"like"}
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"did": "did:plc:aliceaaaaaaaaaaaaaaaaaaa", "kind": "commit"}\n')
    # A malformed body is bad input: one line on stderr, exit 1 (the CLI's rule since the
    # hardening branch; issue 13 asked for 2, as the parse command answered then).
    assert run("--endpoint", "jetstream", str(broken)).returncode == 2
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"records": [json.loads(
        (folder / "atproto_like_record.json").read_text())]}))
    assert run("--endpoint", "listRecords", str(page)).returncode == 0
    page.write_text("{\"records\": 3}")
    assert run("--endpoint", "listRecords", str(page)).returncode == 2
