"""The sandbox's Bluesky: accounts, repositories of records and the Jetstream event log,
built once from a scenario's `bluesky` part (bots/bluesky/scenario.py writes it).

Scenario format (every `at` ISO 8601; a record exists from `at`, until `deleted_at`):
  bluesky: {accounts: [{did, handle, app_password?, name?, pds?}],  (pds: the name of the
                                                                 PDS holding its repository)
            posts: [{did, rkey, at, text, link?: {uri, title?}, facet_link?: uri,
                     reply_to?: at-uri, quote?: at-uri, tags?: [str]}],
            likes: [{did, rkey, subject, at, deleted_at?, via?}],
            reposts: [{did, rkey, subject, at, deleted_at?}],
            follows: [{did, rkey, subject, at}]}
"""

from __future__ import annotations

import bisect
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bots.bluesky import LIKE, NETWORK, POST, REPOST
from bots.bluesky.ids import cid, time_us
from bots.sandbox.world import World, parse_at

FOLLOW = "app.bsky.graph.follow"
REPLAY_WINDOW = timedelta(hours=36)  # what Jetstream keeps (about)


@dataclass
class Record:
    did: str
    collection: str
    rkey: str
    value: dict[str, Any]
    at: datetime
    deleted_at: datetime | None = None

    @property
    def uri(self) -> str:
        return f"at://{self.did}/{self.collection}/{self.rkey}"

    @property
    def cid(self) -> str:
        return cid(self.uri)

    def exists(self, now: datetime) -> bool:
        return self.at <= now and (self.deleted_at is None or self.deleted_at > now)


@dataclass
class BlueskyWorld:
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # by DID
    handles: dict[str, str] = field(default_factory=dict)  # handle -> DID
    repos: dict[tuple[str, str], list[Record]] = field(default_factory=dict)  # by rkey
    posts: dict[str, Record] = field(default_factory=dict)  # by at:// uri
    times: list[int] = field(default_factory=list)  # the event log's time_us, ascending
    frames: list[tuple[str, str, bytes]] = field(default_factory=list)  # (did, coll, json)
    window: timedelta = REPLAY_WINDOW
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events_between(self, start_us: int, end_us: int) -> tuple[int, int]:
        """Index range of the events with start_us <= time_us <= end_us."""
        return (bisect.bisect_left(self.times, start_us),
                bisect.bisect_right(self.times, end_us))


def bluesky_of(world: World) -> BlueskyWorld:
    """The world's Bluesky, built from its scenario the first time it is asked for."""
    with world.lock:
        found = world.extensions.get(NETWORK)
        if found is None:
            found = world.extensions[NETWORK] = build(world.scenario.get(NETWORK) or {})
        return found


def build(spec: dict[str, Any]) -> BlueskyWorld:
    sky = BlueskyWorld()
    for account in spec.get("accounts", []):
        sky.accounts[account["did"]] = dict(account)
        sky.handles[account["handle"].lower()] = account["did"]
    records: list[Record] = []
    for post in spec.get("posts", []):
        records.append(Record(post["did"], POST, post["rkey"], _post_value(post),
                              parse_at(post["at"]), _maybe(post.get("deleted_at"))))
    for collection, key in ((LIKE, "likes"), (REPOST, "reposts")):
        for item in spec.get(key, []):
            value: dict[str, Any] = {"$type": collection, "createdAt": _z(parse_at(item["at"])),
                                     "subject": {"uri": item["subject"],
                                                 "cid": cid(item["subject"])}}
            if item.get("via"):
                value["via"] = {"uri": item["via"], "cid": cid(item["via"])}
            records.append(Record(item["did"], collection, item["rkey"], value,
                                  parse_at(item["at"]), _maybe(item.get("deleted_at"))))
    for item in spec.get("follows", []):
        records.append(Record(item["did"], FOLLOW, item["rkey"],
                              {"$type": FOLLOW, "subject": item["subject"],
                               "createdAt": _z(parse_at(item["at"]))}, parse_at(item["at"])))
    log: list[tuple[int, str, str, bytes]] = []
    for record in records:
        sky.repos.setdefault((record.did, record.collection), []).append(record)
        if record.collection == POST:
            sky.posts[record.uri] = record
        log.append((time_us(record.at), record.did, record.collection, _commit(record, "create")))
        if record.deleted_at is not None:
            log.append((time_us(record.deleted_at), record.did, record.collection,
                        _commit(record, "delete")))
    for listed in sky.repos.values():
        listed.sort(key=lambda r: r.rkey)
    log.sort(key=lambda item: item[0])
    last = 0
    for stamp, did, collection, body in log:
        stamp = max(stamp, last + 1)  # time_us is unique and increasing
        last = stamp
        sky.times.append(stamp)
        sky.frames.append((did, collection, body.replace(b'"time_us":0', b'"time_us":%d' % stamp,
                                                          1)))
    return sky


def _commit(record: Record, operation: str) -> bytes:
    commit: dict[str, Any] = {"rev": record.rkey, "operation": operation,
                              "collection": record.collection, "rkey": record.rkey}
    if operation == "create":
        commit["record"] = record.value
        commit["cid"] = record.cid
    return json.dumps({"did": record.did, "time_us": 0, "kind": "commit", "commit": commit},
                      separators=(",", ":")).encode()


def _post_value(post: dict[str, Any]) -> dict[str, Any]:
    text = post.get("text", "")
    value: dict[str, Any] = {"$type": POST, "createdAt": _z(parse_at(post["at"])), "text": text,
                             "langs": ["en"]}
    facets = []
    if post.get("facet_link"):
        shown = post["facet_link"].split("://", 1)[-1][:30]
        start = len((text + " ").encode()) if text else 0
        value["text"] = text = f"{text} {shown}" if text else shown
        facets.append({"index": {"byteStart": start, "byteEnd": len(text.encode())},
                       "features": [{"$type": "app.bsky.richtext.facet#link",
                                     "uri": post["facet_link"]}]})
    for tag in post.get("tags", []):
        marker = f"#{tag}"
        if marker in text:
            start = len(text[:text.index(marker)].encode())
            facets.append({"index": {"byteStart": start, "byteEnd": start + len(marker.encode())},
                           "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}]})
    if facets:
        value["facets"] = facets
    if post.get("link"):
        value["embed"] = {"$type": "app.bsky.embed.external",
                          "external": {"uri": post["link"]["uri"],
                                       "title": post["link"].get("title", ""),
                                       "description": ""}}
    if post.get("quote"):
        value["embed"] = {"$type": "app.bsky.embed.record",
                          "record": {"uri": post["quote"], "cid": cid(post["quote"])}}
    if post.get("reply_to"):
        parent = {"uri": post["reply_to"], "cid": cid(post["reply_to"])}
        value["reply"] = {"root": parent, "parent": parent}
    return value


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _maybe(value: str | None) -> datetime | None:
    return parse_at(value) if value else None
