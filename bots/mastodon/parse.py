"""Mastodon API bodies -> activities. Pure functions over decoded JSON (or Mastodon.py's
dict subclasses, whose times are datetimes), shared by the adapter, `flattr bots parse`
and the fixture tests.

- A favourite (GET /api/v1/favourites) flattrs the favourited status; a boost (a status
  of the person's own GET /api/v1/accounts/:id/statuses with `reblog` set) flattrs the
  boosted one; an explicit request (a reply of theirs with #flattr, or mentioning the
  service's account) flattrs the status it answers, which the adapter reads.
- A status flattrs, in order: its link preview (`card.url`), the links of its content
  (never a mention or hashtag link, never a page of the person's instance or of the
  author's), each canonical (core.urls); else the status itself (its `url`), held for its
  author, `mastodon:<home host>:<id on that host>`.
- Account ids are per instance. A local author's id is the id we see; a remote author
  (`acct` is user@host) is known at home by the `/ap/users/<id>` form of their `uri`
  (Mastodon 4.4 and later) or by a lookup the adapter made (`Viewer.homes`); otherwise
  the status is held by its URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from bots.base import MalformedResponse
from bots.mastodon import ACCOUNT_KIND, NETWORK, account_key, split_account
from core import identity
from core.activity import Activity, Target
from core.urls import InvalidURL, canonicalize, host_of, is_creation_host

_AP_USER = re.compile(r"/ap/users/([0-9]{1,20})")
_FLATTR_TAG = re.compile(r"(?<![\w#])#flattr\b", re.IGNORECASE)
_SKIPPED_CLASSES = frozenset({"mention", "hashtag"})


@dataclass(frozen=True)
class Viewer:
    """Whose view of the network a body is: the person's instance and their account id
    there; the service's account (`host:id` and `user@host`), never flattred, and whose
    mention asks for a flattr; remote authors' ids at home (`user@host` -> id)."""

    instance: str
    account_id: str
    service: str | None = None
    service_acct: str | None = None
    homes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, external_user_id: str, *, service: str | None = None,
           service_acct: str | None = None, homes: Mapping[str, str] | None = None) -> Viewer:
        host, account_id = split_account(external_user_id)
        return cls(host, account_id, service, normal_acct(service_acct, host) or None,
                   dict(homes or {}))

    @property
    def key(self) -> str:
        return account_key(self.instance, self.account_id)

    @property
    def actor(self) -> str:
        return str(identity.of(NETWORK, ACCOUNT_KIND, self.key))


# -- checking a body ----------------------------------------------------------------------


def check_statuses(body: Any) -> list[dict]:
    """A list of statuses, or MalformedResponse (an error body, a single status, a list of
    accounts...)."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        raise MalformedResponse(f"an error body where statuses were expected: "
                                f"{' '.join(body['error'].split())[:200]}")
    if not isinstance(body, list):
        raise MalformedResponse(f"expected a JSON list of statuses, got {type(body).__name__}")
    for status in body:
        check_status(status)
    return body


def check_status(status: Any) -> dict:
    if not isinstance(status, dict) or not _is_id(status.get("id")):
        raise MalformedResponse(f"a status without an id: {str(status)[:120]}")
    account = status.get("account")
    if not isinstance(account, dict) or not _is_id(account.get("id")) \
            or not isinstance(account.get("acct"), str):
        raise MalformedResponse(f"not a status (no author): {str(status)[:120]}")
    if status.get("reblog") is not None:
        check_status(status["reblog"])
    return status


# -- who and what -------------------------------------------------------------------------


def normal_acct(acct: str | None, instance: str) -> str:
    """`user@host` in lower case (IDNA ASCII host); a local `user` gets the instance."""
    text = (acct or "").strip().lstrip("@").lower()
    if not text:
        return ""
    user, _, host = text.partition("@")
    return f"{user}@{_host(host) or instance}"


def author_key(account: Mapping[str, Any], viewer: Viewer) -> str | None:
    """`host:id` of an author at home, or None when their id there is not known."""
    acct = str(account.get("acct") or "")
    local_id = str(account.get("id") or "")
    if "@" not in acct.strip("@"):
        return _key(viewer.instance, local_id)
    full = normal_acct(acct, viewer.instance)
    home = full.rpartition("@")[2]
    if home == viewer.instance:
        return _key(home, local_id)
    match = _AP_USER.fullmatch(_path_of(account.get("uri"), home))
    if match:
        return _key(home, match.group(1))
    known = viewer.homes.get(full)
    return _key(home, known) if known else None


def remote_accts(statuses: Iterable[Mapping[str, Any]], viewer: Viewer) -> set[str]:
    """Remote authors (user@host) whose id at home only a lookup can tell."""
    wanted = set()
    for status in statuses:
        for item in (status, status.get("reblog") or {}):
            account = item.get("account") if isinstance(item, Mapping) else None
            if isinstance(account, Mapping) and author_key(account, viewer) is None \
                    and "@" in str(account.get("acct", "")):
                wanted.add(normal_acct(str(account["acct"]), viewer.instance))
    return wanted


def owner_identity(account: Mapping[str, Any], viewer: Viewer) -> str | None:
    key = author_key(account, viewer)
    held_by = identity.try_of(NETWORK, ACCOUNT_KIND, key) if key else None
    return str(held_by) if held_by else None


def is_excluded_author(account: Mapping[str, Any], viewer: Viewer) -> bool:
    """Never your own status, never the service's account."""
    key = author_key(account, viewer)
    if key is not None and key in (viewer.key, viewer.service):
        return True
    acct = normal_acct(str(account.get("acct") or ""), viewer.instance)
    return bool(viewer.service_acct) and acct == viewer.service_acct


def status_url(status: Mapping[str, Any]) -> str | None:
    for key in ("url", "uri"):
        value = status.get(key)
        if isinstance(value, str):
            try:
                return canonicalize(value)
            except InvalidURL:
                continue
    return None


def status_targets(status: Mapping[str, Any], viewer: Viewer) -> tuple[Target, ...]:
    """Its links (card first, then the content's; canonical, deduplicated), then the
    status itself held by its author (empty when the status has no usable URL)."""
    own_url = status_url(status)
    if own_url is None:
        return ()
    account = status.get("account") or {}
    home = normal_acct(str(account.get("acct") or ""), viewer.instance).rpartition("@")[2]
    skipped_hosts = {viewer.instance, home, host_of(own_url)}
    targets: list[Target] = []
    seen = {own_url}
    card = status.get("card")
    candidates = [card.get("url")] if isinstance(card, Mapping) else []
    candidates += content_links(str(status.get("content") or ""))
    for candidate in candidates:
        if not isinstance(candidate, str):
            continue
        try:
            url = canonicalize(candidate)
        except InvalidURL:
            continue
        if url in seen or not is_creation_host(url) or host_of(url) in skipped_hosts:
            continue
        seen.add(url)
        title = card.get("title") if isinstance(card, Mapping) and card.get("url") == candidate \
            else None
        targets.append(Target(url=url, identity=str(identity.url(url)),
                              title=title if isinstance(title, str) and title else None))
    owner = owner_identity(account, viewer)
    name = account.get("display_name") or account.get("username") if owner else None
    acct = normal_acct(str(account.get("acct") or ""), viewer.instance) if owner else ""
    targets.append(Target(url=own_url, identity=owner, title=status_title(status),
                          holder_name=name if isinstance(name, str) and name else None,
                          holder_handle=acct or None))
    return tuple(targets)


def status_title(status: Mapping[str, Any], length: int = 80) -> str | None:
    """The start of a status's text (its HTML content without tags), on one line."""
    reader = _Words()
    reader.feed(str(status.get("content") or ""))
    reader.close()
    words = " ".join("".join(reader.parts).split())
    if len(words) <= length:
        return words or None
    return (words[: length - 1].rsplit(" ", 1)[0] or words[: length - 1]) + "\u2026"


class _Words(HTMLParser):
    """The text of an HTML fragment (paragraphs and line breaks become spaces)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("p", "br"):
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def content_links(html: str) -> list[str]:
    """The hrefs of a status's content, in order, without mention and hashtag links."""
    reader = _Links()
    reader.feed(html)
    reader.close()
    return reader.links


def is_explicit_request(status: Mapping[str, Any], viewer: Viewer) -> bool:
    """Did the person ask, in a reply, to flattr what it answers: a #flattr tag, or a
    mention of the service's account?"""
    if not status.get("in_reply_to_id"):
        return False
    tags = status.get("tags") or []
    if any(isinstance(t, Mapping) and str(t.get("name", "")).lower() == "flattr" for t in tags):
        return True
    if _FLATTR_TAG.search(_text_of(str(status.get("content") or ""))):
        return True
    if viewer.service_acct:
        for mention in status.get("mentions") or []:
            if isinstance(mention, Mapping) and normal_acct(
                    str(mention.get("acct") or ""), viewer.instance) == viewer.service_acct:
                return True
    return False


# -- activities ---------------------------------------------------------------------------


def favourite_activity(status: Mapping[str, Any], viewer: Viewer,
                       observed_at: datetime) -> Activity | None:
    """A favourite. Mastodon gives no time of favouriting: it happened when first seen.
    (A boost is never favourited itself: favouriting one favourites what it boosts.)"""
    external_id = str(status["id"])
    status = status.get("reblog") or status
    if is_excluded_author(status["account"], viewer):
        return None
    targets = status_targets(status, viewer)
    if not targets:
        return None
    return Activity(network=NETWORK, action="favourite", external_id=external_id,
                    actor=viewer.actor, occurred_at=observed_at, targets=targets)


def own_status_activity(status: Mapping[str, Any], viewer: Viewer, observed_at: datetime,
                        triggers: frozenset[str],
                        originals: Mapping[str, Mapping[str, Any]]) -> Activity | None:
    """A status of the person's own: a boost, or an explicit request (whose original the
    caller read: `originals` by status id); anything else is not an activity."""
    boosted = status.get("reblog")
    if boosted is not None:
        if "boosts" not in triggers:
            return None
        action, original = "boost", boosted
    elif is_explicit_request(status, viewer):
        action, original = "explicit", originals.get(str(status["in_reply_to_id"]))
        if original is None:  # deleted, or not read (parse only): nothing to flattr
            return None
    else:
        return None
    if is_excluded_author(original.get("account") or {}, viewer):
        return None
    targets = status_targets(original, viewer)
    if not targets:
        return None
    return Activity(network=NETWORK, action=action, external_id=str(status["id"]),
                    actor=viewer.actor, occurred_at=created_at(status) or observed_at,
                    targets=targets)


def parse_favourites(body: Any, viewer: Viewer, observed_at: datetime) -> list[Activity]:
    """Every favourite of one page (no watermark here: see the adapter)."""
    found = (favourite_activity(s, viewer, observed_at) for s in check_statuses(body))
    return [a for a in found if a]


def parse_statuses(body: Any, viewer: Viewer, observed_at: datetime, triggers: frozenset[str],
                   originals: Mapping[str, Mapping[str, Any]] | None = None) -> list[Activity]:
    """Boosts and explicit requests of one page of the person's statuses, oldest first."""
    statuses = check_statuses(body)
    found = (own_status_activity(s, viewer, observed_at, triggers, originals or {})
             for s in reversed(statuses))
    return [a for a in found if a]


def explicit_originals(statuses: Iterable[Mapping[str, Any]], viewer: Viewer) -> list[str]:
    """The ids of the statuses the person's explicit requests answer (to be read)."""
    return [str(s["in_reply_to_id"]) for s in statuses
            if s.get("reblog") is None and is_explicit_request(s, viewer)]


def created_at(status: Mapping[str, Any]) -> datetime | None:
    value = status.get("created_at")
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- helpers ------------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        values = dict(attrs)
        classes = set((values.get("class") or "").split())
        rels = set((values.get("rel") or "").split())
        href = values.get("href")
        if href and not classes & _SKIPPED_CLASSES and "tag" not in rels:
            self.links.append(href)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _text_of(html: str) -> str:
    reader = _Text()
    reader.feed(html)
    reader.close()
    return "".join(reader.parts)


def _host(host: str) -> str:
    if not host:
        return ""
    try:
        return host_of(canonicalize(f"https://{host}/"))
    except InvalidURL:
        return ""


def _path_of(uri: Any, host: str) -> str:
    """The path of an account's `uri` when it is on `host`, else ''."""
    if not isinstance(uri, str):
        return ""
    try:
        canonical = canonicalize(uri)
    except InvalidURL:
        return ""
    if host_of(canonical) != host:
        return ""
    return "/" + canonical.split("/", 3)[3] if canonical.count("/") >= 3 else ""


def _key(host: str, account_id: str) -> str | None:
    try:
        return account_key(host, account_id)
    except ValueError:
        return None


def _is_id(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value).isdigit()
