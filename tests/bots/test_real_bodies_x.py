"""Issue 10, X: each defect class against bodies the real X API sent (or its documentation
shows); see tests/fixtures/real/PROVENANCE.md for where each one comes from."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bots.base import LinkedAccount
from bots.x.adapter import XNetwork
from bots.x.parse import (
    MalformedResponse,
    WebhookAction,
    check_page,
    is_explicit_request,
    parse_liked_tweets,
    parse_users_tweets,
    post_targets,
    webhook_actions,
)
from tests.bots.conftest import replay_session

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "x"
NOW = datetime(2025, 3, 1, tzinfo=UTC)
ALL = frozenset({"likes", "reposts", "explicit"})


def body(name: str) -> dict:
    return json.loads((REAL / name).read_text())


def page(name: str) -> dict:
    """A body as a page: single-post bodies (filtered stream, lookup) get a data list."""
    found = body(name)
    if isinstance(found.get("data"), dict):
        found = {**found, "data": [found["data"]]}
    return found


def links(activity) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.url for t in activity.targets[:-1]]


# -- class 1: X's own pages are never creations -------------------------------------------


def test_withheld_posts_and_placeholders_flattr_the_post_never_xs_help_page():
    activities = parse_liked_tweets(page("reconstructed_withheld_and_media_policy.json"), "9", NOW)
    assert len(activities) == 3
    for activity in activities:
        (target,) = activity.targets
        assert target.url.startswith("https://x.com/i/status/")
        assert target.identity.startswith("twitter:")


def test_links_to_x_posts_media_and_developer_pages_are_not_creations():
    quotes = page("docs_users_tweets_replies_quotes_partial_errors.json")
    targets = [post_targets(p) for p in quotes["data"] + quotes["includes"]["tweets"]]
    all_links = [t.url for ts in targets for t in ts[:-1]]
    assert "http://twitch.tv/twitterdev" in all_links  # an outside page stays
    assert not any("twitter.com" in u or "x.com" in u for u in all_links)
    photos = post_targets(page("bit_ly_unwound_and_photo_links.json")["data"][0])
    assert [t.url for t in photos] == [
        "https://best-trading-indicator.com/pages/trial",
        "https://x.com/i/status/1414522447882342401",
    ]


# -- class 2: the link a URL entity stands for -------------------------------------------


def test_a_short_link_is_read_through_its_unwound_url():
    (activity,) = parse_liked_tweets(page("bit_ly_unwound_and_photo_links.json"), "9", NOW)
    assert links(activity) == ["https://best-trading-indicator.com/pages/trial"]
    assert activity.targets[0].title == "Request Your Trial"


def test_an_unwound_url_less_specific_than_the_link_or_failed_is_never_taken():
    activities = parse_liked_tweets(page("reconstructed_unwound_less_specific.json"), "9", NOW)
    by_post = {a.external_id: links(a) for a in activities}
    # an Instagram post is paid to the post, not to the profile the crawler ended on
    assert by_post["1510000000000000021"] == ["https://www.instagram.com/p/CbX3z9LMq7w/"]
    assert by_post["1510000000000000022"] == []  # unwound to Instagram's sign-in page
    assert by_post["1510000000000000023"] == []  # unwinding ended in a 404
    assert by_post["1510000000000000024"] == []  # unwound to a newspaper's front page


def test_a_profile_link_stays_what_the_person_posted():
    (activity,) = parse_liked_tweets(page("instagram_profile_link.json"), "9", NOW)
    assert links(activity) == ["https://www.instagram.com/seriko_is_no.1/"]


# -- class 3: one creation, one identity -------------------------------------------------


def test_a_youtube_video_has_one_identity_whether_shared_short_or_long():
    activities = parse_liked_tweets(page("gettweets_youtu_be_and_pic_link.json"), "9", NOW)
    video, reply = activities
    assert links(video) == ["https://www.youtube.com/watch?v=MCwJfETgiVo"]
    assert video.targets[0].identity == "url:https://www.youtube.com/watch?v=MCwJfETgiVo"
    assert links(reply) == []  # its only link is its own photo
    other = body("reagent_reply_youtu_be.json")["data"]
    long_form = {**other, "entities": {"urls": [{
        "expanded_url": other["entities"]["urls"][0]["unwound_url"]}]}}
    assert links_of(other) == links_of(long_form) == [
        "https://www.youtube.com/watch?v=Sqt3LZy0lyk"
    ]


def links_of(post: dict) -> list[str]:
    return [t.url for t in post_targets(post)[:-1]]


def test_short_links_that_cannot_be_unwound_are_no_ones_identity():
    short = page("reconstructed_short_links_without_unwound.json")
    activities = parse_liked_tweets(short, "9", NOW)
    assert len(activities) == 3
    for activity in activities:
        assert links(activity) == []
        assert activity.targets[-1].identity.startswith("twitter:")


def test_share_tracking_is_dropped_from_a_posted_link():
    post = page("reconstructed_unwound_less_specific.json")["data"][0]
    assert "igshid" in post["entities"]["urls"][0]["expanded_url"]
    assert links_of(post) == ["https://www.instagram.com/p/CbX3z9LMq7w/"]


def test_links_only_in_a_long_post_and_several_edit_ids_are_read():
    timeline = page("reconstructed_note_tweet_and_several_references.json")
    long_post = timeline["data"][0]
    assert len(long_post["edit_history_tweet_ids"]) == 2
    assert links_of(long_post) == ["https://example-magazine.org/2023/02/why-we-pay-writers"]
    assert is_explicit_request(long_post, None)  # #flattr is only in note_tweet
    two_ids = page("docs_edit_history_two_ids.json")
    (post,) = check_page(two_ids)[0]
    assert [a.external_id for a in parse_liked_tweets(two_ids, "9", NOW)] == [post["id"]]


# -- class 4: the reply prefix, and the service's own account ----------------------------


def test_mentions_in_the_reply_prefix_are_not_a_request():
    docs = page("docs_users_tweets_replies_quotes_partial_errors.json")
    reply = next(p for p in docs["data"] if p["id"] == "1372625612460810242")
    assert reply["text"].startswith("@geet_qcp @suhemparack")  # no display_text_range
    assert not is_explicit_request(reply, "suhemparack")
    assert not is_explicit_request(reply, "geet_qcp")
    ranged = page("reconstructed_reply_display_text_range.json")["data"][0]
    assert ranged["display_text_range"] == [16, 55]
    assert not is_explicit_request(ranged, "TravisMayfield")
    assert not is_explicit_request(ranged, None, service_id="23519114")
    assert parse_users_tweets(
        page("reconstructed_reply_display_text_range.json"), "3065115373", NOW, ALL,
        "TravisMayfield",
    ) == []


def test_a_mention_in_what_the_person_wrote_is_a_request():
    mention = body("xaa_post_mention_create.json")["data"]["payload"]
    assert mention["display_text_range"] == [0, 16]
    assert is_explicit_request(mention, "ExampleUser")
    assert is_explicit_request(mention, None, service_id="1111111111111111111")
    assert not is_explicit_request(mention, "SomeoneElse")


def test_the_services_own_account_is_never_flattred():
    timeline = page("reconstructed_note_tweet_and_several_references.json")
    anyone = parse_users_tweets(timeline, "6001", NOW, ALL, "flattrbot")
    assert [(a.action, a.targets[-1].identity) for a in anyone] == [
        ("explicit", "twitter:6002"), ("explicit", "twitter:6002"), ("repost", "twitter:6002"),
    ]
    # when example_writer is the service's account, replying to it or quoting it pays no one
    assert parse_users_tweets(timeline, "6001", NOW, ALL, "example_writer") == []
    assert parse_users_tweets(timeline, "6001", NOW, ALL, None, service_id="6002") == []
    likes = page("gettweets_youtu_be_and_pic_link.json")
    assert parse_liked_tweets(likes, "9", NOW, service_id="16371518") == []


# -- class 5: error bodies are errors ----------------------------------------------------


@pytest.mark.parametrize("name", [
    "problem_usage_capped_429.json",
    "problem_client_forbidden_403.json",
    "problem_invalid_request_400.json",
    "reconstructed_errors_without_data.json",
])
def test_a_problem_body_is_an_error_not_an_empty_page(name: str):
    with pytest.raises(MalformedResponse, match="error"):
        check_page(body(name))
    with pytest.raises(MalformedResponse):
        parse_users_tweets(body(name), "1", NOW, ALL)


def test_partial_errors_that_come_with_data_still_parse():
    docs = page("docs_users_tweets_replies_quotes_partial_errors.json")
    posts, included = check_page(docs)
    assert len(posts) == 4 and len(docs["errors"]) == 3 and len(included) == 3
    found = parse_users_tweets(docs, "15772978", NOW, ALL)
    # three quotes; the reply's original is the deleted post named in `errors`
    assert [a.action for a in found] == ["quote", "quote", "quote"]


def test_a_problem_body_is_no_response_to_bots_parse_exit_2(tmp_path: Path, capsys):
    from commands.bots import run_parse

    path = tmp_path / "capped.json"
    path.write_text((REAL / "problem_usage_capped_429.json").read_text())
    for endpoint in ("users_tweets", "liked_tweets"):
        args = type("Args", (), {"network": "x", "endpoint": endpoint, "actor": "1",
                                 "triggers": "likes,reposts,explicit", "handle": None,
                                 "file": path, "now": "2025-03-01T00:00:00+00:00"})()
        assert run_parse(args) == 2  # not a response of that endpoint (README)
        assert "UsageCapExceeded" in capsys.readouterr().err


def test_a_poll_that_gets_a_problem_body_records_an_error():
    raw = (REAL / "problem_client_forbidden_403.json").read_bytes()
    session, _ = replay_session(raw, 200, {"Content-Type": "application/problem+json"})
    network = XNetwork(triggers=ALL, session=session)
    result = network.fetch_activity(LinkedAccount("x", "783214", "token"), None, NOW)
    assert result.status == "error" and "Client Forbidden" in (result.error or "")
    assert result.activities == []


# -- class 8: X webhooks -----------------------------------------------------------------


def test_account_activity_revoke_marks_the_user_for_reconnect():
    assert webhook_actions(body("aaa_user_event_revoke.json")) == [
        WebhookAction("revoke", "63046977")
    ]


def test_x_activity_api_revoke_marks_the_user_for_reconnect():
    assert webhook_actions(body("xaa_oauth_revoke.json")) == [
        WebhookAction("revoke", "1111111111111111111")
    ]


def test_likes_make_the_liker_due():
    assert webhook_actions(body("xaa_like_create.json")) == [
        WebhookAction("poll", "1111111111111111111")
    ]
    assert webhook_actions(body("aaa_favorite_events.json")) == [
        WebhookAction("poll", "2244994945")
    ]


def test_events_we_do_not_use_schedule_nothing():
    inbound = body("xaa_like_create.json")
    inbound["data"]["filter"] = {"user_id": "3333333333333333333", "direction": "inbound"}
    liked_by_someone_else = body("aaa_favorite_events.json")
    liked_by_someone_else["favorite_events"][0]["user"]["id_str"] = "15772978"
    for event in (inbound, liked_by_someone_else, body("xaa_post_mention_create.json"),
                  {"for_user_id": "1", "follow_events": []}, {}, [], "x", None):
        assert webhook_actions(event) == []
