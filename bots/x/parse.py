"""X API v2 response bodies -> activities. Pure functions over the decoded JSON, shared by
the live adapter, the `flattr bots parse` command and the fixture tests."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bots.base import MalformedResponse
from bots.x import NETWORK, USER_KIND
from core import identity, logs
from core.activity import Activity, Target
from core.urls import is_creation_host, pick_entity_url, x_post_url

TWEET_FIELDS = [
    "author_id",
    "created_at",
    "display_text_range",
    "entities",
    "note_tweet",
    "referenced_tweets",
]
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]
USER_FIELDS = ["username"]
AUTHOR_KEY = "_author"  # not X's: check_page puts the included author there
TITLE_LENGTH = 80
_SHORT_LINK = re.compile(r"https?://t\.co/\S+")
_FLATTR_TAG = re.compile(r"(?<![\w#])#flattr\b", re.IGNORECASE)
# X's automatic reply prefix: the handles of the people replied to, before the text.
_REPLY_PREFIX = re.compile(r"(?:[ \t\n\u00a0]*@[A-Za-z0-9_]{1,15}(?![A-Za-z0-9_]))+")


def check_page(body: Any) -> tuple[list[dict], dict[str, dict]]:
    """Validate a list endpoint body; returns its posts and the included posts by id.
    Each post whose author the page includes gains AUTHOR_KEY: that user's name and
    username (how the pages name whoever holds the post).

    An RFC 7807 problem (`type`/`title`/`detail` and no `data`) or an `errors` list with
    neither `data` nor `meta` is an error, never an empty page. Errors that come with
    `data` or `meta` are partial (a deleted referenced post): the page still parses.
    """
    if not isinstance(body, dict):
        raise MalformedResponse(f"expected a JSON object, got {type(body).__name__}")
    problem = problem_of(body)
    if problem is not None:
        raise MalformedResponse(f"an error body where a page was expected: {problem}")
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
    authors = _included_users(includes)
    for post in (*data, *included.values()):  # who wrote it, for the pages (core.names)
        author = authors.get(str(post.get("author_id")))
        if author is not None:
            post[AUTHOR_KEY] = author
    return data, included


def _included_users(includes: dict) -> dict[str, dict[str, str]]:
    users = includes.get("users")
    found: dict[str, dict[str, str]] = {}
    for user in users if isinstance(users, list) else []:
        if isinstance(user, dict) and user.get("id"):
            found[str(user["id"])] = {k: user[k] for k in ("name", "username")
                                      if isinstance(user.get(k), str)}
    return found


def problem_of(body: dict) -> str | None:
    """A one-line description when a body is an error rather than a page, else None."""
    if "data" in body:
        return None
    kind, title, detail = (body.get(k) for k in ("type", "title", "detail"))
    if isinstance(kind, str) and isinstance(title, str):
        return " ".join(f"{title}: {detail if isinstance(detail, str) else kind}".split())[:300]
    errors = body.get("errors")
    if "meta" not in body and isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], dict) else {}
        text = first.get("detail") or first.get("message") or first.get("title") or errors[0]
        return " ".join(f"{len(errors)} error(s): {text}".split())[:300]
    return None


def included_usernames(body: Any) -> dict[str, str]:
    """User id -> lower-case username, from `includes.users` (empty when absent)."""
    includes = body.get("includes") if isinstance(body, dict) else None
    users = includes.get("users") if isinstance(includes, dict) else None
    names: dict[str, str] = {}
    for user in users if isinstance(users, list) else []:
        if isinstance(user, dict) and isinstance(user.get("username"), str) and user.get("id"):
            names[str(user["id"])] = user["username"].lower()
    return names


def next_token(body: dict) -> str | None:
    token = body.get("meta", {}).get("next_token")
    return token if isinstance(token, str) and token else None


def post_targets(post: dict) -> tuple[Target, ...]:
    """Links of a post (canonical, deduplicated), then the post itself, last.

    A link is taken as core.urls.pick_entity_url reads its entity (the expanded URL, or
    the unwound one behind a shortener); X's own pages (help pages, media, t.co, other
    posts), Facebook's pages and short links that cannot be unwound are never creations.
    """
    targets: list[Target] = []
    seen: set[str] = set()
    for entity in _url_entities(post):
        if entity.get("media_key"):
            continue
        canonical = pick_entity_url(entity)
        if canonical is None or not is_creation_host(canonical) or canonical in seen:
            continue
        seen.add(canonical)
        title = entity.get("title") if isinstance(entity.get("title"), str) else None
        targets.append(Target(url=canonical, identity=str(identity.url(canonical)), title=title))
    author = post.get("author_id")
    # A post is held for its author; an author id that is not one (never seen) leaves it
    # held for its URL, like a post without an author.
    held_by = identity.try_of(NETWORK, USER_KIND, author) if isinstance(author, str) else None
    names = post.get(AUTHOR_KEY) if held_by else None
    names = names if isinstance(names, dict) else {}
    targets.append(Target(url=x_post_url(post["id"]), identity=str(held_by) if held_by else None,
                          title=post_title(post), holder_name=names.get("name"),
                          holder_handle=names.get("username")))
    return tuple(targets)


def post_title(post: dict) -> str | None:
    """The start of a post's text, as a title: without X's reply prefix and short links,
    on one line, at most TITLE_LENGTH characters (cut at a word, with an ellipsis)."""
    note = post.get("note_tweet")
    text = note.get("text") if isinstance(note, dict) else None
    if not isinstance(text, str) or not text:
        plain = post.get("text")
        text = plain[reply_prefix_end(post, plain):] if isinstance(plain, str) else ""
    else:
        text = text[reply_prefix_end(post, text, use_range=False):]
    words = " ".join(_SHORT_LINK.sub(" ", text).split())
    if len(words) <= TITLE_LENGTH:
        return words or None
    cut = words[: TITLE_LENGTH - 1].rsplit(" ", 1)[0] or words[: TITLE_LENGTH - 1]
    return cut + "\u2026"


def _url_entities(post: dict) -> Iterable[dict]:
    for holder in (post, post.get("note_tweet") or {}):
        urls = (holder.get("entities") or {}).get("urls") or []
        yield from (u for u in urls if isinstance(u, dict))


def user_identity(user_id: str) -> str:
    """An X user's identity (the actor of what an account did)."""
    return str(identity.of(NETWORK, USER_KIND, user_id))


def like_activity(
    post: dict,
    actor_id: str,
    observed_at: datetime,
    service_id: str | None = None,
    *,
    service_handle: str | None = None,
    usernames: dict[str, str] | None = None,
) -> Activity | None:
    """A liked post. X gives no like time, so the like happened when we first saw it.
    Nobody flattrs their own post, and nobody flattrs the service's account (by id, or by
    handle through the page's `includes.users`)."""
    author = post.get("author_id")
    if author is not None and author == actor_id:
        return None
    if is_service_account(author, service_handle, service_id, usernames):
        return None
    return Activity(
        network=NETWORK,
        action="like",
        external_id=post["id"],
        actor=user_identity(actor_id),
        occurred_at=observed_at,
        targets=post_targets(post),
    )


def is_reply(post: dict) -> bool:
    refs = post.get("referenced_tweets") or []
    return bool(post.get("in_reply_to_user_id")) or any(
        isinstance(r, dict) and r.get("type") == "replied_to" for r in refs
    )


def reply_prefix_end(post: dict, text: str, *, use_range: bool = True) -> int:
    """Where what the person wrote begins in `text`: after X's automatic reply prefix.

    `display_text_range` says it when present (for `text` only); otherwise, in a reply,
    the prefix is the leading run of @handles. Outside replies nothing is a prefix.
    """
    shown = post.get("display_text_range") if use_range else None
    if (
        isinstance(shown, list)
        and len(shown) == 2
        and all(isinstance(i, int) and not isinstance(i, bool) for i in shown)
    ):
        return max(0, min(shown[0], len(text)))
    if not is_reply(post):
        return 0
    match = _REPLY_PREFIX.match(text)
    return match.end() if match else 0


def is_explicit_request(
    post: dict, service_handle: str | None, service_id: str | None = None
) -> bool:
    """Did the person ask, in what they wrote, to flattr? A #flattr tag, or a mention of
    the service (by handle or account id). Mentions in X's automatic reply prefix are not
    a request: they only say whom the post answers."""
    handle = (service_handle or "").lstrip("@").lower()
    raw_note = post.get("note_tweet")
    note: dict = raw_note if isinstance(raw_note, dict) else {}
    parts = [(post, str(post.get("text") or ""), True), (note, str(note.get("text") or ""), False)]
    for holder, text, use_range in parts:
        start = reply_prefix_end(post, text, use_range=use_range)
        written = text[start:]
        if _FLATTR_TAG.search(written):
            return True
        entities = holder.get("entities") or {}
        if any(str(h.get("tag", "")).lower() == "flattr" for h in _dicts(entities, "hashtags")):
            return True
        for mention in _dicts(entities, "mentions"):
            at = mention.get("start")
            if isinstance(at, int) and at < start:
                continue  # the reply prefix
            if handle and str(mention.get("username", "")).lower() == handle:
                return True
            if service_id and str(mention.get("id", "")) == service_id:
                return True
        if handle and re.search(rf"(?<![\w@])@{re.escape(handle)}\b", written, re.IGNORECASE):
            return True
    return False


def _dicts(entities: Any, key: str) -> list[dict]:
    items = entities.get(key) if isinstance(entities, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def is_service_account(
    author_id: Any,
    service_handle: str | None,
    service_id: str | None,
    usernames: dict[str, str] | None = None,
) -> bool:
    """Is this author the service's own account (by id, or by handle through the
    page's `includes.users`)?"""
    if not isinstance(author_id, str) or not author_id:
        return False
    if service_id and author_id == service_id:
        return True
    handle = (service_handle or "").lstrip("@").lower()
    return bool(handle) and (usernames or {}).get(author_id) == handle


def own_post_activity(
    post: dict,
    included: dict[str, dict],
    actor_id: str,
    triggers: frozenset[str],
    service_handle: str | None,
    observed_at: datetime,
    *,
    service_id: str | None = None,
    usernames: dict[str, str] | None = None,
) -> Activity | None:
    """A post from the person's own timeline: a repost, a quote, or an explicit request.
    Never the person's own post, never the service's account (a reply to the service's
    own post flattrs nobody)."""
    refs = {
        r.get("type"): r.get("id")
        for r in post.get("referenced_tweets") or []
        if isinstance(r, dict)
    }
    if "retweeted" in refs:
        action, ref_id = "repost", refs["retweeted"]
    elif ("replied_to" in refs or "quoted" in refs) and is_explicit_request(
        post, service_handle, service_id
    ):
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
        logs.event("x.reference_missing", level=logging.DEBUG, post=post["id"],
                   references=ref_id)
        return None
    author = original.get("author_id")
    if author == actor_id or is_service_account(author, service_handle, service_id, usernames):
        return None
    return Activity(
        network=NETWORK,
        action=action,
        external_id=post["id"],
        actor=user_identity(actor_id),
        occurred_at=_created_at(post) or observed_at,
        targets=post_targets(original),
    )


def parse_liked_tweets(
    body: Any,
    actor_id: str,
    observed_at: datetime,
    service_id: str | None = None,
    service_handle: str | None = None,
) -> list[Activity]:
    """Every liked post of one page as an activity (no watermark here: see bots.x)."""
    data, _ = check_page(body)
    usernames = included_usernames(body)
    found = (
        like_activity(
            p, actor_id, observed_at, service_id, service_handle=service_handle, usernames=usernames
        )
        for p in data
    )
    return [a for a in found if a]


def parse_users_tweets(
    body: Any,
    actor_id: str,
    observed_at: datetime,
    triggers: frozenset[str],
    service_handle: str | None = None,
    service_id: str | None = None,
) -> list[Activity]:
    data, included = check_page(body)
    usernames = included_usernames(body)
    found = (
        own_post_activity(
            p,
            included,
            actor_id,
            triggers,
            service_handle,
            observed_at,
            service_id=service_id,
            usernames=usernames,
        )
        for p in data
    )
    return [a for a in found if a]


@dataclass(frozen=True)
class WebhookAction:
    """What an X webhook event asks of us: 'revoke' (the person removed our access: mark
    the account as needing a reconnect) or 'poll' (something happened: make it due)."""

    action: str
    user_id: str


def webhook_actions(body: Any) -> list[WebhookAction]:
    """The actions in one X webhook POST, for the Account Activity API (`user_event`
    revoke, `favorite_events`, `tweet_create_events` keyed by `for_user_id`) and the X
    Activity API (`data.event_type` oauth.revoke, like.create, post.create). Events we do
    not use (follows, DMs, mentions by others, likes of the person's posts) yield nothing."""
    found: list[WebhookAction] = []
    if isinstance(body, dict):
        found = _account_activity(body) + _activity_api(body.get("data"))
    return list(dict.fromkeys(found))


def _account_activity(body: dict) -> list[WebhookAction]:
    actions = []
    event = body.get("user_event")
    revoke = event.get("revoke") if isinstance(event, dict) else None
    source = revoke.get("source") if isinstance(revoke, dict) else None
    user = source.get("user_id") if isinstance(source, dict) else None
    if _is_id(user):
        actions.append(WebhookAction("revoke", str(user)))
    subject = body.get("for_user_id")
    if not _is_id(subject):
        return actions
    likes = [e.get("user") for e in _dicts(body, "favorite_events")]
    posts = [e.get("user") for e in _dicts(body, "tweet_create_events")]
    if any(_by(who, str(subject)) for who in likes + posts):
        actions.append(WebhookAction("poll", str(subject)))
    return actions


def _by(user: Any, user_id: str) -> bool:
    """Was this event's user (a v1.1 user object) the subscribed person? Unknown: yes."""
    if not isinstance(user, dict):
        return True
    return str(user.get("id_str") or user.get("id") or user_id) == user_id


def _activity_api(event: Any) -> list[WebhookAction]:
    if not isinstance(event, dict):
        return []
    kind = event.get("event_type")
    raw_payload, raw_filter = event.get("payload"), event.get("filter")
    payload: dict = raw_payload if isinstance(raw_payload, dict) else {}
    matched: dict = raw_filter if isinstance(raw_filter, dict) else {}
    subject = matched.get("user_id")
    if kind == "oauth.revoke" and _is_id(payload.get("user_id")):
        return [WebhookAction("revoke", str(payload["user_id"]))]
    if not _is_id(subject):
        return []
    if kind == "like.create":
        direction = matched.get("direction")
        liked_own = str(payload.get("liked_tweet_author_id")) == str(subject)
        if direction == "outbound" or (direction is None and not liked_own):
            return [WebhookAction("poll", str(subject))]
    if kind == "post.create":
        return [WebhookAction("poll", str(subject))]
    return []


def _is_id(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value).isdigit()


def _created_at(post: dict) -> datetime | None:
    value = post.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
