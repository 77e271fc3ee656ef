"""The sandbox's state: a scenario (people, posts, likes, Pages, shares, each appearing at
its `at` time), a clock the caller drives, tokens, rate-limit counters and a log of sent
messages. Handlers read it under one lock; nothing here speaks HTTP."""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bots.sandbox.clock import LivingClock
from bots.x.ids import snowflake_at

_MENTION = re.compile(r"(?<!\w)@([A-Za-z0-9_]{1,15})")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")


def references(post: dict) -> list[dict]:
    """A scenario post's references, `referenced` being one {type, id} or a list of them
    (a reply that quotes has two)."""
    ref = post.get("referenced")
    listed = ref if isinstance(ref, list) else [ref]
    return [r for r in listed if isinstance(r, dict) and r.get("id")]


def parse_at(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Grant:
    """What a token stands for."""

    token: str
    network: str  # 'x' | 'facebook'
    user_id: str
    kind: str = "user"  # 'user' | 'page' | 'app'
    scopes: tuple[str, ...] = ()
    expires_at: datetime | None = None
    revoked: bool = False


@dataclass
class RateWindow:
    started: datetime
    used: int = 0


@dataclass
class World:
    now: datetime
    service: dict[str, Any] = field(default_factory=dict)
    x_users: dict[str, dict] = field(default_factory=dict)
    x_posts: dict[str, dict] = field(default_factory=dict)
    x_likes: dict[str, list[tuple[datetime, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    x_timeline: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    fb_users: dict[str, dict] = field(default_factory=dict)
    fb_pages: dict[str, dict] = field(default_factory=dict)
    fb_likes: dict[str, list[tuple[datetime, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    fb_posts: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    people: list[dict] = field(default_factory=list)
    grants: dict[str, Grant] = field(default_factory=dict)
    sent: list[dict] = field(default_factory=list)
    windows: dict[tuple[str, str], RateWindow] = field(default_factory=dict)
    requests_by_route: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    pending_codes: dict[str, dict] = field(default_factory=dict)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    # (network, user id) of everyone who authorized the app through an OAuth flow here:
    # whom the networks' webhooks report on (SandboxHandler.pushes).
    subscribed: set[tuple[str, str]] = field(default_factory=set)
    # Faults the scenario switches on from the start (bots.sandbox.faults.Fault options).
    faults: list[dict] = field(default_factory=list)
    clock: Callable[[], datetime] | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    # The scenario as loaded, and each network's own state built from it (a network whose
    # data is not above keeps it here, under its name: bots/<network>/sandbox*.py).
    scenario: dict[str, Any] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)

    # -- clock -----------------------------------------------------------------------------

    def current_time(self) -> datetime:
        return parse_at(self.clock()) if self.clock else self.now

    def set_now(self, moment: datetime | str) -> None:
        with self.lock:
            if isinstance(self.clock, LivingClock):  # shared with the app: move it for both
                self.clock.jump_to(parse_at(moment))
                return
            self.clock = None
            self.now = parse_at(moment)

    def advance(self, delta: timedelta) -> datetime:
        with self.lock:
            if isinstance(self.clock, LivingClock):
                return self.clock.advance(delta)
            self.now = self.current_time() + delta
            self.clock = None
            return self.now

    # -- tokens ----------------------------------------------------------------------------

    def grant_for(self, token: str | None, network: str) -> Grant | None:
        """The live grant for a token, or None (unknown, revoked, expired, other network)."""
        grant = self.grants.get(token or "")
        if grant is None or grant.network != network or grant.revoked:
            return None
        if grant.expires_at is not None and grant.expires_at <= self.current_time():
            return None
        return grant

    def issue_token(
        self,
        network: str,
        user_id: str,
        *,
        kind: str = "user",
        scopes: tuple[str, ...] = (),
        lifetime: timedelta | None = None,
    ) -> Grant:
        prefix = "x" if network == "x" else "EAAB"
        token = f"{prefix}-{secrets.token_urlsafe(24)}"
        expires = self.current_time() + lifetime if lifetime else None
        grant = Grant(token, network, user_id, kind, scopes, expires)
        with self.lock:
            self.grants[token] = grant
            if kind == "user":
                self.subscribed.add((network, user_id))
        return grant

    def subscribers(self, network: str) -> list[str]:
        with self.lock:
            return sorted(user for name, user in self.subscribed if name == network)

    def revoke(self, token: str) -> None:
        with self.lock:
            if token in self.grants:
                self.grants[token].revoked = True

    # -- rate limits -----------------------------------------------------------------------

    def count_request(
        self, subject: str, route: str, limit: int, window: timedelta
    ) -> tuple[int, int, datetime]:
        """Count one request; (limit, remaining, reset time). remaining < 0: over the limit."""
        now = self.current_time()
        with self.lock:
            self.requests_by_route[route] += 1
            key = (subject, route)
            current = self.windows.get(key)
            if current is None or now >= current.started + window:
                current = self.windows[key] = RateWindow(started=now)
            current.used += 1
            return limit, limit - current.used, current.started + window

    def record_sent(self, **message: Any) -> dict:
        with self.lock:
            entry = {"at": self.current_time().isoformat(), **message}
            self.sent.append(entry)
            return entry

    # -- X ---------------------------------------------------------------------------------

    def add_x_post(self, spec: dict) -> dict:
        post = dict(spec)
        post["id"] = str(post["id"])
        post["author_id"] = str(post["author_id"])
        post["at"] = parse_at(post["at"])
        post.setdefault("text", "")
        with self.lock:
            self.x_posts[post["id"]] = post
            timeline = self.x_timeline[post["author_id"]]
            timeline.append(post["id"])
            timeline.sort(key=int, reverse=True)
        return post

    def visible_x_post(self, post_id: str) -> dict | None:
        post = self.x_posts.get(post_id)
        if post is None or post.get("deleted") or post["at"] > self.current_time():
            return None
        return post

    def mentions(self, text: str) -> list[dict]:
        by_name = {u["username"].lower(): u for u in self.x_users.values()}
        found = []
        for match in _MENTION.finditer(text):
            user = by_name.get(match.group(1).lower())
            mention = {"start": match.start(), "end": match.end(), "username": match.group(1)}
            if user:
                mention["id"] = user["id"]
            found.append(mention)
        return found

    @staticmethod
    def hashtags(text: str) -> list[dict]:
        return [
            {"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in _HASHTAG.finditer(text)
        ]

    def next_snowflake(self) -> str:
        """A new post id from the clock, as X's snowflakes are (milliseconds since X's
        epoch, shifted 22 bits), +1 until free. Never "highest id + 1": a scenario's posts
        dated later would put the new post after them, and a since_id past them."""
        with self.lock:
            candidate = snowflake_at(self.current_time())
            while str(candidate) in self.x_posts:
                candidate += 1
            return str(candidate)


def load_world(scenario: dict | str | Path, clock: Callable[[], datetime] | None = None) -> World:
    """Build the world from a scenario dict, JSON text, or a path to a JSON file."""
    if isinstance(scenario, Path) or (
        isinstance(scenario, str) and not scenario.lstrip().startswith("{")
    ):
        scenario = json.loads(Path(scenario).read_text())
    elif isinstance(scenario, str):
        scenario = json.loads(scenario)
    assert isinstance(scenario, dict)
    world = World(now=parse_at(scenario.get("start", "2025-01-01T00:00:00+00:00")), clock=clock)
    world.scenario = scenario
    world.service = dict(scenario.get("service", {}))
    world.faults = [dict(f) for f in scenario.get("faults", [])]
    for user in scenario.get("x_users", []):
        world.x_users[str(user["id"])] = {
            "id": str(user["id"]),
            "username": user["username"],
            "name": user.get("name", user["username"]),
        }
    for user in scenario.get("facebook_users", []):
        world.fb_users[str(user["id"])] = {"id": str(user["id"]), "name": user.get("name", "")}
    for person in scenario.get("people", []):
        world.people.append(person)
        if "x" in person:
            x = person["x"]
            world.x_users.setdefault(
                str(x["user_id"]),
                {
                    "id": str(x["user_id"]),
                    "username": x.get("username", person["key"]),
                    "name": person.get("name", person["key"]),
                },
            )
            if x.get("token"):
                world.grants[x["token"]] = Grant(
                    x["token"],
                    "x",
                    str(x["user_id"]),
                    scopes=(
                        "tweet.read",
                        "users.read",
                        "like.read",
                        "tweet.write",
                        "dm.write",
                        "offline.access",
                    ),
                )
        if "facebook" in person:
            fb = person["facebook"]
            world.fb_users.setdefault(
                str(fb["user_id"]),
                {"id": str(fb["user_id"]), "name": person.get("name", person["key"])},
            )
            if fb.get("token"):
                world.grants[fb["token"]] = Grant(
                    fb["token"],
                    "facebook",
                    str(fb["user_id"]),
                    scopes=("public_profile", "user_likes", "user_posts"),
                )
    service = world.service
    if service.get("x_user_id"):
        world.x_users.setdefault(
            str(service["x_user_id"]),
            {
                "id": str(service["x_user_id"]),
                "username": service.get("x_handle", "flattr"),
                "name": "Flattr",
            },
        )
        if service.get("x_token"):
            world.grants[service["x_token"]] = Grant(
                service["x_token"],
                "x",
                str(service["x_user_id"]),
                scopes=("tweet.write", "dm.write"),
            )
    if service.get("x_app_token"):  # the app's own (app-only) bearer token: search, mentions
        world.grants[service["x_app_token"]] = Grant(service["x_app_token"], "x", "app", "app")
    if service.get("facebook_page_token") and service.get("facebook_page_id"):
        world.grants[service["facebook_page_token"]] = Grant(
            service["facebook_page_token"], "facebook", str(service["facebook_page_id"]), "page"
        )
    for page in scenario.get("facebook_pages", []):
        managers = [str(m) for m in page.get("managers", [])]
        world.fb_pages[str(page["id"])] = {**page, "id": str(page["id"]), "managers": managers}
    for post in scenario.get("x_posts", []):
        world.add_x_post(post)
    for like in scenario.get("x_likes", []):
        world.x_likes[str(like["user_id"])].append((parse_at(like["at"]), str(like["post_id"])))
    for like in scenario.get("facebook_page_likes", []):
        world.fb_likes[str(like["user_id"])].append((parse_at(like["at"]), str(like["page_id"])))
    for post in scenario.get("facebook_posts", []):
        world.fb_posts[str(post["user_id"])].append({**post, "at": parse_at(post["at"])})
    # Newest first, as the networks list them.
    for likes in (*world.x_likes.values(), *world.fb_likes.values()):
        likes.sort(key=lambda pair: (pair[0], int(pair[1])), reverse=True)
    for posts in world.fb_posts.values():
        posts.sort(key=lambda p: p["at"], reverse=True)
    return world
