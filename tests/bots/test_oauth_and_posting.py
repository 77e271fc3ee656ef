"""OAuth through tweepy's OAuth2UserHandler and facebook-sdk against the sandbox, and the
notifications each adapter sends."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import facebook
import pytest
import requests
import tweepy

from bots.base import LinkedAccount, OutgoingMessage
from bots.facebook.adapter import FacebookNetwork
from bots.sandbox import SandboxServer
from bots.transport import mount, new_session
from bots.x.adapter import XNetwork

CALLBACK = "https://flattr.example/callback"


def approve(browser: requests.Session, authorize_url: str, user_id: str) -> str:
    """Play the person: open the approve page, pick the account, press Authorize."""
    page = browser.get(authorize_url, timeout=5)
    assert page.status_code == 200 and "Authorize" in page.text
    action = re.search(r'action="([^"]+)"', page.text).group(1)
    hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    answer = browser.get(
        urlsplit(authorize_url)._replace(path=action, query="").geturl(),
        params={**hidden, "user_id": user_id, "decision": "approve"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    return answer.headers["Location"]


def test_x_oauth2_pkce_and_rotating_refresh(sandbox: SandboxServer, small_scenario, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    person = small_scenario["people"][0]
    handler = tweepy.OAuth2UserHandler(
        client_id="client",
        redirect_uri=CALLBACK,
        scope=["tweet.read", "users.read", "like.read", "offline.access"],
    )
    mount(handler, sandbox.base_url)
    authorize_url = handler.get_authorization_url()
    assert authorize_url.startswith("https://twitter.com/i/oauth2/authorize?")
    location = approve(new_session(sandbox.base_url), authorize_url, person["x"]["user_id"])
    assert location.startswith(CALLBACK) and "code=" in location
    token = handler.fetch_token(location)
    assert token["expires_in"] == 7200 and token["refresh_token"]
    client = XNetwork(api_base_url=sandbox.base_url).client(token["access_token"])
    assert client.get_me(user_auth=False).json()["data"]["id"] == person["x"]["user_id"]
    refreshed = handler.refresh_token(
        "https://api.twitter.com/2/oauth2/token",
        refresh_token=token["refresh_token"],
        client_id="client",
    )
    assert refreshed["refresh_token"] != token["refresh_token"]
    with pytest.raises(Exception, match="invalid"):
        handler.refresh_token(
            "https://api.twitter.com/2/oauth2/token",
            refresh_token=token["refresh_token"],
            client_id="client",
        )


def test_x_token_endpoint_checks_the_pkce_verifier(sandbox: SandboxServer, small_scenario):
    person = small_scenario["people"][0]
    handler = tweepy.OAuth2UserHandler(client_id="c", redirect_uri=CALLBACK, scope=["tweet.read"])
    mount(handler, sandbox.base_url)
    location = approve(
        new_session(sandbox.base_url), handler.get_authorization_url(), person["x"]["user_id"]
    )
    code = parse_qs(urlsplit(location).query)["code"][0]
    answer = requests.post(
        sandbox.base_url + "/2/oauth2/token",
        timeout=5,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": "wrong",
            "client_id": "c",
        },
    )
    assert answer.status_code == 400 and "code_verifier" in answer.text


def test_x_answers_400_not_a_crash_to_a_non_ascii_verifier_challenge_or_state(
        sandbox: SandboxServer, small_scenario):
    user_id = small_scenario["people"][0]["x"]["user_id"]
    query = {"response_type": "code", "client_id": "c", "redirect_uri": CALLBACK,
             "state": "s" * 20, "code_challenge": "v" * 43, "code_challenge_method": "plain"}
    for bad in ({"state": "état-1234"}, {"code_challenge": "é" * 43}):
        page = requests.get(sandbox.base_url + "/i/oauth2/authorize", params={**query, **bad},
                            timeout=5)
        assert page.status_code == 400
    for verifier in ("é" * 43, "v" * 43 + "ü", "v" * 129):
        back = requests.get(sandbox.base_url + "/i/oauth2/authorize/approve",
                            params={**query, "decision": "approve", "user_id": user_id},
                            allow_redirects=False, timeout=5)
        code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
        answer = requests.post(sandbox.base_url + "/2/oauth2/token", timeout=5, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "code_verifier": verifier, "client_id": "c"})
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_facebook_login_exchange_and_debug_token(sandbox: SandboxServer, small_scenario):
    person = small_scenario["people"][1]
    graph = facebook.GraphAPI(session=new_session(sandbox.base_url))
    graph.version = "v22.0"
    url = graph.get_auth_url("app", CALLBACK, perms=["user_likes", "user_posts"], state="s1")
    location = approve(new_session(sandbox.base_url), url, person["facebook"]["user_id"])
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["s1"]
    short = graph.get_access_token_from_code(query["code"][0], CALLBACK, "app", "secret")
    assert short["expires_in"] == 7200
    user_graph = facebook.GraphAPI(short["access_token"], session=new_session(sandbox.base_url))
    user_graph.version = "v22.0"
    assert user_graph.get_object("me")["id"] == person["facebook"]["user_id"]
    long = user_graph.extend_access_token("app", "secret")
    assert int(long["expires_in"]) == 60 * 86400
    info = graph.debug_access_token(long["access_token"], "app", "secret")["data"]
    assert info["is_valid"] and info["user_id"] == person["facebook"]["user_id"]
    assert "user_likes" in info["scopes"]


def test_x_notifications_reply_and_dm(sandbox: SandboxServer, small_scenario):
    service = small_scenario["service"]
    sender = LinkedAccount("x", service["x_user_id"], service["x_token"], service["x_handle"])
    network = XNetwork(api_base_url=sandbox.base_url)
    reply = network.post(
        OutgoingMessage("x_reply", "800000000", "Thanks, flattred!", "123"), sender
    )
    dm = network.post(OutgoingMessage("x_dm", "800000000", "You were flattred"), sender)
    assert reply.ok and dm.ok and reply.external_id and dm.external_id
    sent = sandbox.sent_messages()
    assert [(m["channel"], m.get("in_reply_to")) for m in sent] == [
        ("x_reply", "123"),
        ("x_dm", None),
    ]
    sandbox.add_fault("status", path="/2/tweets", status=503, times=1)
    failed = network.post(OutgoingMessage("x_mention", "800000000", "@creator0 hi"), sender)
    assert not failed.ok and failed.retryable
    sandbox.revoke_token(service["x_token"])
    refused = network.post(OutgoingMessage("x_dm", "800000000", "hi"), sender)
    assert not refused.ok and not refused.retryable


def test_facebook_page_post(sandbox: SandboxServer, small_scenario):
    service = small_scenario["service"]
    page = LinkedAccount("facebook", service["facebook_page_id"], service["facebook_page_token"])
    network = FacebookNetwork(api_base_url=sandbox.base_url)
    result = network.post(
        OutgoingMessage(
            "facebook_page_post", service["facebook_page_id"], "This month we flattred 12 creators"
        ),
        page,
    )
    assert result.ok and result.external_id.startswith(service["facebook_page_id"] + "_")
    assert sandbox.sent_messages()[-1]["channel"] == "facebook_page_post"
    person = small_scenario["people"][0]
    as_person = LinkedAccount("facebook", "x", person["facebook"]["token"])
    refused = network.post(
        OutgoingMessage("facebook_page_post", service["facebook_page_id"], "hi"), as_person
    )
    assert not refused.ok and not refused.retryable
