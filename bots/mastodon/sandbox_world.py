"""The Mastodon part of the sandbox's world: several instances, their accounts, statuses,
boosts, favourites (with internal favourite ids), apps and authorization codes, built from
the scenario's `mastodon` section and rendered as each instance would show them.

Scenario section (every `at` an ISO time; things appear when the clock passes it):
  mastodon:
    instances: [host]
    accounts: [{host, id, username, name?, bot?, legacy_uri?}]   ids are ids at home;
        legacy_uri: its `uri` is /users/<name> (before Mastodon 4.4), so other instances
        learn its home id only by a lookup
    service: {host, id, token}                     the service's own account
    statuses: [{id, host, account_id, at, text?, card?, links?, tags?, mentions?: [acct],
                reblog_of?: id, in_reply_to?: id}]  ids are unique across instances
    favourites: [{host, account_id, status_id, at}]
  people[].mastodon: {host, id, username, token}
Remote accounts get a local id on each other instance, as on a real one.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bots.mastodon import NETWORK
from bots.sandbox.world import Grant, World, parse_at

KEY = NETWORK  # World.extensions key
TOKEN_SCOPES = ("read", "write", "profile")
LOCAL_ID_BASE = 990_000_000_000


@dataclass
class Account:
    host: str
    id: str
    username: str
    name: str = ""
    bot: bool = False
    legacy_uri: bool = False

    @property
    def key(self) -> str:
        return f"{self.host}:{self.id}"


@dataclass
class Status:
    id: str
    host: str
    account: str  # the author's key (host:id)
    at: datetime
    text: str = ""
    card: str | None = None
    links: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)  # account keys
    reblog_of: str | None = None
    in_reply_to: str | None = None
    visibility: str = "public"


@dataclass
class App:
    client_id: str
    client_secret: str
    name: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]


@dataclass
class Mastodons:
    hosts: list[str]
    accounts: dict[str, Account] = field(default_factory=dict)  # by key
    statuses: dict[str, Status] = field(default_factory=dict)  # by id
    by_author: dict[str, list[Status]] = field(default_factory=dict)  # newest first
    # The person's favourites: (favourite id, at, status id), newest first.
    favourites: dict[str, list[tuple[int, datetime, str]]] = field(default_factory=dict)
    apps: dict[str, dict[str, App]] = field(default_factory=dict)  # host -> client_id -> app
    local_ids: dict[tuple[str, str], str] = field(default_factory=dict)  # (host, key) -> id
    by_local: dict[tuple[str, str], str] = field(default_factory=dict)  # (host, id) -> key
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # -- accounts -------------------------------------------------------------------------

    def local_id(self, host: str, key: str) -> str:
        account = self.accounts[key]
        if account.host == host:
            return account.id
        if (host, key) not in self.local_ids:
            local = str(LOCAL_ID_BASE + next(self._ids))
            self.local_ids[host, key] = local
            self.by_local[host, local] = key
        return self.local_ids[host, key]

    def account_at(self, host: str, local_id: str) -> Account | None:
        key = self.by_local.get((host, local_id)) or f"{host}:{local_id}"
        return self.accounts.get(key)

    def find_acct(self, host: str, acct: str) -> Account | None:
        user, _, home = acct.strip().lstrip("@").lower().partition("@")
        home = home or host
        return next((a for a in self.accounts.values()
                     if a.host == home and a.username.lower() == user), None)

    def render_account(self, account: Account, host: str) -> dict[str, Any]:
        home = account.host
        return {
            "id": self.local_id(host, account.key), "username": account.username,
            "acct": account.username if home == host else f"{account.username}@{home}",
            "display_name": account.name or account.username, "locked": False,
            "bot": account.bot, "group": False, "created_at": "2024-01-01T00:00:00.000Z",
            "note": "", "url": f"https://{home}/@{account.username}",
            "uri": (f"https://{home}/users/{account.username}" if account.legacy_uri
                    else f"https://{home}/ap/users/{account.id}"),
            "avatar": f"https://{home}/avatars/original/missing.png", "emojis": [],
            "fields": [], "followers_count": 0, "following_count": 0, "statuses_count": 0,
        }

    # -- statuses -------------------------------------------------------------------------

    def visible(self, status_id: str, now: datetime) -> Status | None:
        status = self.statuses.get(status_id)
        return status if status is not None and status.at <= now else None

    def render_status(self, status: Status, host: str, now: datetime) -> dict[str, Any]:
        author = self.accounts[status.account]
        home, name = author.host, author.username
        reblog = self.visible(status.reblog_of, now) if status.reblog_of else None
        replied = self.statuses.get(status.in_reply_to or "")
        mentions = [self.accounts[k] for k in status.mentions if k in self.accounts]
        path = f"https://{home}/users/{name}/statuses/{status.id}"
        return {
            "id": status.id, "created_at": iso_ms(status.at),
            "in_reply_to_id": replied.id if replied else None,
            "in_reply_to_account_id": self.local_id(host, replied.account) if replied else None,
            "sensitive": False, "spoiler_text": "", "visibility": status.visibility,
            "language": "en", "uri": path + ("/activity" if reblog else ""),
            "url": path + "/activity" if reblog else f"https://{home}/@{name}/{status.id}",
            "replies_count": 0, "reblogs_count": 0, "favourites_count": 0, "edited_at": None,
            "content": "" if reblog else self._content(status, host, mentions),
            "reblog": self.render_status(reblog, host, now) if reblog else None,
            "account": self.render_account(author, host),
            "media_attachments": [], "emojis": [], "poll": None,
            "mentions": [{"id": self.local_id(host, m.key), "username": m.username,
                          "acct": self.render_account(m, host)["acct"],
                          "url": f"https://{m.host}/@{m.username}"} for m in mentions],
            "tags": [{"name": t.lower(), "url": f"https://{host}/tags/{t.lower()}"}
                     for t in status.tags],
            "card": None if reblog or not status.card else {
                "url": status.card, "title": f"A page at {status.card}", "description": "",
                "type": "link", "author_name": "", "provider_name": "", "html": "",
                "width": 0, "height": 0, "image": None, "embed_url": ""},
        }

    def _content(self, status: Status, host: str, mentions: list[Account]) -> str:
        parts = [
            f'<span class="h-card" translate="no"><a href="https://{m.host}/@{m.username}" '
            f'class="u-url mention">@<span>{html.escape(m.username)}</span></a></span>'
            for m in mentions]
        parts.append(html.escape(status.text))
        for link in [*([status.card] if status.card else []), *status.links]:
            shown = html.escape(link.split("://", 1)[-1])
            parts.append(f'<a href="{html.escape(link)}" target="_blank" '
                         f'rel="nofollow noopener" translate="no">{shown}</a>')
        parts += [f'<a href="https://{host}/tags/{t.lower()}" class="mention hashtag" '
                  f'rel="tag">#<span>{html.escape(t)}</span></a>' for t in status.tags]
        return "<p>" + " ".join(p for p in parts if p) + "</p>"


def mastodons(world: World) -> Mastodons:
    """The world's Mastodon state, built from its scenario on first use."""
    with world.lock:
        state = world.extensions.get(KEY)
        if state is None:
            state = world.extensions[KEY] = _load(world)
        return state  # type: ignore[no-any-return]


def _load(world: World) -> Mastodons:
    section = world.scenario.get("mastodon") or {}
    state = Mastodons(hosts=[str(h).lower() for h in section.get("instances", [])])
    for item in section.get("accounts", []):
        account = Account(str(item["host"]).lower(), str(item["id"]), item["username"],
                          item.get("name", ""), bool(item.get("bot")),
                          bool(item.get("legacy_uri")))
        state.accounts[account.key] = account
    for person in world.scenario.get("people", []):
        mine = person.get("mastodon")
        if not mine:
            continue
        account = Account(str(mine["host"]).lower(), str(mine["id"]),
                          mine.get("username", person["key"]), person.get("name", ""))
        state.accounts.setdefault(account.key, account)
        if mine.get("token"):
            world.grants[mine["token"]] = Grant(mine["token"], NETWORK, account.key,
                                                scopes=TOKEN_SCOPES)
    service = section.get("service")
    if service and service.get("token"):
        key = f"{str(service['host']).lower()}:{service['id']}"
        state.accounts.setdefault(key, Account(str(service["host"]).lower(),
                                               str(service["id"]), "flattr", "Flattr", True))
        world.grants[service["token"]] = Grant(service["token"], NETWORK, key,
                                               scopes=TOKEN_SCOPES)
    for item in section.get("statuses", []):
        status = Status(
            id=str(item["id"]), host=str(item["host"]).lower(),
            account=f"{str(item['host']).lower()}:{item['account_id']}", at=parse_at(item["at"]),
            text=item.get("text", ""), card=item.get("card"), links=list(item.get("links", [])),
            tags=list(item.get("tags", [])),
            mentions=[str(m) for m in item.get("mentions", [])],
            reblog_of=str(item["reblog_of"]) if item.get("reblog_of") else None,
            in_reply_to=str(item["in_reply_to"]) if item.get("in_reply_to") else None)
        state.statuses[status.id] = status
        state.by_author.setdefault(status.account, []).append(status)
    for statuses in state.by_author.values():
        statuses.sort(key=lambda s: int(s.id), reverse=True)
    favourites = sorted(section.get("favourites", []),
                        key=lambda f: (parse_at(f["at"]), str(f["status_id"])))
    for n, item in enumerate(favourites):
        at = parse_at(item["at"])
        key = f"{str(item['host']).lower()}:{item['account_id']}"
        # Internal favourite ids: time-ordered, unrelated to the status ids.
        fav_id = (int(at.timestamp() * 1000) << 8) + n % 256
        state.favourites.setdefault(key, []).append((fav_id, at, str(item["status_id"])))
    for items in state.favourites.values():
        items.sort(reverse=True)
    return state


def iso_ms(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
