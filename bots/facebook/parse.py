"""Graph API response bodies -> activities, and Graph errors -> statuses. Pure functions,
shared by the live adapter, `flattr bots parse` and the fixture tests. Reads both the
current shape (`status_type`, `attachments{unshimmed_url,url}`) and the older one
(`type`, `link`)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bots.base import MalformedResponse
from bots.facebook import NETWORK, PAGE_KIND, USER_KIND
from core import identity
from core.activity import Activity, Target
from core.urls import InvalidURL, canonicalize

log = logging.getLogger(__name__)

LIKE_FIELDS = "id,name,created_time"
POST_FIELDS = "id,created_time,status_type,permalink_url,attachments{type,url,unshimmed_url,title}"
DEAD_TOKEN_CODES = frozenset({102, 190})
MISSING_PERMISSION_CODES = frozenset({10, *range(200, 300)})
THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001, 80004})
TRANSIENT_CODES = frozenset({1, 2})
# Links to Facebook itself are photos, videos or posts on Facebook, never an outside creation.
_FACEBOOK_HOSTS = ("facebook.com", "fb.com", "fb.me", "fb.watch", "fbcdn.net", "fbsbx.com")


def check_list(body: Any) -> tuple[list[dict], dict]:
    """Validate a Graph list body; returns its items and its paging object."""
    if not isinstance(body, dict):
        raise MalformedResponse(f"expected a JSON object, got {type(body).__name__}")
    if "error" in body:
        raise MalformedResponse(f"an error body where a list was expected: {body['error']}")
    data = body.get("data")
    if not isinstance(data, list):
        raise MalformedResponse("no 'data' list in a Graph list response")
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise MalformedResponse(f"an item without a string id: {str(item)[:120]}")
    paging = body.get("paging") or {}
    return data, paging if isinstance(paging, dict) else {}


def classify_error(body: Any) -> tuple[str, str]:
    """(status, message) for a Graph error body {"error": {...}}.

    'needs_reconnect' for a dead token (190 with any subcode: expired, logged out, revoked,
    password changed) or a missing permission; 'throttled' for the slow-down codes; 'retry'
    for transient errors; 'error' otherwise.
    """
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "error", f"facebook error: {str(body)[:200]}"
    code, subcode = error.get("code"), error.get("error_subcode")
    text = f"facebook error {code}" + (f"/{subcode}" if subcode else "")
    text += f": {error.get('message', '')}"[:300]
    if code in DEAD_TOKEN_CODES or code in MISSING_PERMISSION_CODES:
        return "needs_reconnect", text
    if code in THROTTLE_CODES:
        return "throttled", text
    if code in TRANSIENT_CODES or error.get("is_transient"):
        return "retry", text
    return "error", text


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def page_target(page_id: str, name: str | None) -> Target:
    url = canonicalize(f"https://www.facebook.com/{page_id}")
    # A Page is held for its identity; an id that is not a Page's (never seen) leaves it
    # held for its URL, as X does with a post whose author id is not one.
    page = identity.try_of(NETWORK, PAGE_KIND, page_id)
    return Target(url=url, identity=str(page) if page else None, title=name)


def user_identity(user_id: str) -> str:
    """A Facebook user's identity (the actor of what an account did)."""
    return str(identity.of(NETWORK, USER_KIND, user_id))


def page_like_activity(item: dict, actor_id: str, observed_at: datetime) -> Activity:
    name = item.get("name") if isinstance(item.get("name"), str) else None
    return Activity(
        network=NETWORK,
        action="page_like",
        external_id=item["id"],
        actor=user_identity(actor_id),
        occurred_at=parse_time(item.get("created_time")) or observed_at,
        targets=(page_target(item["id"], name),),
    )


def shared_link(item: dict) -> Target | None:
    """The outside link a post shares, if any: attachments first, then the old `link`."""
    candidates: list[tuple[Any, Any]] = []
    attachments = item.get("attachments")
    listed = attachments.get("data") if isinstance(attachments, dict) else None
    for attachment in listed if isinstance(listed, list) else []:
        if isinstance(attachment, dict):
            raw = attachment.get("unshimmed_url") or attachment.get("url")
            candidates.append((raw, attachment.get("title")))
    candidates.append((item.get("link"), item.get("name")))
    for raw, title in candidates:
        if not isinstance(raw, str):
            continue
        try:
            canonical = canonicalize(raw)  # also unwraps l.facebook.com/l.php?u=...
        except InvalidURL:
            continue
        if _is_facebook(canonical):
            continue
        return Target(
            url=canonical,
            identity=str(identity.url(canonical)),
            title=title if isinstance(title, str) else None,
        )
    return None


def share_activity(item: dict, actor_id: str, observed_at: datetime) -> Activity | None:
    """A post that shares an outside link; status updates, photos and unknown types with no
    outside link are not creations and yield nothing."""
    target = shared_link(item)
    if target is None:
        log.debug(
            "facebook post %s (%s) shares no outside link",
            item.get("id"),
            item.get("status_type") or item.get("type"),
        )
        return None
    return Activity(
        network=NETWORK,
        action="share",
        external_id=item["id"],
        actor=user_identity(actor_id),
        occurred_at=parse_time(item.get("created_time")) or observed_at,
        targets=(target,),
    )


def parse_likes(body: Any, actor_id: str, observed_at: datetime) -> list[Activity]:
    items, _ = check_list(body)
    return [page_like_activity(i, actor_id, observed_at) for i in items]


def parse_posts(body: Any, actor_id: str, observed_at: datetime) -> list[Activity]:
    items, _ = check_list(body)
    return [a for a in (share_activity(i, actor_id, observed_at) for i in items) if a]


def users_to_poll(webhook_body: Any) -> list[str]:
    """User ids whose feed or likes changed, from a webhook POST (a user `feed` event only
    says that something changed: poll that person now). Anything else yields []."""
    if not isinstance(webhook_body, dict) or webhook_body.get("object") != "user":
        return []
    ids = []
    for entry in webhook_body.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        fields = set(entry.get("changed_fields") or [])
        user = entry.get("uid") or entry.get("id")
        if fields & {"feed", "likes"} and user is not None:
            ids.append(str(user))
    return ids


def _is_facebook(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return any(host == h or host.endswith("." + h) for h in _FACEBOOK_HOSTS)
