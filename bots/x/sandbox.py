"""X API v2 endpoints of the sandbox, with X's JSON shapes, paging and rate-limit headers."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

from bots.sandbox.faults import Fault
from bots.sandbox.replies import Reply, json_reply
from bots.sandbox.request import Request
from bots.sandbox.world import World, references
from bots.x import NETWORK, sandbox_oauth
from bots.x.sandbox_search import QueryError, mention_ids, search_ids
from bots.x.webhook import webhook_secret, x_signature
from config import Settings

WINDOW = timedelta(minutes=15)
# Per user, per 15 minutes, as X documents them.
LIMITS = {
    "users_me": 75,
    "liked_tweets": 75,
    "users_tweets": 900,
    "create_tweet": 200,
    "create_dm": 200,
    # Per app (the search runs with the app's bearer token), as X documents them.
    "search_recent": 450,
    "users_mentions": 450,
}
PAGE_RANGES = {
    "liked_tweets": (5, 100, 100),
    "users_tweets": (5, 100, 10),
    "search_recent": (10, 100, 10),
    "users_mentions": (5, 100, 10),
}
ROUTES = [
    ("GET", re.compile(r"^/2/users/me$"), "users_me"),
    ("GET", re.compile(r"^/2/users/(\d{1,19})/liked_tweets$"), "liked_tweets"),
    ("GET", re.compile(r"^/2/users/(\d{1,19})/tweets$"), "users_tweets"),
    ("GET", re.compile(r"^/2/users/(\d{1,19})/mentions$"), "users_mentions"),
    ("GET", re.compile(r"^/2/tweets/search/recent$"), "search_recent"),
    ("POST", re.compile(r"^/2/tweets$"), "create_tweet"),
    ("POST", re.compile(r"^/2/dm_conversations/with/(\d{1,19})/messages$"), "create_dm"),
]
NOT_FOUND_TYPE = "https://api.twitter.com/2/problems/resource-not-found"
LONG_TEXT = 280  # a long post's `text` is cut here; the whole text is in `note_tweet`


def route_of(method: str, path: str) -> tuple[str, tuple[str, ...]] | None:
    for verb, pattern, name in ROUTES:
        match = pattern.match(path)
        if match and verb == method:
            return name, match.groups()
    return None


def handle(world: World, request: Request) -> Reply:
    found = route_of(request.method, request.path)
    if found is None:
        return x_problem(404, f"no sandbox route {request.method} {request.path}")
    name, args = found
    grant = world.grant_for(request.bearer, NETWORK)
    if grant is None:
        return x_problem(401, "Unauthorized")
    limit, remaining, reset = world.count_request(grant.user_id, name, LIMITS[name], WINDOW)
    headers = rate_headers(limit, max(remaining, 0), reset)
    if remaining < 0:
        return x_problem(429, "Too Many Requests", headers=headers)
    reply = ROUTE_HANDLERS[name](world, request, grant.user_id, *args)
    reply.headers.update(headers)
    return reply


def rate_headers(limit: int, remaining: int, reset: datetime) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(reset.timestamp())),
    }


def _users_me(world: World, request: Request, me: str) -> Reply:
    return json_reply(200, {"data": user_json(world, me)})


def _liked_tweets(world: World, request: Request, me: str, user_id: str) -> Reply:
    if user_id != me:  # likes are private: only the person's own token sees them
        return x_problem(
            403,
            "You can only view your own likes.",
            "https://api.twitter.com/2/problems/not-authorized-for-resource",
        )
    page = _page_args(world, request, "liked_tweets")
    if isinstance(page, Reply):
        return page
    size, snapshot, offset = page
    with world.lock:
        ids = [
            pid
            for at, pid in world.x_likes.get(user_id, [])
            if at <= snapshot and world.visible_x_post(pid)
        ]
    chunk = ids[offset : offset + size]
    more = offset + size < len(ids)
    meta: dict[str, Any] = {"result_count": len(chunk)}
    if more:
        meta["next_token"] = _token(snapshot, offset + size)
    return json_reply(200, posts_body(world, request, chunk, meta))


def _users_tweets(world: World, request: Request, me: str, user_id: str) -> Reply:
    page = _page_args(world, request, "users_tweets")
    if isinstance(page, Reply):
        return page
    size, snapshot, offset = page
    since = int(request.query.get("since_id") or 0)
    with world.lock:
        ids = [
            pid
            for pid in world.x_timeline.get(user_id, [])
            if int(pid) > since and (post := world.visible_x_post(pid)) and post["at"] <= snapshot
        ]
    chunk = ids[offset : offset + size]
    meta: dict[str, Any] = {"result_count": len(chunk)}
    if chunk:
        meta["newest_id"], meta["oldest_id"] = chunk[0], chunk[-1]
    if offset + size < len(ids):
        meta["next_token"] = _token(snapshot, offset + size)
    return json_reply(200, posts_body(world, request, chunk, meta))


def _search_recent(world: World, request: Request, me: str) -> Reply:
    """GET /2/tweets/search/recent: bots/x/sandbox_search.py says what it finds."""
    return _found(world, request, "search_recent", lambda snapshot: search_ids(
        world, request.query.get("query") or "", since_id=request.query.get("since_id") or "",
        start_time=request.query.get("start_time") or "", now=snapshot,
        text_of=lambda post: full_post_text(world, post)))


def _users_mentions(world: World, request: Request, me: str, user_id: str) -> Reply:
    return _found(world, request, "users_mentions", lambda snapshot: mention_ids(
        world, user_id, since_id=request.query.get("since_id") or "",
        start_time=request.query.get("start_time") or "", now=snapshot,
        text_of=lambda post: full_post_text(world, post)))


def _found(world: World, request: Request, route: str, find: Any) -> Reply:
    page = _page_args(world, request, route)
    if isinstance(page, Reply):
        return page
    size, snapshot, offset = page
    try:
        ids = find(snapshot)
    except QueryError as exc:
        return x_problem(400, "One or more parameters to your request was invalid.",
                         "https://api.twitter.com/2/problems/invalid-request",
                         message=str(exc), parameters={exc.parameter: [exc.value]})
    chunk = ids[offset : offset + size]
    meta: dict[str, Any] = {"result_count": len(chunk)}
    if chunk:
        meta["newest_id"], meta["oldest_id"] = chunk[0], chunk[-1]
    if offset + size < len(ids):
        meta["next_token"] = _token(snapshot, offset + size)
    return json_reply(200, posts_body(world, request, chunk, meta))


def _create_tweet(world: World, request: Request, me: str) -> Reply:
    payload = request.json
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        return x_problem(400, "The `text` field is required")
    reply_to = (payload.get("reply") or {}).get("in_reply_to_tweet_id")
    post = world.add_x_post(
        {
            "id": world.next_snowflake(),
            "author_id": me,
            "at": world.current_time(),
            "text": payload["text"],
            "referenced": {"type": "replied_to", "id": reply_to} if reply_to else None,
        }
    )
    world.record_sent(
        network=NETWORK,
        channel="x_reply" if reply_to else "x_mention",
        sender=me,
        text=payload["text"],
        in_reply_to=reply_to,
        external_id=post["id"],
    )
    return json_reply(
        201,
        {"data": {"id": post["id"], "text": post["text"], "edit_history_tweet_ids": [post["id"]]}},
    )


def _create_dm(world: World, request: Request, me: str, participant: str) -> Reply:
    payload = request.json
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        return x_problem(400, "The `text` field is required")
    event_id = world.next_snowflake()
    conversation = "-".join(sorted([me, participant], key=int))
    world.record_sent(
        network=NETWORK,
        channel="x_dm",
        sender=me,
        recipient=participant,
        text=payload["text"],
        external_id=event_id,
    )
    return json_reply(201, {"data": {"dm_conversation_id": conversation, "dm_event_id": event_id}})


ROUTE_HANDLERS: dict[str, Any] = {
    "users_me": _users_me,
    "liked_tweets": _liked_tweets,
    "users_tweets": _users_tweets,
    "search_recent": _search_recent,
    "users_mentions": _users_mentions,
    "create_tweet": _create_tweet,
    "create_dm": _create_dm,
}


def _page_args(world: World, request: Request, route: str) -> tuple[int, datetime, int] | Reply:
    low, high, default = PAGE_RANGES[route]
    try:
        size = int(request.query.get("max_results") or default)
    except ValueError:
        size = -1
    if not low <= size <= high:
        return x_problem(
            400,
            f"The `max_results` query parameter value [{size}] is not between {low} and {high}",
            "https://api.twitter.com/2/problems/invalid-request",
        )
    token = request.query.get("pagination_token") or request.query.get("next_token")
    if not token:
        return size, world.current_time(), 0
    try:
        snapshot, offset = (
            base64.b32decode(token.upper() + "=" * (-len(token) % 8)).decode().rsplit(":", 1)
        )
        return size, datetime.fromisoformat(snapshot), int(offset)
    except (ValueError, UnicodeDecodeError):
        return x_problem(
            400,
            "The `pagination_token` query parameter value is not valid",
            "https://api.twitter.com/2/problems/invalid-request",
        )


def _token(snapshot: datetime, offset: int) -> str:
    raw = f"{snapshot.isoformat()}:{offset}".encode()
    return base64.b32encode(raw).decode().rstrip("=").lower()


def user_json(world: World, user_id: str) -> dict:
    user = world.x_users.get(user_id) or {
        "id": user_id,
        "username": f"user{user_id}"[:15],
        "name": f"User {user_id}",
    }
    return {"id": user["id"], "name": user["name"], "username": user["username"]}


def posts_body(world: World, request: Request, ids: list[str], meta: dict) -> dict:
    """data + includes + errors, shaped by tweet.fields and expansions as X does."""
    fields = set(filter(None, request.query.get("tweet.fields", "").split(",")))
    expansions = set(filter(None, request.query.get("expansions", "").split(",")))
    body: dict[str, Any] = {}
    posts = [world.x_posts[i] for i in ids]
    if posts:
        body["data"] = [post_json(world, p, fields) for p in posts]
    users: dict[str, dict] = {}
    tweets: dict[str, dict] = {}
    errors: list[dict] = []
    if "author_id" in expansions:
        for post in posts:
            users.setdefault(post["author_id"], user_json(world, post["author_id"]))
    if "referenced_tweets.id" in expansions:
        for ref in (r for p in posts for r in references(p)):
            original = world.visible_x_post(str(ref["id"]))
            if original is None:
                errors.append(
                    {
                        "value": str(ref["id"]),
                        "detail": f"Could not find tweet with referenced_tweets.id: [{ref['id']}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "referenced_tweets.id",
                        "resource_id": str(ref["id"]),
                        "type": NOT_FOUND_TYPE,
                    }
                )
                continue
            tweets.setdefault(original["id"], post_json(world, original, fields))
            if "referenced_tweets.id.author_id" in expansions:
                users.setdefault(original["author_id"], user_json(world, original["author_id"]))
    includes: dict[str, Any] = {}
    if users:
        includes["users"] = list(users.values())
    if tweets:
        includes["tweets"] = list(tweets.values())
    if includes:
        body["includes"] = includes
    if errors:
        body["errors"] = errors
    body["meta"] = meta
    return body


def post_json(world: World, post: dict, fields: set[str]) -> dict:
    """One post as X sends it, with the fields asked for. Scenario options (see
    bots/sandbox/scenario.py) shape it as the real API does: several references, X's
    reply prefix and `display_text_range`, edits, `withheld`, long posts (`note_tweet`)."""
    text, urls, shown = _text_and_urls(world, post)
    edits = [str(i) for i in post.get("edits") or []]
    out: dict[str, Any] = {
        "id": post["id"],
        "text": text,
        "edit_history_tweet_ids": [*edits, post["id"]],
    }
    if "author_id" in fields:
        out["author_id"] = post["author_id"]
    if "created_at" in fields:
        out["created_at"] = post["at"].strftime("%Y-%m-%dT%H:%M:%S.000Z")
    refs = references(post)
    if "referenced_tweets" in fields and refs:
        out["referenced_tweets"] = [{"type": r["type"], "id": str(r["id"])} for r in refs]
    replied = next((r for r in refs if r["type"] == "replied_to"), None)
    if "in_reply_to_user_id" in fields and replied and str(replied["id"]) in world.x_posts:
        out["in_reply_to_user_id"] = world.x_posts[str(replied["id"])]["author_id"]
    if "display_text_range" in fields and shown is not None:
        out["display_text_range"] = list(shown)
    if "withheld" in fields and isinstance(post.get("withheld"), dict):
        out["withheld"] = post["withheld"]
    long_post = bool(post.get("long"))
    if long_post:
        # X cuts a long post's `text` (its links and tags are then only in `note_tweet`).
        out["text"] = text if len(text) <= LONG_TEXT else text[: LONG_TEXT - 1] + "\u2026"
    if "entities" in fields:
        entities = _entities(world, out["text"], [] if long_post else urls)
        if entities:
            out["entities"] = entities
    if long_post and "note_tweet" in fields:
        note: dict[str, Any] = {"text": text}
        note_entities = _entities(world, text, urls)
        if note_entities:
            note["entities"] = note_entities
        out["note_tweet"] = note
    return out


def full_post_text(world: World, post: dict) -> str:
    """All of a post's text as X indexes it for search: a long post's whole text, a
    reply's prefix, a repost as "RT @author: ...", its t.co links."""
    return _text_and_urls(world, post)[0]


def _text_and_urls(
    world: World, post: dict
) -> tuple[str, list[dict], tuple[int, int] | None]:
    """The post text with a t.co link per URL, the url entities with their offsets, and
    the displayed range when X put a reply prefix before the text.

    A `urls` item is a URL (expanded and unwound alike) or an entity's fields as X sends
    them: `expanded_url`, `unwound_url` (absent: a short link X did not unwind), `status`,
    `title`, `media_key`. `reply_prefix`: true (the replied-to post's author) or a list of
    usernames, put before the text as X's automatic reply prefix."""
    text = post["text"]
    refs = references(post)
    specs = list(post.get("urls") or [])
    reposted = next((r for r in refs if r["type"] == "retweeted"), None)
    if reposted and reposted["id"] in world.x_posts:
        original = world.x_posts[reposted["id"]]
        author = user_json(world, original["author_id"])["username"]
        text = f"RT @{author}: {original['text']}"[:140]
        specs = list(original.get("urls") or [])
    prefix = _reply_prefix(world, post, refs)
    text = prefix + text
    entities = []
    for n, spec in enumerate(specs):
        spec = {"expanded_url": spec, "unwound_url": spec} if isinstance(spec, str) else dict(spec)
        short = f"https://t.co/{post['id'][-6:]}{n:02d}x"
        start = len(text) + 1
        text = f"{text} {short}"
        entity = {
            "start": start,
            "end": start + len(short),
            "url": short,
            "display_url": (spec.get("expanded_url") or "").split("//")[-1][:24],
        }
        entity.update({k: v for k, v in spec.items() if v is not None})
        entities.append(entity)
    shown = (len(prefix), len(text)) if prefix else None
    return text, entities, shown


def _reply_prefix(world: World, post: dict, refs: list[dict]) -> str:
    wanted = post.get("reply_prefix")
    if not wanted:
        return ""
    if isinstance(wanted, list):
        names = [str(n) for n in wanted]
    else:
        replied = next((r for r in refs if r["type"] == "replied_to"), None)
        original = world.x_posts.get(str(replied["id"])) if replied else None
        names = [user_json(world, original["author_id"])["username"]] if original else []
    return "".join(f"@{name} " for name in names)


def _entities(world: World, text: str, urls: list[dict]) -> dict:
    entities: dict[str, Any] = {}
    if urls:
        entities["urls"] = urls
    mentions = world.mentions(text)
    if mentions:
        entities["mentions"] = mentions
    hashtags = world.hashtags(text)
    if hashtags:
        entities["hashtags"] = hashtags
    return entities


# -- the handler the sandbox server dispatches to (NetworkSpec.sandbox) --------------------


def owns(path: str) -> bool:
    return path.startswith(("/2/", "/i/oauth2/"))


def route(world: World, request: Request) -> Reply | None:
    path = request.path
    if path == "/i/oauth2/authorize":
        return sandbox_oauth.authorize(world, request)
    if path == "/i/oauth2/authorize/approve":
        return sandbox_oauth.approve(world, request)
    if path == "/2/oauth2/token" and request.method == "POST":
        return sandbox_oauth.token(world, request)
    if path.startswith("/2/"):
        return handle(world, request)
    return None


def fault(injected: Fault, now: datetime) -> Reply | None:
    """An injected failure as X answers it; None: answer normally (then maybe spoil it)."""
    if injected.kind == "revoked":
        return x_problem(401, "Unauthorized")
    if injected.kind == "rate_limit":
        reset = now + timedelta(seconds=injected.reset_in_s)
        return x_problem(429, "Too Many Requests", headers=rate_headers(75, 0, reset))
    if injected.kind == "usage_capped":
        return x_problem(429, "Usage cap exceeded: Monthly product cap",
                         "https://api.twitter.com/2/problems/usage-capped")
    if injected.kind == "status":
        return x_problem(injected.status)
    if injected.kind == "oauth_no_code":
        return x_problem(401, "Unauthorized")
    if injected.kind == "not_transient":
        return x_problem(injected.status)
    if injected.kind == "problem":  # a failed request answered 200: errors, no data/meta
        return json_reply(200, {"errors": [{
            "value": "0",
            "detail": "Could not find user with id: [0].",
            "title": "Not Found Error",
            "resource_type": "user",
            "parameter": "id",
            "resource_id": "0",
            "type": NOT_FOUND_TYPE,
        }]})
    return None


_X_TITLES = {
    400: "Invalid Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found Error",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def x_problem(
    status: int,
    detail: str | None = None,
    problem_type: str = "about:blank",
    headers: dict[str, str] | None = None,
    *,
    message: str | None = None,
    parameters: dict[str, list[str]] | None = None,
) -> Reply:
    """X API v2 errors are RFC 7807 problem+json (a 400 lists what was wrong in `errors`)."""
    title = _X_TITLES.get(status, "Error")
    payload: dict[str, Any] = {
        "title": title,
        "detail": detail or title,
        "type": problem_type,
        "status": status,
    }
    if status == 400:
        payload["errors"] = [{"message": message or detail or title,
                               "parameters": parameters or {}}]
    return json_reply(status, payload, headers, "application/problem+json")


# -- what X pushes: Account Activity API and X Activity API events, as the sandbox builds them

SANDBOX_APP_ID = "29820954"


def account_activity_event(
    kind: str, user_id: str, now: datetime, *, post_id: str = "1", author_id: str = "1"
) -> dict:
    """An Account Activity API POST body: 'revoke' (`user_event.revoke`), 'like' (a
    `favorite_events` like by the subscribed user), 'post' (`tweet_create_events`)."""
    if kind == "revoke":
        return {"user_event": {"revoke": {
            "date_time": now.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "target": {"app_id": SANDBOX_APP_ID}, "source": {"user_id": user_id}}}}
    stamp = now.strftime("%a %b %d %H:%M:%S +0000 %Y")
    me = {"id_str": user_id, "screen_name": f"user{user_id}"[:15]}
    if kind == "like":
        return {"for_user_id": user_id, "favorite_events": [{
            "id": f"{post_id}-{user_id}", "created_at": stamp,
            "timestamp_ms": int(now.timestamp() * 1000),
            "favorited_status": {"id_str": post_id, "user": {"id_str": author_id}},
            "user": me}]}
    if kind == "post":
        return {"for_user_id": user_id, "tweet_create_events": [{
            "id_str": post_id, "created_at": stamp, "text": "", "user": me}]}
    raise ValueError(f"unknown account activity event {kind!r}")


def activity_api_event(
    kind: str, user_id: str, now: datetime, *, post_id: str = "1", author_id: str = "1",
    direction: str = "outbound",
) -> dict:
    """An X Activity API POST body: 'oauth.revoke', 'like.create' (a like by the person,
    `direction` outbound; inbound: someone liked the person's post), 'post.create'."""
    seed = f"{kind}:{user_id}:{post_id}:{now.isoformat()}".encode()
    uuid = str(int(hashlib.sha256(seed).hexdigest()[:15], 16))
    if kind == "oauth.revoke":
        return {"data": {"event_uuid": uuid, "filter": {}, "event_type": kind, "payload": {
            "date_time": now.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "user_id": user_id,
            "app_id": SANDBOX_APP_ID}}}
    created = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if kind == "like.create":
        return {"data": {"event_uuid": uuid, "filter": {"user_id": user_id,
                                                        "direction": direction},
                         "event_type": kind, "tag": "likes", "payload": {
                             "id": uuid, "created_at": created,
                             "timestamp_ms": str(int(now.timestamp() * 1000)),
                             "liked_tweet_author_id": author_id, "liked_tweet_id": post_id}}}
    if kind == "post.create":
        return {"data": {"event_uuid": uuid, "filter": {"user_id": user_id},
                         "event_type": kind, "tag": "posts", "payload": {
                             "id": post_id, "author_id": user_id, "created_at": created,
                             "text": ""}}}
    raise ValueError(f"unknown X Activity API event {kind!r}")


def signed_webhook(body: dict, consumer_secret: str) -> tuple[bytes, dict[str, str]]:
    """The raw POST body and the headers X sends with it."""
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json",
                 "x-twitter-webhooks-signature": x_signature(consumer_secret, raw)}


def pushes(world: World, settings: Settings, since: datetime, until: datetime
           ) -> list[tuple[bytes, dict[str, str]]]:
    """Account Activity events for what subscribed users did in (since, until]: their
    likes, and their own posts (reposts, quotes, #flattr replies)."""
    secret = webhook_secret(settings)
    found = []
    for user_id in world.subscribers(NETWORK):
        with world.lock:
            likes = [(at, post_id) for at, post_id in world.x_likes.get(user_id, [])
                     if since < at <= until]
            own = [post for post_id in world.x_timeline.get(user_id, [])
                   if since < (post := world.x_posts[post_id])["at"] <= until]
        for at, post_id in likes:
            author = str(world.x_posts.get(post_id, {}).get("author_id", "1"))
            found.append(signed_webhook(account_activity_event(
                "like", user_id, at, post_id=post_id, author_id=author), secret))
        for post in own:
            found.append(signed_webhook(account_activity_event(
                "post", user_id, post["at"], post_id=post["id"]), secret))
    return found
