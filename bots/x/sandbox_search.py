"""What the sandbox's `GET /2/tweets/search/recent` and `GET /2/users/:id/mentions` find
(the HTTP side, paging and errors, is in bots/x/sandbox.py).

The query language is the subset this service sends, as X reads it: hashtags (`#flattr`),
`from:` (a user id or username), `@username` (a mention), plain words, `is:reply`,
`is:quote`, `is:retweet`, negation (`-`), `OR`, parentheses, and juxtaposition as AND
(AND binds tighter than OR). Any other operator is refused, as X refuses an unknown one.
The query may be at most the scenario's `service.x_search_query_limit` characters (512,
X's limit for self-serve access; 1024 Pro; 4096 Enterprise).

Recent search sees the last 7 days only: older posts are never found, and a `since_id` or
`start_time` before the window is refused, as on X. Results are newest first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from bots.sandbox.world import World, references
from bots.x.ids import snowflake_time

SEARCH_WINDOW = timedelta(days=7)
DEFAULT_QUERY_LIMIT = 512

_TOKEN = re.compile(r"\(|\)|-?\"[^\"]*\"|-?[^\s()]+")
_IS = {"is:reply": "replied_to", "is:quote": "quoted", "is:retweet": "retweeted"}
TextOf = Callable[[dict], str]
Predicate = Callable[[dict], bool]


class QueryError(ValueError):
    """A request the sandbox (and X) refuses: its message is the problem's detail."""

    def __init__(self, message: str, parameter: str = "query", value: str = "") -> None:
        super().__init__(message)
        self.parameter, self.value = parameter, value


def query_limit(world: World) -> int:
    return int(world.service.get("x_search_query_limit") or DEFAULT_QUERY_LIMIT)


def parse_query(text: str, world: World, text_of: TextOf) -> Predicate:
    """The query as a predicate over the world's posts; QueryError when X would refuse it."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        raise QueryError("The `query` parameter value is empty", value=text)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def any_of() -> Predicate:
        parts = [all_of()]
        while peek() == "OR":
            take()
            parts.append(all_of())
        return parts[0] if len(parts) == 1 else (lambda p: any(f(p) for f in parts))

    def all_of() -> Predicate:
        parts: list[Predicate] = []
        while (token := peek()) is not None and token not in (")", "OR"):
            parts.append(unary())
        if not parts:
            raise QueryError(f"A term is missing at token {position + 1} of the query",
                             value=text)
        return parts[0] if len(parts) == 1 else (lambda p: all(f(p) for f in parts))

    def unary() -> Predicate:
        token = take()
        if token == "(":
            inner = any_of()
            if peek() != ")":
                raise QueryError("Unbalanced parentheses in the query", value=text)
            take()
            return inner
        if token.startswith("-") and len(token) > 1:
            term = _term(token[1:], world, text_of, text)
            return lambda p: not term(p)
        return _term(token, world, text_of, text)

    predicate = any_of()
    if peek() is not None:
        raise QueryError(f"Unexpected `{peek()}` in the query", value=text)
    return predicate


def _term(token: str, world: World, text_of: TextOf, query: str) -> Predicate:
    lowered = token.lower()
    if lowered.startswith("#") and len(lowered) > 1:
        tag = lowered[1:]
        return lambda p: any(h["tag"].lower() == tag for h in world.hashtags(text_of(p)))
    if lowered.startswith("from:") and len(lowered) > 5:
        who = lowered[5:]
        return lambda p: who in (p["author_id"], _username(world, p["author_id"]))
    if lowered.startswith("@") and len(lowered) > 1:
        name = lowered[1:]
        return lambda p: any(m["username"].lower() == name for m in world.mentions(text_of(p)))
    if lowered in _IS:
        kind = _IS[lowered]
        return lambda p: any(r["type"] == kind for r in references(p))
    if ":" in lowered and not lowered.startswith(("http:", "https:", '"')):
        raise QueryError(f"Reference to invalid operator '{token.split(':')[0]}'", value=query)
    word = lowered.strip('"')
    return lambda p: word in text_of(p).lower()


def _username(world: World, user_id: str) -> str:
    user = world.x_users.get(user_id)
    return user["username"].lower() if user else ""


def search_ids(world: World, query: str, *, since_id: str, start_time: str, now: datetime,
               text_of: TextOf) -> list[str]:
    """Ids of the visible posts the query finds in the 7 days before `now`, newest first."""
    limit = query_limit(world)
    if len(query) > limit:
        raise QueryError(f"The `query` parameter value is {len(query)} characters long; the"
                         f" maximum for this access level is {limit}", value=query)
    matches = parse_query(query, world, text_of)
    oldest = now - SEARCH_WINDOW
    since, start = _bounds(since_id, start_time, oldest)
    with world.lock:
        found = [pid for pid, post in world.x_posts.items()
                 if int(pid) > since and max(oldest, start or oldest) <= post["at"] <= now
                 and not post.get("deleted") and matches(post)]
    return sorted(found, key=int, reverse=True)


def mention_ids(world: World, user_id: str, *, since_id: str, start_time: str, now: datetime,
                text_of: TextOf) -> list[str]:
    """Ids of the visible posts by others that mention this user (reposts aside; the reply
    prefix counts, as on X), newest first."""
    since, start = _bounds(since_id, start_time, None)
    name = _username(world, user_id)
    with world.lock:
        found = [pid for pid, post in world.x_posts.items()
                 if int(pid) > since and post["at"] <= now and (start is None or
                                                                 post["at"] >= start)
                 and post["author_id"] != user_id and not post.get("deleted")
                 and not any(r["type"] == "retweeted" for r in references(post))
                 and any(m["username"].lower() == name for m in world.mentions(text_of(post)))]
    return sorted(found, key=int, reverse=True)


def _bounds(since_text: str, start_text: str,
            oldest: datetime | None) -> tuple[int, datetime | None]:
    try:
        since = int(since_text) if since_text else 0
    except ValueError:
        raise QueryError(f"Invalid 'since_id':'{since_text}'", "since_id", since_text) from None
    try:
        start = (datetime.fromisoformat(start_text.replace("Z", "+00:00"))
                 if start_text else None)
    except ValueError:
        raise QueryError(f"Invalid 'start_time':'{start_text}'", "start_time",
                         start_text) from None
    if oldest is not None and since and snowflake_time(since) < oldest:
        raise QueryError(f"Invalid 'since_id':'{since}'. 'since_id' must be a post id created"
                         f" after {oldest:%Y-%m-%dT%H:%MZ}", "since_id", since_text)
    if oldest is not None and start is not None and start < oldest:
        raise QueryError(f"Invalid 'start_time':'{start_text}'. 'start_time' must be on or"
                         f" after {oldest:%Y-%m-%dT%H:%MZ}", "start_time", start_text)
    return since, start
