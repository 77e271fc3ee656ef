"""Shared fixtures: the recorded responses folder, a sandbox, and an oracle that says which
activities a scenario must yield."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from bots.sandbox import SandboxServer, generate_scenario, start_sandbox

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    return Path(os.environ.get("FLATTR_SHARED_DIR") or REPO.parent / "shared")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    folder = shared_dir() / "fixtures"
    if not folder.is_dir():
        pytest.skip(f"recorded fixtures not found at {folder} (set FLATTR_SHARED_DIR)")
    return folder


@pytest.fixture
def small_scenario() -> dict:
    return generate_scenario(3, days=6, seed=11)


@pytest.fixture
def sandbox(small_scenario: dict) -> Iterator[SandboxServer]:
    with start_sandbox(small_scenario) as server:
        yield server


class ReplayAdapter(HTTPAdapter):
    """A transport that answers every request with one recorded body: lets the real
    tweepy/facebook-sdk clients parse recorded responses without a server or mocks."""

    def __init__(self, body: bytes, status: int = 200, headers: dict[str, str] | None = None):
        super().__init__()
        self.body, self.status = body, status
        self.headers = headers if headers is not None else {"Content-Type": "application/json"}
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def, override]
        self.requests.append(request)
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        response.headers.update(self.headers)
        response.url = request.url
        response.request = request
        response.reason = "OK" if self.status < 400 else "Error"
        for hook in (request.hooks or {}).get("response", []):
            hook(response)
        return response


def replay_session(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> tuple[requests.Session, ReplayAdapter]:
    session = requests.Session()
    adapter = ReplayAdapter(body, status, headers)
    session.mount("https://", adapter)
    return session, adapter


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def expected_x(
    scenario: dict,
    person: dict,
    triggers: frozenset[str],
    connected: datetime,
    until: datetime,
    handle: str = "flattrbot",
) -> set[tuple[str, str]]:
    """(action, external_id) the X adapter must find between connecting and `until`."""
    me = person["x"]["user_id"]
    posts = {p["id"]: p for p in scenario["x_posts"]}
    found: set[tuple[str, str]] = set()
    if "likes" in triggers:
        for like in scenario["x_likes"]:
            post = posts[like["post_id"]]
            if (
                like["user_id"] == me
                and connected < _at(like["at"]) <= until
                and post["author_id"] != me
                and not post.get("deleted")
            ):
                found.add(("like", post["id"]))
    for post in scenario["x_posts"]:
        ref = post.get("referenced") or {}
        if post["author_id"] != me or not ref or not connected < _at(post["at"]) <= until:
            continue
        original = posts.get(ref["id"])
        if original is None or original["author_id"] == me or original.get("deleted"):
            continue
        text = post["text"].lower()
        explicit = "#flattr" in text or f"@{handle}" in text
        if ref["type"] == "retweeted":
            action = "repost" if "reposts" in triggers else None
        elif explicit:
            action = "explicit"
        elif ref["type"] == "quoted":
            action = "quote" if "reposts" in triggers else None
        else:
            action = None
        if action:
            found.add((action, post["id"]))
    return found


def expected_facebook(
    scenario: dict, person: dict, connected: datetime, until: datetime
) -> set[tuple[str, str]]:
    me = person["facebook"]["user_id"]
    found = {
        ("page_like", like["page_id"])
        for like in scenario["facebook_page_likes"]
        if like["user_id"] == me and connected < _at(like["at"]) <= until
    }
    found |= {
        ("share", post["id"])
        for post in scenario["facebook_posts"]
        if post["user_id"] == me and post.get("link") and connected < _at(post["at"]) <= until
    }
    return found


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())
