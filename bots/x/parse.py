"""X API v2 response bodies -> activities. Pure functions over the decoded JSON, shared by
the live adapter, the `flattr bots parse` command and the fixture tests."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bots.base import MalformedResponse
from bots.x import NETWORK, USER_KIND
from core import identity
from core.activity import Activity, Target
from core.urls import InvalidURL, canonicalize, is_x_url, x_post_url

log = logging.getLogger(__name__)

TWEET_FIELDS = ["author_id", "created_at", "entities", "note_tweet", "referenced_tweets"]
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]
USER_FIELDS = ["username"]
# Links that are X's own media or short links, never a creation; t.co is never fetched.
_NOT_CREATIONS = frozenset({"t.co", "pic.twitter.com", "pic.x.com"})
_FLATTR_TAG = re.compile(r"(?<![\w#])#flattr\b", re.IGNORECASE)


def check_page(body: Any) -> tuple[list[dict], dict[str, dict]]:
    """Validate a list endpoint body; returns its posts and the included posts by id."""
    if not isinstance(body, dict):
        raise MalformedResponse(f"expected a JSON object, got {type(body).__name__}")
    data = body.get("data", [])
    if not isinstance(data, list):
        raise MalformedResponse("'data' is not a list")
    for post in data:
        if not isinstance(post, dict) or not isinstance(post.get("id"), str):
            raise MalformedResponse(f"a post without a string id: {str(post)[:120]}")
    meta = body.get("meta", {})
    if not isinstance(meta, dict):
        raise MalformedResponse("'meta' is not an object")
    includes = body.get("includes", {})
    if not isinstance(includes, dict):
        raise MalformedResponse("'includes' is not an object")
    included = {p["id"]: p for p in includes.get("tweets", []) if isinstance(p, dict) and "id" in p}
    return data, included


def next_token(body: dict) -> str | None:
    token = body.get("meta", {}).get("next_token")
    return token if isinstance(token, str) and token else None


def post_targets(post: dict) -> tuple[Target, ...]:
    """Links of a post (canonical, deduplicated), then the post itself, last."""
    targets: list[Target] = []
    seen: set[str] = set()
    for entity in _url_entities(post):
        if entity.get("media_key"):
            continue
        raw = entity.get("unwound_url") or entity.get("expanded_url")
        if not isinstance(raw, str):
            continue
        try:
            canonical = canonicalize(raw)
        except InvalidURL:
            log.debug("skipping a link that is not a URL: %r", raw[:200])
            continue
        host = canonical.split("/")[2]
        if is_x_url(canonical) or host in _NOT_CREATIONS or canonical in seen:
            continue
        seen.add(canonical)
        title = entity.get("title") if isinstance(entity.get("title"), str) else None
        targets.append(Target(url=canonical, identity=str(identity.url(canonical)), title=title))
    author = post.get("author_id")
    # A post is held for its author; an author id that is not one (never seen) leaves it
    # held for its URL, like a post without an author.
    held_by = identity.try_of(NETWORK, USER_KIND, author) if isinstance(author, str) else None
    targets.append(Target(url=x_post_url(post["id"]), identity=str(held_by) if held_by else None))
    return tuple(targets)


def _url_entities(post: dict) -> Iterable[dict]:
    for holder in (post, post.get("note_tweet") or {}):
        urls = (holder.get("entities") or {}).get("urls") or []
        yield from (u for u in urls if isinstance(u, dict))


def user_identity(user_id: str) -> str:
    """An X user's identity (the actor of what an account did)."""
    return str(identity.of(NETWORK, USER_KIND, user_id))


def like_activity(post: dict, actor_id: str, observed_at: datetime) -> Activity | None:
    """A liked post. X gives no like time, so the like happened when we first saw it."""
    if post.get("author_id") == actor_id:
        return None  # never your own
    return Activity(
        network=NETWORK,
        action="like",
        external_id=post["id"],
        actor=user_identity(actor_id),
        occurred_at=observed_at,
        targets=post_targets(post),
    )


def is_explicit_request(post: dict, service_handle: str | None) -> bool:
    texts = [post.get("text") or "", (post.get("note_tweet") or {}).get("text") or ""]
    if any(_FLATTR_TAG.search(t) for t in texts):
        return True
    entities = post.get("entities") or {}
    if any(str(h.get("tag", "")).lower() == "flattr" for h in entities.get("hashtags") or []):
        return True
    if not service_handle:
        return False
    handle = service_handle.lstrip("@").lower()
    if any(str(m.get("username", "")).lower() == handle for m in entities.get("mentions") or []):
        return True
    pattern = re.compile(rf"(?<!\w)@{re.escape(handle)}\b", re.IGNORECASE)
    return any(pattern.search(t) for t in texts)


def own_post_activity(
    post: dict,
    included: dict[str, dict],
    actor_id: str,
    triggers: frozenset[str],
    service_handle: str | None,
    observed_at: datetime,
) -> Activity | None:
    """A post from the person's own timeline: a repost, a quote, or an explicit request."""
    refs = {
        r.get("type"): r.get("id")
        for r in post.get("referenced_tweets") or []
        if isinstance(r, dict)
    }
    if "retweeted" in refs:
        action, ref_id = "repost", refs["retweeted"]
    elif ("replied_to" in refs or "quoted" in refs) and is_explicit_request(post, service_handle):
        action, ref_id = "explicit", refs.get("replied_to") or refs["quoted"]
    elif "quoted" in refs:
        action, ref_id = "quote", refs["quoted"]
    else:
        return None  # an original post or an ordinary reply
    if action in ("repost", "quote") and "reposts" not in triggers:
        return None
    original = included.get(str(ref_id))
    if original is None:
        # A deleted or withheld original comes back as a partial error: nothing to flattr.
        log.info("post %s references %s, which is not in includes: skipped", post["id"], ref_id)
        return None
    if original.get("author_id") == actor_id:
        return None
    return Activity(
        network=NETWORK,
        action=action,
        external_id=post["id"],
        actor=user_identity(actor_id),
        occurred_at=_created_at(post) or observed_at,
        targets=post_targets(original),
    )


def parse_liked_tweets(body: Any, actor_id: str, observed_at: datetime) -> list[Activity]:
    """Every liked post of one page as an activity (no watermark here: see bots.x)."""
    data, _ = check_page(body)
    return [a for a in (like_activity(p, actor_id, observed_at) for p in data) if a]


def parse_users_tweets(
    body: Any,
    actor_id: str,
    observed_at: datetime,
    triggers: frozenset[str],
    service_handle: str | None = None,
) -> list[Activity]:
    data, included = check_page(body)
    found = (
        own_post_activity(p, included, actor_id, triggers, service_handle, observed_at)
        for p in data
    )
    return [a for a in found if a]


def _created_at(post: dict) -> datetime | None:
    value = post.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
