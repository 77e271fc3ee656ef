"""Issue 14, step 1: every body Mastodon.py recorded against a real server (the cassettes
in tests/fixtures/real/mastodon/, see PROVENANCE.md) parses to what a person expects, and
the rules of a status's targets hold on statuses shaped like the real ones."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots import registry
from bots.base import MalformedResponse
from bots.mastodon import split_account
from bots.mastodon.parse import (
    Viewer,
    author_key,
    check_statuses,
    content_links,
    explicit_originals,
    favourite_activity,
    is_explicit_request,
    own_status_activity,
    parse_favourites,
    parse_statuses,
    remote_accts,
    status_targets,
)
from bots.mastodon.spec import SPEC
from core import identity

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "mastodon"
NOW = datetime(2026, 8, 1, 14, tzinfo=UTC)
ALL = frozenset({"favourites", "boosts", "explicit"})
AUTHOR = "117020565966271181"  # mastodonpy_test, who wrote (and boosted) every status
AUTHOR_2 = "117020566092212359"  # mastodonpy_test_2
AS_AUTHOR = Viewer.of(f"localhost:{AUTHOR}")
AS_NEIGHBOUR = Viewer.of("localhost:42")  # someone else on the same instance


@pytest.fixture(autouse=True)
def mastodon() -> Iterator[None]:
    registered = registry.find(SPEC.name) is not None
    registry.register(SPEC)
    yield
    if not registered:
        registry.unregister(SPEC.name)


def interactions(name: str) -> list[dict]:
    return yaml.safe_load((REAL / name).read_text())["interactions"]


def body(name: str, index: int) -> Any:
    return json.loads(interactions(name)[index]["response"]["body"]["string"])


def every_body() -> list[tuple[str, int, Any]]:
    found = []
    for path in sorted(REAL.glob("*.yaml")):
        for index, item in enumerate(interactions(path.name)):
            found.append((path.name, index, json.loads(item["response"]["body"]["string"])))
    return found


def is_status(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("account"), dict)


def urls(activity) -> list[str | None]:  # type: ignore[no-untyped-def]
    return [t.url for t in activity.targets]


# -- every recorded body ------------------------------------------------------------------


def test_every_recorded_body_is_read_or_refused_with_a_reason():
    kinds = {"status": 0, "page": 0, "empty": 0, "refused": 0}
    for name, index, found in every_body():
        where = f"{name}#{index}"
        if is_status(found):
            kinds["status"] += 1
            with pytest.raises(MalformedResponse, match="expected a JSON list"):
                parse_favourites(found, AS_NEIGHBOUR, NOW)  # one status is not a page
        elif isinstance(found, list) and all(is_status(s) for s in found):
            kinds["page" if found else "empty"] += 1
            assert parse_favourites(found, AS_AUTHOR, NOW) == [], where  # all their own
        else:  # accounts who favourited/boosted, the instance, the OAuth server metadata
            kinds["refused"] += 1
            with pytest.raises(MalformedResponse):
                parse_favourites(found, AS_NEIGHBOUR, NOW)
            with pytest.raises(MalformedResponse):
                parse_statuses(found, AS_NEIGHBOUR, NOW, ALL)
    assert kinds == {"status": 39, "page": 5, "empty": 3, "refused": 5}


def test_someone_elses_favourite_of_each_recorded_status_flattrs_that_status():
    for name, index, found in every_body():
        if not is_status(found):
            continue
        (activity,) = parse_favourites([found], AS_NEIGHBOUR, NOW)
        shown = found.get("reblog") or found
        author = shown["account"]["id"]
        assert activity.action == "favourite" and activity.occurred_at == NOW
        assert activity.actor == "mastodon:localhost:42"
        last = activity.targets[-1]
        # A boost's own page (.../activity) is not a creation: the boosted status is.
        assert last.url == shown["url"], f"{name}#{index}"
        assert last.identity == f"mastodon:localhost:{author}"


def test_nobody_flattrs_their_own_status_or_boost():
    for name, index, found in every_body():
        if is_status(found):
            viewer = Viewer.of(f"localhost:{found['account']['id']}")
            assert favourite_activity(found, viewer, NOW) is None, f"{name}#{index}"
            assert own_status_activity(found, viewer, NOW, ALL, {}) is None, f"{name}#{index}"


def test_a_self_boost_recorded_in_the_authors_statuses_is_no_flattr():
    boost = body("test_status_reblog_unreblog.yaml", 1)
    assert boost["reblog"]["account"]["id"] == boost["account"]["id"] == AUTHOR
    assert parse_statuses([boost], AS_AUTHOR, NOW, ALL) == []


def test_a_boost_of_someone_elses_status_flattrs_the_boosted_status():
    boost = copy.deepcopy(body("test_status_reblogged_by.yaml", 4))
    boost["account"] = body("test_status_reblogged_by.yaml", 1)["account"]  # test_2 boosts
    (activity,) = parse_statuses([boost], Viewer.of(f"localhost:{AUTHOR_2}"), NOW, ALL)
    assert activity.action == "boost" and activity.external_id == boost["id"]
    assert activity.occurred_at == datetime.fromisoformat(boost["created_at"])
    assert urls(activity) == [boost["reblog"]["url"]]
    assert activity.targets[0].identity == f"mastodon:localhost:{AUTHOR}"
    assert parse_statuses([boost], Viewer.of(f"localhost:{AUTHOR_2}"), NOW,
                          frozenset({"explicit"})) == []  # boosts switched off


def test_the_card_link_comes_first_and_the_status_itself_last():
    status = body("test_status_card.yaml", 1)
    assert status["card"]["url"] == "http://example.org/"
    (activity,) = parse_favourites([status], AS_NEIGHBOUR, NOW)
    assert urls(activity) == ["http://example.org/", status["url"]]
    first, last = activity.targets
    assert first.identity == "url:http://example.org/" and first.title == "Example Domain"
    assert last.identity == f"mastodon:localhost:{AUTHOR}"


def test_a_statuses_page_with_link_paging_holds_only_originals_so_nothing_flattrs():
    for index in (11, 12, 13):
        page = body("test_fetch_next_previous.yaml", index)
        assert len(check_statuses(page)) == 5
        assert parse_statuses(page, AS_AUTHOR, NOW, ALL) == []
        assert explicit_originals(page, AS_AUTHOR) == []


def test_error_bodies_are_errors_not_empty_pages():
    with pytest.raises(MalformedResponse, match="The access token is invalid"):
        parse_favourites({"error": "The access token is invalid"}, AS_NEIGHBOUR, NOW)
    with pytest.raises(MalformedResponse, match="without an id"):
        parse_favourites([{"id": None}], AS_NEIGHBOUR, NOW)


def test_the_oauth_server_metadata_advertises_pkce_s256():
    metadata = body("test_entity_oauthserverinfo.yaml", 0)
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "authorization_code" in metadata["grant_types_supported"]
    assert "password" not in metadata["grant_types_supported"]


# -- identities -----------------------------------------------------------------------------


def test_the_identity_scheme_names_the_home_host_and_the_id_there():
    assert str(identity.parse("mastodon:mastodon.social:109")) == "mastodon:mastodon.social:109"
    assert str(SPEC.account_identity("xn--bcher-kva.example:7")) == \
        "mastodon:xn--bcher-kva.example:7"
    for bad in ("mastodon:Social.Example:1", "mastodon:bücher.example:1", "mastodon:host:x1",
                "mastodon:host:١٢", "mastodon:-bad.example:1", "mastodon:host", "mastodon::1"):
        with pytest.raises(identity.InvalidIdentity):
            identity.parse(bad)
    assert split_account("social.example:12") == ("social.example", "12")


def test_a_remote_author_is_known_at_home_by_their_ap_uri_or_a_lookup():
    account = body("test_fetch_next_previous.yaml", 0)
    viewer = Viewer.of("other.example:5")
    remote = {**account, "acct": "mastodonpy_test@localhost", "id": "999"}
    assert author_key(remote, viewer) == f"localhost:{AUTHOR}"  # /ap/users/<id>
    legacy = {**remote, "uri": "https://b.example/users/bob", "acct": "Bob@B.example"}
    assert author_key(legacy, viewer) is None
    assert remote_accts([{"account": legacy}], viewer) == {"bob@b.example"}
    looked_up = Viewer.of("other.example:5", homes={"bob@b.example": "77"})
    assert author_key(legacy, looked_up) == "b.example:77"
    assert author_key({**account, "acct": "bob"}, viewer) == f"other.example:{AUTHOR}"


def test_an_author_whose_home_id_is_unknown_leaves_the_status_held_by_its_url():
    status = body("test_status_card.yaml", 1)
    status = {**status, "card": None, "content": "<p>hi</p>",
              "url": "https://b.example/@bob/1",
              "account": {**status["account"], "acct": "bob@b.example",
                          "uri": "https://b.example/users/bob"}}
    (activity,) = parse_favourites([status], AS_NEIGHBOUR, NOW)
    assert [(t.url, t.identity) for t in activity.targets] == [("https://b.example/@bob/1", None)]


# -- links in content -------------------------------------------------------------------


CONTENT = (
    '<p><span class="h-card"><a href="https://social.example/@carol" class="u-url mention">'
    '@<span>carol</span></a></span> read <a href="https://blog.example/post?utm_source=mastodon"'
    ' rel="nofollow noopener" target="_blank">blog.example/post</a> '
    '<a href="https://social.example/tags/art" class="mention hashtag" rel="tag">#<span>art</span>'
    '</a> <a href="https://other.example/tags/x" rel="tag">#x</a> '
    '<a href="https://social.example/about">about</a> '
    '<a href="https://b.example/@bob/9">a reply</a> <a href="https://bit.ly/abc">short</a></p>'
)


def test_content_links_skip_mentions_and_hashtags():
    assert content_links(CONTENT) == ["https://blog.example/post?utm_source=mastodon",
                                      "https://social.example/about",
                                      "https://b.example/@bob/9", "https://bit.ly/abc"]


def test_targets_skip_the_instances_own_pages_the_authors_and_short_links():
    status = {"id": "5", "url": "https://b.example/@bob/5", "content": CONTENT,
              "card": {"url": "https://blog.example/post", "title": "A post"},
              "account": {"id": "8", "acct": "bob@b.example",
                          "uri": "https://b.example/ap/users/31"}}
    targets = status_targets(status, Viewer.of("social.example:1"))
    assert [(t.url, t.identity) for t in targets] == [
        ("https://blog.example/post", "url:https://blog.example/post"),
        ("https://b.example/@bob/5", "mastodon:b.example:31"),
    ]


def test_a_status_without_any_usable_url_is_not_an_activity():
    status = {"id": "5", "url": None, "uri": "tag:nothing", "content": "",
              "account": {"id": "8", "acct": "bob"}}
    assert favourite_activity(status, AS_NEIGHBOUR, NOW) is None


# -- explicit requests ------------------------------------------------------------------


def _reply(content: str, **extra: Any) -> dict:
    return {"id": "70", "in_reply_to_id": "60", "in_reply_to_account_id": "8",
            "created_at": "2026-08-01T12:00:00.000Z", "content": content, "reblog": None,
            "url": "https://social.example/@me/70", "tags": [], "mentions": [],
            "account": {"id": "1", "acct": "me"}, **extra}


ORIGINAL = {"id": "60", "url": "https://social.example/@bob/60", "content": "<p>a song</p>",
            "account": {"id": "8", "acct": "bob"}}
ME = Viewer.of("social.example:1", service="social.example:2",
               service_acct="flattr@social.example")


def test_a_flattr_reply_flattrs_the_status_it_answers():
    reply = _reply('<p>love it <a href="https://social.example/tags/flattr" '
                   'class="mention hashtag" rel="tag">#<span>Flattr</span></a></p>',
                   tags=[{"name": "flattr"}])
    assert is_explicit_request(reply, ME)
    assert explicit_originals([reply], ME) == ["60"]
    (activity,) = parse_statuses([reply], ME, NOW, ALL, {"60": ORIGINAL})
    assert activity.action == "explicit" and activity.external_id == "70"
    assert activity.occurred_at == datetime(2026, 8, 1, 12, tzinfo=UTC)
    assert [(t.url, t.identity) for t in activity.targets] == [
        ("https://social.example/@bob/60", "mastodon:social.example:8")]
    assert parse_statuses([reply], ME, NOW, ALL) == []  # the original was not read


def test_a_mention_of_the_service_is_a_request_and_the_service_is_never_flattred():
    reply = _reply("<p>@flattr this</p>", mentions=[{"id": "2", "acct": "flattr"}])
    assert is_explicit_request(reply, ME)
    assert not is_explicit_request(_reply("<p>nice</p>"), ME)
    assert not is_explicit_request({**_reply("<p>#flattr</p>"), "in_reply_to_id": None}, ME)
    services = {"id": "60", "url": "https://social.example/@flattr/60", "content": "",
                "account": {"id": "2", "acct": "flattr"}}
    assert parse_statuses([reply], ME, NOW, ALL, {"60": services}) == []
    assert favourite_activity(services, ME, NOW) is None


def test_the_parse_command_reads_favourites_through_the_registry(tmp_path, capsys):
    from commands.main import main

    page = tmp_path / "favourites.json"
    page.write_text(json.dumps([body("test_status_card.yaml", 1)]))
    assert main(["bots", "parse", "--network", "mastodon", "--endpoint", "favourites",
                 "--actor", "localhost:42", "--now", NOW.isoformat(), str(page)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert [t["url"] for t in json.loads(line)["targets"]][0] == "http://example.org/"
    assert main(["bots", "parse", "--network", "mastodon", "--endpoint", "statuses",
                 str(page)]) == 1  # bad input (README: exit 1)
    assert "HOST:ID" in capsys.readouterr().err
