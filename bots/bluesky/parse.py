"""Bluesky bodies -> plain values (pure: no network, no database).

A Jetstream v1 event or a `com.atproto.repo.listRecords` record becomes an `Intent` (a like
or repost of someone else's post, or an explicit `#flattr` reply or quote) or a
`Withdrawal` (a like or repost deleted); everything else (follows, blocks, statuses,
profile edits, identity and account events, deletes of other records) yields nothing. An
intent names the post it is about; the post's view (`app.bsky.feed.getPosts`) gives its
targets: the first external link (the link card of `app.bsky.embed.external`, directly or
in `recordWithMedia`, then link facets in UTF-8 byte order), canonical through core.urls,
then the post itself, `https://bsky.app/profile/<did>/post/<rkey>`, held for
`bluesky:<did>`.

Never your own posts, never the service's own account (`service_did`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bots.base import MalformedResponse
from bots.bluesky import ACTIONS, LIKE, NETWORK, POST, REPOST, USER_KIND
from core import identity
from core.activity import Activity, Target
from core.urls import InvalidURL, canonicalize, host_of, is_creation_host

# did:plc is 24 base32 characters; did:web a host (port as %3A) and an optional path, ASCII.
DID_PATTERN = r"did:(?:plc:[a-z2-7]{24}|web:[A-Za-z0-9._%:-]{1,56})"
_DID = re.compile(DID_PATTERN)
_RKEY = re.compile(r"[A-Za-z0-9._:~-]{1,512}")
_AT_URI = re.compile(rf"at://({DID_PATTERN})/([a-z][a-zA-Z0-9.-]{{0,316}})/([A-Za-z0-9._:~-]{{1,512}})")
_FLATTR_TAG = re.compile(r"(?<![\w#])#flattr\b", re.IGNORECASE)
_OWN_HOSTS = ("bsky.app", "bsky.social", "bsky.network", "go.bsky.app")
LINK_FACET = "app.bsky.richtext.facet#link"
TAG_FACET = "app.bsky.richtext.facet#tag"
MENTION_FACET = "app.bsky.richtext.facet#mention"


@dataclass(frozen=True)
class Intent:
    """A like, repost or explicit request: an Activity once its post's targets are known."""

    action: str  # like | repost | explicit
    actor: str  # the DID whose record it is
    record_uri: str  # at://<actor>/<collection>/<rkey>: the activity's external id
    subject: str  # at://<author>/app.bsky.feed.post/<rkey>
    occurred_at: datetime

    @property
    def key(self) -> str:
        return activity_key(self.actor, self.action, self.record_uri)


@dataclass(frozen=True)
class Withdrawal:
    """A like, repost or post deleted: the activity it made is undone (its flattr taken
    back while its month is open, unless something else still supports it)."""

    action: str
    actor: str
    record_uri: str
    occurred_at: datetime

    @property
    def key(self) -> str:
        return activity_key(self.actor, self.action, self.record_uri)

    @property
    def activity(self) -> Activity:
        """The activity undone (no targets: a delete names only the record)."""
        return Activity(NETWORK, self.action, self.record_uri, actor_identity(self.actor),
                        self.occurred_at)


@dataclass(frozen=True)
class Event:
    """One Jetstream event: its repository, its cursor, and what it means (if anything)."""

    did: str
    time_us: int
    kind: str
    intent: Intent | None = None
    withdrawal: Withdrawal | None = None


# -- identities and addresses -----------------------------------------------------------


def is_did(value: object) -> bool:
    return isinstance(value, str) and _DID.fullmatch(value) is not None


def actor_identity(did: str) -> str:
    return str(identity.of(NETWORK, USER_KIND, did))


def split_at_uri(uri: object) -> tuple[str, str, str] | None:
    """(did, collection, rkey) of an at:// URI naming a record by DID, else None."""
    match = _AT_URI.fullmatch(uri) if isinstance(uri, str) else None
    return (match.group(1), match.group(2), match.group(3)) if match else None


def record_uri(did: str, collection: str, rkey: str) -> str:
    return f"at://{did}/{collection}/{rkey}"


def post_url(did: str, rkey: str) -> str:
    return f"https://bsky.app/profile/{did}/post/{rkey}"


def activity_key(did: str, action: str, uri: str) -> str:
    """The core's idempotency key of the activity a record makes (core.activity)."""
    return Activity(NETWORK, action, uri, actor_identity(did), datetime.min).key


def time_of_us(time_us: int) -> datetime:
    return datetime.fromtimestamp(time_us / 1_000_000, UTC)


# -- records ----------------------------------------------------------------------------


def record_intent(did: str, collection: str, rkey: str, record: Any, at: datetime, *,
                  service_did: str | None = None, service_handle: str | None = None
                  ) -> Intent | None:
    """What one created record means: an Intent, or None (not ours to flattr)."""
    action = ACTIONS.get(collection)
    if action is None or not isinstance(record, Mapping):
        return None
    if collection in (LIKE, REPOST):
        subject = record.get("subject")
        uri = subject.get("uri") if isinstance(subject, Mapping) else None
    else:
        uri = _explicit_subject(record, service_did, service_handle)
    parts = split_at_uri(uri)
    if parts is None or parts[1] != POST:
        return None  # a like of a feed generator or a list, or no explicit request
    author = parts[0]
    if author == did or (service_did is not None and author == service_did):
        return None  # never your own posts, never the service's own account
    assert isinstance(uri, str)
    return Intent(action, did, record_uri(did, collection, rkey), uri, at)


def _explicit_subject(record: Mapping[str, Any], service_did: str | None,
                      service_handle: str | None) -> str | None:
    """The post a `#flattr` reply answers or a `#flattr` quote quotes (or one that mentions
    the service's account), else None."""
    if not _asks_to_flattr(record, service_did, service_handle):
        return None
    embed = record.get("embed")
    if isinstance(embed, Mapping):
        quoted = embed.get("record")
        if embed.get("$type") == "app.bsky.embed.recordWithMedia" and isinstance(quoted,
                                                                                 Mapping):
            quoted = quoted.get("record")
        if embed.get("$type") in ("app.bsky.embed.record", "app.bsky.embed.recordWithMedia") \
                and isinstance(quoted, Mapping) and isinstance(quoted.get("uri"), str):
            return quoted["uri"]
    reply = record.get("reply")
    parent = reply.get("parent") if isinstance(reply, Mapping) else None
    if isinstance(parent, Mapping) and isinstance(parent.get("uri"), str):
        return parent["uri"]
    return None


def _asks_to_flattr(record: Mapping[str, Any], service_did: str | None,
                    service_handle: str | None) -> bool:
    text = record.get("text")
    if isinstance(text, str) and _FLATTR_TAG.search(text):
        return True
    if isinstance(text, str) and service_handle and re.search(
            rf"(?<![\w@])@{re.escape(service_handle)}\b", text, re.IGNORECASE):
        return True
    for feature in _features(record):
        if feature.get("$type") == TAG_FACET and str(feature.get("tag", "")).lower() == "flattr":
            return True
        if service_did and feature.get("$type") == MENTION_FACET \
                and feature.get("did") == service_did:
            return True
    return False


def _features(record: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    facets = record.get("facets")
    for facet in facets if isinstance(facets, list) else []:
        features = facet.get("features") if isinstance(facet, Mapping) else None
        for feature in features if isinstance(features, list) else []:
            if isinstance(feature, Mapping):
                yield feature


def created_at(record: Any, fallback: datetime) -> datetime:
    """A record's own `createdAt` (client-written), or the fallback when unreadable."""
    value = record.get("createdAt") if isinstance(record, Mapping) else None
    if not isinstance(value, str):
        return fallback
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- Jetstream v1 -----------------------------------------------------------------------


def parse_event(event: Any, *, service_did: str | None = None,
                service_handle: str | None = None) -> Event:
    """One Jetstream v1 event. Raises MalformedResponse when it is not one."""
    if not isinstance(event, Mapping):
        raise MalformedResponse(f"a Jetstream event is an object, not {type(event).__name__}")
    did, time_us, kind = event.get("did"), event.get("time_us"), event.get("kind")
    if not is_did(did) or not isinstance(time_us, int) or isinstance(time_us, bool) \
            or not isinstance(kind, str):
        raise MalformedResponse("a Jetstream event has a did, an integer time_us and a kind")
    assert isinstance(did, str)
    if kind != "commit":
        return Event(did, time_us, kind)  # identity, account: nothing to flattr
    commit = event.get("commit")
    if not isinstance(commit, Mapping):
        raise MalformedResponse("a commit event without its commit")
    operation, collection, rkey = (commit.get("operation"), commit.get("collection"),
                                   commit.get("rkey"))
    if not isinstance(collection, str) or not isinstance(rkey, str) \
            or not _RKEY.fullmatch(rkey) or operation not in ("create", "update", "delete"):
        raise MalformedResponse("a commit has an operation, a collection and a record key")
    at = time_of_us(time_us)
    if operation == "delete":
        action = ACTIONS.get(collection)  # a post: perhaps an explicit #flattr request
        if action is not None:
            return Event(did, time_us, kind, withdrawal=Withdrawal(
                action, did, record_uri(did, collection, rkey), at))
        return Event(did, time_us, kind)
    if operation != "create":
        return Event(did, time_us, kind)  # an edited record flattrs nothing new
    intent = record_intent(did, collection, rkey, commit.get("record"), at,
                           service_did=service_did, service_handle=service_handle)
    return Event(did, time_us, kind, intent=intent)


def parse_line(line: str | bytes, **options: Any) -> Event:
    """One Jetstream message as it arrives (JSON text)."""
    try:
        event = json.loads(line)
    except ValueError as exc:
        raise MalformedResponse(f"a Jetstream message that is not JSON: {exc}") from None
    return parse_event(event, **options)


# -- com.atproto.repo.listRecords ------------------------------------------------------


def parse_list_records(body: Any, *, now: datetime, service_did: str | None = None,
                       service_handle: str | None = None) -> tuple[list[Intent], str | None]:
    """A page of one repository's records: its intents (dated by `createdAt`, never later
    than now) and the cursor of the next page (None: the last)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("records"), list):
        raise MalformedResponse("a listRecords page is an object with a records list")
    cursor = body.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise MalformedResponse("a listRecords cursor is a string")
    intents = []
    for item in body["records"]:
        if not isinstance(item, Mapping):
            raise MalformedResponse("a listed record is an object")
        parts = split_at_uri(item.get("uri"))
        if parts is None:
            raise MalformedResponse(
                f"a listed record without an at:// uri: {item.get('uri')!r:.100}")
        did, collection, rkey = parts
        record = item.get("value")
        at = min(created_at(record, now), now)
        intent = record_intent(did, collection, rkey, record, at, service_did=service_did,
                               service_handle=service_handle)
        if intent is not None:
            intents.append(intent)
    return intents, cursor or None


# -- posts -> targets -------------------------------------------------------------------


def post_target(subject: str) -> Target:
    """The post itself, held for its author until they claim `bluesky:<did>`."""
    parts = split_at_uri(subject)
    if parts is None:
        raise MalformedResponse(f"not a post's at:// uri: {subject!r:.100}")
    did, _, rkey = parts
    return Target(url=canonicalize(post_url(did, rkey)), identity=actor_identity(did))


def record_links(record: Any) -> list[tuple[str, str | None]]:
    """A post record's outside links in order, (canonical URL, title): the link card
    (embed external, or the media of recordWithMedia), then link facets by their UTF-8 byte
    offsets (the title is the text they cover)."""
    if not isinstance(record, Mapping):
        return []
    found: list[tuple[object, str | None]] = []
    embed = record.get("embed")
    if isinstance(embed, Mapping) and embed.get("$type") == "app.bsky.embed.recordWithMedia":
        embed = embed.get("media")
    if isinstance(embed, Mapping) and embed.get("$type") == "app.bsky.embed.external":
        external = embed.get("external")
        if isinstance(external, Mapping):
            title = external.get("title")
            found.append((external.get("uri"), title if isinstance(title, str) else None))
    text = record.get("text")
    encoded = text.encode("utf-8") if isinstance(text, str) else b""
    facets = []
    for facet in record.get("facets") or [] if isinstance(record.get("facets"), list) else []:
        index = facet.get("index") if isinstance(facet, Mapping) else None
        start = index.get("byteStart") if isinstance(index, Mapping) else None
        end = index.get("byteEnd") if isinstance(index, Mapping) else None
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start <= end:
            continue
        for feature in facet.get("features") or []:
            if isinstance(feature, Mapping) and feature.get("$type") == LINK_FACET:
                covered = encoded[start:end].decode("utf-8", "replace").strip() or None
                facets.append((start, feature.get("uri"), covered))
    found.extend((uri, title) for _, uri, title in sorted(facets, key=lambda f: f[0]))
    links, seen = [], set()
    for uri, title in found:
        canonical = _outside_link(uri)
        if canonical is not None and canonical not in seen:
            seen.add(canonical)
            links.append((canonical, title))
    return links


def _outside_link(uri: object) -> str | None:
    if not isinstance(uri, str):
        return None
    try:
        canonical = canonicalize(uri)
    except InvalidURL:
        return None
    host = host_of(canonical)
    if not is_creation_host(canonical) or any(host == h or host.endswith("." + h)
                                               for h in _OWN_HOSTS):
        return None
    return canonical


def post_targets(view: Any) -> tuple[Target, ...]:
    """A post view's targets: its first outside link, then the post itself."""
    if not isinstance(view, Mapping) or not isinstance(view.get("uri"), str):
        raise MalformedResponse("a post view has a uri")
    itself = post_target(view["uri"])
    author = view.get("author")
    if isinstance(author, Mapping) and is_did(author.get("did")) \
            and itself.identity == actor_identity(str(author["did"])):  # its author's names
        name, handle = author.get("displayName"), author.get("handle")
        itself = replace(itself, holder_name=name if isinstance(name, str) and name else None,
                         holder_handle=handle if isinstance(handle, str) and handle
                         and handle != "handle.invalid" else None)
    links = record_links(view.get("record"))
    if not links:
        return (itself,)
    url, title = links[0]
    return (Target(url=url, identity=str(identity.url(url)), title=title), itself)


def parse_posts(body: Any) -> dict[str, tuple[Target, ...]]:
    """An app.bsky.feed.getPosts answer: each post's targets by its at:// uri (a post that
    is gone is simply missing)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("posts"), list):
        raise MalformedResponse("a getPosts answer is an object with a posts list")
    found = {}
    for view in body["posts"]:
        targets = post_targets(view)
        found[view["uri"]] = targets
    return found


def activity(intent: Intent, targets: tuple[Target, ...] | None = None) -> Activity:
    """The Activity an intent is, given its post's targets (default: the post itself)."""
    return Activity(network=NETWORK, action=intent.action, external_id=intent.record_uri,
                    actor=actor_identity(intent.actor), occurred_at=intent.occurred_at,
                    targets=targets or (post_target(intent.subject),))
