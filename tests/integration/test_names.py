"""Names of network identities (core.names) and how the pages show them (web.names)."""

from __future__ import annotations

from datetime import UTC, datetime

from core import names
from core.activity import Activity, Target
from core.db import Database
from web.names import amount, link_text, who

NOW = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)


def _seen(held: str, name: str | None, handle: str | None, url: str = "https://x.com/i/status/1"
          ) -> Activity:
    return Activity(network="x", action="like", external_id=url, actor="twitter:1",
                    occurred_at=NOW, targets=(
                        Target(url="https://example.org/a", identity="url:https://example.org/a",
                               holder_name="a URL names itself"),
                        Target(url=url, identity=held, holder_name=name, holder_handle=handle)))


def test_the_store_step_keeps_what_the_networks_showed(db: Database) -> None:
    with db.unit_of_work() as session:
        assert names.remember(session, [_seen("twitter:800000001", "Creator\n1", "creator1"),
                                         _seen("facebook:page:6", "A Page", None)], now=NOW) == 2
    with db.unit_of_work() as session:  # a later sighting without a name keeps the name
        names.remember(session, [_seen("twitter:800000001", None, "maker1")], now=NOW)
        found = names.lookup(session, ["twitter:800000001", "facebook:page:6",
                                       "url:https://example.org/a", "twitter:2"])
    assert found == {"twitter:800000001": names.Name("Creator 1", "maker1"),
                     "facebook:page:6": names.Name("A Page", None)}


def test_pages_say_who_rather_than_which_id() -> None:
    known = {"twitter:800000001": names.Name("Creator 1", "creator1"),
             "facebook:page:6": names.Name("A Page", None),
             "mastodon:social.example:5": names.Name(None, "maker@social.example")}
    assert who("twitter:800000001", known) == "Creator 1 (@creator1 on X)"
    assert who("facebook:page:6", known) == "A Page (Facebook page)"
    assert who("mastodon:social.example:5", known) == "@maker@social.example on Mastodon"
    assert who("twitter:9", known) == "X user 9"
    assert who("url:https://example.org/blog/", known) == "https://example.org/blog/"
    assert link_text("https://x.com/i/status/5", None, "twitter:800000001", known) == \
        "a post by Creator 1 (@creator1 on X)"
    assert link_text("https://example.org/a", "A title", None, known) == "A title"
    assert amount(31, "EUR") == "€0.31"
