"""Issue 10, Facebook: defect classes 6 to 8 against bodies the real Graph API sent (or its
documentation shows); see tests/fixtures/real/PROVENANCE.md."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bots.base import LinkedAccount
from bots.facebook.adapter import FacebookNetwork
from bots.facebook.parse import (
    TRANSIENT_RETRY_LIMIT,
    classify,
    classify_error,
    parse_posts,
    users_to_poll,
)
from tests.bots.conftest import replay_session

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "facebook"
NOW = datetime(2025, 3, 1, tzinfo=UTC)


def body(name: str) -> dict:
    return json.loads((REAL / name).read_text())


def shares(name: str) -> dict[str, str]:
    return {a.external_id: a.targets[0].url for a in parse_posts(body(name), "7", NOW)}


# -- class 6: errors ---------------------------------------------------------------------


def test_an_oauth_exception_without_code_refused_as_unauthenticated_is_a_dead_token():
    recorded = body("reconstructed_oauth_exception_without_code_http403.json")
    error = recorded["body"]
    assert "code" not in error["error"]
    found = classify(
        error,
        http_status=recorded["status"],
        www_authenticate=recorded["headers"]["WWW-Authenticate"],
    )
    assert found.status == "needs_reconnect" and found.retry_limit == 0
    # the status and header alone are enough, whatever the message says
    vague = {"error": {"message": "Unknown", "type": "OAuthException"}}
    assert classify_error(vague, http_status=403)[0] == "needs_reconnect"
    assert classify_error(vague, www_authenticate=recorded["headers"]["WWW-Authenticate"])[0] == (
        "needs_reconnect"
    )
    assert classify_error(vague)[0] == "error"


def test_a_dead_token_without_code_through_facebook_sdk_needs_reconnect():
    recorded = body("reconstructed_oauth_exception_without_code_http403.json")
    raw = json.dumps(recorded["body"]).encode()
    session, _ = replay_session(raw, 403, recorded["headers"])
    network = FacebookNetwork(session=session)
    account = LinkedAccount("facebook", "7", "dead-token")
    cursor = network.fetch_activity(account, None, NOW).cursor
    cursor["likes"]["due"] = cursor["posts"]["due"] = None
    result = network.fetch_activity(account, cursor, NOW)
    assert result.status == "needs_reconnect" and result.activities == []


def test_an_oauth_exception_without_code_that_says_code_1_is_retried_not_a_dead_token():
    found = classify(body("oauth_exception_without_code_unknown_error.json"))
    assert (found.status, found.code, found.retry_limit) == ("retry", 1, TRANSIENT_RETRY_LIMIT)


@pytest.mark.parametrize(("name", "code"), [
    ("error_code1_unknown_http500.json", 1),
    ("reconstructed_error_code1_not_transient.json", 1),
    ("error_code2_transient.json", 2),
])
def test_unknown_and_service_errors_are_retried_a_bounded_number_of_times(name: str, code: int):
    found = classify(body(name), http_status=500)
    assert (found.status, found.code) == ("retry", code)
    assert found.retry_limit == TRANSIENT_RETRY_LIMIT > 0
    assert f"at most {TRANSIENT_RETRY_LIMIT} times" in found.message


def test_is_transient_false_says_why_it_is_not_retried_for_ever():
    code_1 = classify(body("reconstructed_error_code1_not_transient.json"))
    assert code_1.transient is False and "not transient" in code_1.message
    other = classify(body("error_is_transient_false_5227.json"))
    assert (other.status, other.retry_limit, other.subcode) == ("error", 0, 2078073)


def test_is_transient_true_on_other_codes_is_retried_with_backoff():
    error = {"error": {"message": "Temporary", "type": "OAuthException", "code": 9999,
                       "is_transient": True}}
    found = classify(error)
    assert (found.status, found.retry_limit) == ("retry", None)


# -- class 7: the link a post shares -----------------------------------------------------


def test_an_album_of_photos_shares_nothing_and_shared_links_are_read_from_wrappers():
    found = shares("group_feed_2024_album_and_shares.json")
    assert found == {
        "1777766135578951_7530611690294338": "https://www.youtube.com/watch?v=vYYVLldxp5I",
        "1777766135578951_7529607487061425": "https://github.com/chenrensong/PuppeteerAot",
    }  # the album, the photo and the text-only post yield nothing


def test_carousels_and_app_created_stories_yield_the_shared_outside_link():
    found = shares("reconstructed_carousel_and_app_story.json")
    assert found == {
        # the first card of the carousel, without its utm_ parameters
        "100044_20001": "https://example-recipes.org/2024/05/lentil-soup",
        # an app's story whose outside link is only in target.url
        "100044_20002": "https://example-magazine.org/2023/02/why-we-pay-writers",
    }  # the album of photos yields nothing


def test_a_carousel_read_only_through_child_attachments_yields_its_first_card():
    post = body("reconstructed_carousel_and_app_story.json")["data"][0]
    del post["attachments"]
    (activity,) = parse_posts({"data": [post]}, "7", NOW)
    assert activity.targets[0].url == "https://example-recipes.org/2024/05/lentil-soup"
    assert activity.targets[0].title == "Lentil soup"


def test_old_app_shares_yield_their_link_but_never_a_short_link_or_an_apps_action():
    found = shares("feed_2012_app_stories.json")
    assert found == {
        "658009908_385811558163608": (
            "http://www.midilibre.fr/2012/11/09/la-ou-ils-payaient-385-eur-on-leur-reclame-2-546-eur,"
            "591640.php"
        ),
    }  # MailChimp's eepurl.com short link and Spotify's story without a link yield nothing


# -- class 8: user webhooks --------------------------------------------------------------


def test_a_change_to_a_field_that_means_nothing_to_us_schedules_nothing():
    assert users_to_poll(body("webhook_user_changes_photos_docs.json")) == []


def test_feed_and_likes_changes_in_the_current_shape_make_the_person_due():
    found = users_to_poll(body("reconstructed_webhook_user_changes_email_feed_likes.json"))
    assert found == ["620448186", "620448187"]  # the email change schedules nothing
