"""Graph API response bodies -> activities, and Graph errors -> statuses. Pure functions,
shared by the live adapter, `flattr bots parse` and the fixture tests. Reads both the
current shape (`status_type`, `attachments{unshimmed_url,url}`) and the older one
(`type`, `link`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bots.base import MalformedResponse
from bots.facebook import NETWORK, PAGE_KIND, USER_KIND
from core import identity, logs
from core.activity import Activity, Target
from core.urls import InvalidURL, canonicalize, is_creation_host

LIKE_FIELDS = "id,name,created_time"
POST_FIELDS = (
    "id,created_time,status_type,permalink_url,"
    "attachments{type,url,unshimmed_url,title,target,subattachments},child_attachments"
)
DEAD_TOKEN_CODES = frozenset({102, 190})
MISSING_PERMISSION_CODES = frozenset({10, *range(200, 300)})
THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001, 80004})
# "Unknown" (1) and "service" (2) errors: retried, but only this many times in a row.
TRANSIENT_CODES = frozenset({1, 2})
TRANSIENT_RETRY_LIMIT = 3
# User webhook fields that can mean a new flattr: a shared link (feed) or a liked Page.
POLL_FIELDS = frozenset({"feed", "likes"})
_CODE_IN_MESSAGE = re.compile(r"^\(#(\d{1,6})\)")
_DEAD_TOKEN_TEXT = re.compile(
    r"access token|session has expired|session has been invalidated|invalid_token",
    re.IGNORECASE,
)


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


@dataclass(frozen=True)
class GraphError:
    """What a Graph error body means for the account.

    `status`: 'needs_reconnect' (dead token or missing permission), 'throttled',
    'retry' or 'error'. `retry_limit`: None when a 'retry' may go on with backoff;
    a number when only that many retries in a row are sensible (then give up with
    status 'error' and say why); 0 for anything that is not retried.
    """

    status: str
    message: str
    code: int | None = None
    subcode: int | None = None
    transient: bool | None = None
    retry_limit: int | None = 0


def classify(
    body: Any, *, http_status: int | None = None, www_authenticate: str | None = None
) -> GraphError:
    """Read a Graph error body {"error": {...}}, with the HTTP status and the
    WWW-Authenticate header when the caller has them (facebook-sdk drops both).

    A dead token is code 190 (any subcode) or 102, or an OAuthException that carries no
    code but is refused as unauthenticated (HTTP 401/403, `WWW-Authenticate: OAuth
    ... invalid_token`, or a message about the access token). `is_transient: true` is
    retried with backoff; codes 1 and 2 are retried at most TRANSIENT_RETRY_LIMIT times;
    anything else with `is_transient: false` is an error, never retried.
    """
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphError("error", f"facebook error: {str(body)[:200]}")
    message = str(error.get("message") or "")
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    if code is None:
        found = _CODE_IN_MESSAGE.match(message)
        code = int(found.group(1)) if found else None
    transient = error.get("is_transient")
    transient = transient if isinstance(transient, bool) else None
    text = f"facebook error {code if code is not None else error.get('type', '?')}"
    text += (f"/{subcode}" if subcode else "") + f": {message}"[:300]
    if code in DEAD_TOKEN_CODES or code in MISSING_PERMISSION_CODES:
        return GraphError("needs_reconnect", text, code, subcode, transient)
    if code is None and _unauthenticated(error, message, http_status, www_authenticate):
        return GraphError("needs_reconnect", text, code, subcode, transient)
    if code in THROTTLE_CODES:
        return GraphError("throttled", text, code, subcode, transient, None)
    if code in TRANSIENT_CODES:
        limit = TRANSIENT_RETRY_LIMIT
        note = f" (retried at most {limit} times in a row"
        note += ", Graph says it is not transient)" if transient is False else ")"
        return GraphError("retry", text + note, code, subcode, transient, limit)
    if transient:
        return GraphError("retry", text, code, subcode, transient, None)
    return GraphError("error", text, code, subcode, transient)


def classify_error(
    body: Any, *, http_status: int | None = None, www_authenticate: str | None = None
) -> tuple[str, str]:
    """(status, message) for a Graph error body: see classify()."""
    found = classify(body, http_status=http_status, www_authenticate=www_authenticate)
    return found.status, found.message


def _unauthenticated(
    error: dict, message: str, http_status: int | None, www_authenticate: str | None
) -> bool:
    if error.get("type") != "OAuthException" or error.get("error_subcode") is not None:
        return False
    header = www_authenticate or ""
    return (
        http_status in (401, 403)
        or "invalid_token" in header
        or bool(_DEAD_TOKEN_TEXT.search(message))
    )


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


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
    return Target(url=url, identity=str(page) if page else None, title=name,
                  holder_name=name if page else None)


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
    """The outside link a post shares, if any.

    Read in order: each attachment's own link (unshimmed_url, url, target.url, an
    embedded player's source), the links of its subattachments (a carousel's cards; an
    album's photos are Facebook's own), the post's child_attachments (carousels), then the
    older `link` field. The first outside creation wins: never a Facebook page, photo or
    album, an X page, or a short link that cannot be read.
    """
    for raw, title in _link_candidates(item):
        if not isinstance(raw, str):
            continue
        try:
            canonical = canonicalize(raw)  # also unwraps l.facebook.com/l.php?u=...
        except InvalidURL:
            continue
        if not is_creation_host(canonical):
            continue
        return Target(
            url=canonical,
            identity=str(identity.url(canonical)),
            title=title if isinstance(title, str) else None,
        )
    return None


def _link_candidates(item: dict) -> Iterator[tuple[Any, Any]]:
    for attachment in _data(item.get("attachments")):
        title = attachment.get("title")
        yield from ((raw, title) for raw in _attachment_links(attachment))
        for sub in _data(attachment.get("subattachments")):
            yield from ((raw, sub.get("title") or title) for raw in _attachment_links(sub))
    children = item.get("child_attachments")
    for child in children if isinstance(children, list) else []:
        if isinstance(child, dict):
            yield child.get("link"), child.get("name")
    yield item.get("link"), item.get("name")


def _attachment_links(attachment: dict) -> list[Any]:
    target, media = attachment.get("target"), attachment.get("media")
    return [
        attachment.get("unshimmed_url"),
        attachment.get("url"),
        target.get("url") if isinstance(target, dict) else None,
        media.get("source") if isinstance(media, dict) else None,
    ]


def _data(edge: Any) -> list[dict]:
    listed = edge.get("data") if isinstance(edge, dict) else None
    return [d for d in listed if isinstance(d, dict)] if isinstance(listed, list) else []


def share_activity(item: dict, actor_id: str, observed_at: datetime) -> Activity | None:
    """A post that shares an outside link; status updates, photos and unknown types with no
    outside link are not creations and yield nothing."""
    target = shared_link(item)
    if target is None:
        logs.event("facebook.no_outside_link", level=logging.DEBUG, post=item.get("id"),
                   type=item.get("status_type") or item.get("type"))
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
    """User ids whose feed or likes changed, from a user webhook POST (an event only says
    that something changed: poll that person now). Reads the current shape
    (`entry[].changes[].field`) and the older one (`entry[].changed_fields`). Changes to
    fields that mean nothing to us (email, photos, ...) schedule nothing."""
    if not isinstance(webhook_body, dict) or webhook_body.get("object") != "user":
        return []
    ids: list[str] = []
    for entry in webhook_body.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        fields = {f for f in entry.get("changed_fields") or [] if isinstance(f, str)}
        changes = entry.get("changes")
        for change in changes if isinstance(changes, list) else []:
            if isinstance(change, dict) and isinstance(change.get("field"), str):
                fields.add(change["field"])
        user = entry.get("uid") or entry.get("id")
        if fields & POLL_FIELDS and isinstance(user, str | int) and str(user) not in ids:
            ids.append(str(user))
    return ids
