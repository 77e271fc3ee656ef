"""Explicit requests found where X indexes them, not by reading every timeline (issue 16).

X bills every post an app reads. A `#flattr` reply or quote is rare among what people
post, so reading each linked person's timeline (`GET /2/users/:id/tweets`) to find them
pays for every ordinary post; here the app asks X for the requests alone:

- `GET /2/tweets/search/recent` with `#flattr (is:reply OR is:quote) -is:retweet
  (from:ID OR from:ID ...)`: the linked people are packed in groups (streams
  "search:N") whose query stays under the deployment's query length limit
  (`FLATTR_X_SEARCH_QUERY_LIMIT`: 512 characters for self-serve access, 1024 Pro, 4096
  Enterprise), each with its own `since_id`, polled at least every SEARCH_MAX_DELAY
  (recent search sees 7 days only);
- `GET /2/users/:id/mentions` of the service account (stream "mentions", `since_id`):
  requests made by mentioning it. Without the service's user id, `@handle` joins the
  search terms instead.

Restricted or not: a query for `#flattr` alone (filtered here to linked people) needs one
request per poll instead of one per group, but reads every #flattr post anyone on X makes.
Measured with `bench/poll.py` (40 people posting as people do, 12 days): posts read per
request found, restricted 1.02 against 1.14 unrestricted when the rest of X posts one
#flattr post or service mention a day, 1.45 against 2.10 at eight a day (as many as the
40 people), 2.98 against 6.12 at forty. Requests cost only rate limit (450 per 15
minutes per app; two groups read every 6 hours use 0.02% of it). We use restricted
queries; `restricted=False` is kept for the measurement. What the restricted reads cannot
avoid are the mentions: every post that mentions the service is read, whoever wrote it
(with `@handle` in the query instead, see below, only the linked people's would be).

The same parsers as the timeline's read what comes back (bots/x/parse.py: the reply
prefix is not a request, the service's own account and X's own pages are never flattred,
links chosen as issue 10 says), each post for its author. A member counts only from its
start mark (the post id of the moment it joined), as an account's first timeline poll
only records where it stands.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import requests
import tweepy

from bots.base import FetchResult, LinkedAccount, StreamOutcome
from bots.polling import iso, parse_iso, run_streams
from bots.shared import Members
from bots.transport import DEFAULT_TIMEOUT
from bots.x import NETWORK
from bots.x.adapter import XNetwork
from bots.x.ids import snowflake_at, snowflake_time
from bots.x.parse import (
    EXPANSIONS,
    TWEET_FIELDS,
    USER_FIELDS,
    check_page,
    included_usernames,
    next_token,
    own_post_activity,
)
from core import logs

REQUEST_FILTER = "(is:reply OR is:quote) -is:retweet"
SEARCH_WINDOW = timedelta(days=7)
WINDOW_MARGIN = timedelta(minutes=10)
SEARCH_MAX_DELAY = timedelta(hours=6)  # well inside the 7-day window, even after failures
MENTIONS = "mentions"
SEARCH_PREFIX = "search:"
EXPLICIT = frozenset({"explicit"})


def search_query(members: Iterable[str], *, mention: str | None = None,
                 restricted: bool = True) -> str:
    """The recent-search query for these members' explicit requests."""
    terms = f"(#flattr OR @{mention})" if mention else "#flattr"
    query = f"{terms} {REQUEST_FILTER}"
    if not restricted:
        return query
    ids = sorted(members, key=int)
    return f"{query} ({' OR '.join(f'from:{i}' for i in ids)})"


class XSearch:
    """The shared reader (bots/shared.py) of X, with the app's bearer token."""

    name = NETWORK

    def __init__(
        self,
        *,
        bearer_token: str,
        service_handle: str | None = None,
        service_user_id: str | None = None,
        api_base_url: str | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        query_limit: int = 512,
        restricted: bool = True,
        max_pages: int = 50,
    ) -> None:
        self.token = bearer_token
        self.handle = (service_handle or "").lstrip("@") or None
        self.service_user_id = service_user_id or None
        self.query_limit = query_limit
        self.restricted = restricted
        self.max_pages = max_pages
        # Only for its pooled session, error handling and parsers' settings.
        self.x = XNetwork(service_handle=service_handle, service_user_id=service_user_id,
                          api_base_url=api_base_url, timeout=timeout, session=session)

    # -- planning ---------------------------------------------------------------------------

    def reads(self, triggers: frozenset[str]) -> bool:
        return "reposts" not in triggers  # a timeline read for reposts finds requests too

    def start_mark(self, now: datetime, cursor: dict | None = None) -> str:
        """Now, or where the account's timeline stopped (its reposts trigger was on, or
        the deployment read timelines): its requests from there on are found here."""
        mark = snowflake_at(now)
        timeline = (cursor or {}).get("timeline")
        if isinstance(timeline, dict) and timeline.get("initialized"):
            since = timeline.get("since_id")
            if isinstance(since, str) and since.isdigit():
                mark = min(mark, int(since))
        return str(mark)

    @property
    def _mention_term(self) -> str | None:
        return self.handle if self.service_user_id is None else None

    def plan(self, current: Mapping[str, Members], wanted: Members) -> dict[str, dict[str, str]]:
        """Search groups under the query limit: members stay where they are, leavers go,
        joiners take the first group with room (then new ones); plus the mentions."""
        if not wanted:
            return {}
        streams: dict[str, dict[str, str]] = {}
        if self.service_user_id:
            streams[MENTIONS] = {}
        if not self.restricted:
            return {**streams, f"{SEARCH_PREFIX}all": dict(wanted)}
        groups = {name: {u: m for u, m in members.items() if u in wanted}
                  for name, members in current.items() if name.startswith(SEARCH_PREFIX)}
        placed = {u for members in groups.values() for u in members}
        for user in sorted((u for u in wanted if u not in placed), key=int):
            home = next((g for g in _by_number(groups) if self._fits(groups[g], user)), None)
            if home is None:
                home = _free_name(groups)
                groups[home] = {}
            groups[home][user] = wanted[user]
        streams.update({name: members for name, members in groups.items() if members})
        return streams

    def _fits(self, members: Mapping[str, str], user: str) -> bool:
        query = search_query([*members, user], mention=self._mention_term)
        return len(query) <= self.query_limit

    # -- reading ----------------------------------------------------------------------------

    def fetch(self, stream: str, members: Members, everyone: Members, cursor: dict | None,
              now: datetime) -> FetchResult:
        client = tweepy.Client(bearer_token=self.token, return_type=requests.Response)
        client.session = self.x.session
        who = LinkedAccount(NETWORK, stream, self.token)
        if stream == MENTIONS:
            def poll(st: dict) -> StreamOutcome:
                return self._mentions(client, everyone, st, now)
        else:
            def poll(st: dict) -> StreamOutcome:
                return self._search(client, members, st, now)
        result = run_streams(NETWORK, who, cursor, now, {
            "read": lambda st: self.x._guarded(st, now, who, lambda: poll(st))})
        # Never let a search group wait out the 7-day window (nor a failure pause it long).
        latest = now + SEARCH_MAX_DELAY
        state = result.cursor["read"]
        if (parse_iso(state["due"]) or now) > latest:
            state["due"] = iso(latest)
        return FetchResult(result.activities, result.cursor, min(result.next_poll_at, latest),
                           result.status, result.error, result.posts_read, result.requests)

    def _search(self, client: tweepy.Client, members: Members, st: dict,
                now: datetime) -> StreamOutcome:
        query = search_query(members, mention=self._mention_term, restricted=self.restricted)
        since = st.get("since_id") or (min(members.values(), key=int) if members else None)
        start_time = None
        oldest = now - SEARCH_WINDOW + WINDOW_MARGIN
        if since is not None and snowflake_time(since) < oldest:
            last = parse_iso(st.get("last"))
            if st.get("since_id") and (last is None or last < oldest):
                logs.event("x.search_gap", level=logging.WARNING, query=query[:60],
                           note="not read for over 7 days: requests made before are lost",
                           before=oldest.isoformat())
            since, start_time = None, oldest
        return self._read(client.search_recent_tweets, (query,), members, st, now,
                          since_id=since, start_time=start_time, next_param="next_token")

    def _mentions(self, client: tweepy.Client, everyone: Members, st: dict,
                  now: datetime) -> StreamOutcome:
        since = st.get("since_id") or (min(everyone.values(), key=int) if everyone else None)
        if since is None or not self.service_user_id:
            return StreamOutcome()
        return self._read(client.get_users_mentions, (self.service_user_id,), everyone, st,
                          now, since_id=since, next_param="pagination_token")

    def _read(self, call: Any, args: tuple, members: Members, st: dict, now: datetime, *,
              since_id: str | None, next_param: str,
              start_time: datetime | None = None) -> StreamOutcome:
        out = StreamOutcome()
        posts: list[dict] = []
        included: dict[str, dict] = {}
        usernames: dict[str, str] = {}
        token: str | None = None
        for _ in range(self.max_pages):
            body = self.x._get(out, st, call, *args, since_id=since_id, start_time=start_time,
                               max_results=100, tweet_fields=TWEET_FIELDS,
                               expansions=EXPANSIONS, user_fields=USER_FIELDS,
                               user_auth=False, **{next_param: token})
            page, page_included = check_page(body)
            out.posts_read += len(page)
            posts.extend(page)
            included.update(page_included)
            usernames.update(included_usernames(body))
            token = next_token(body)
            if not token:
                break
        else:
            logs.event("x.pages_skipped", level=logging.WARNING, endpoint=args[0],
                       pages=self.max_pages, since=since_id)
        if posts:
            st["since_id"] = str(max(int(p["id"]) for p in posts))
        elif since_id is not None:
            st["since_id"] = since_id
        found = (self._request(p, included, members, usernames, now) for p in reversed(posts))
        out.activities = [a for a in found if a]
        return out

    def _request(self, post: dict, included: dict[str, dict], members: Members,
                 usernames: dict[str, str], now: datetime) -> Any:
        author = str(post.get("author_id") or "")
        mark = members.get(author)
        if mark is None or int(post["id"]) <= int(mark):
            return None  # not a member, or from before it joined
        return own_post_activity(post, included, author, EXPLICIT, self.handle, now,
                                 service_id=self.service_user_id, usernames=usernames)


def _by_number(groups: Mapping[str, Any]) -> list[str]:
    return sorted(groups, key=lambda name: int(name[len(SEARCH_PREFIX):] or 0))


def _free_name(groups: Mapping[str, Any]) -> str:
    n = 1
    while f"{SEARCH_PREFIX}{n}" in groups:
        n += 1
    return f"{SEARCH_PREFIX}{n}"


def parse_requests(body: Any, observed_at: datetime, service_handle: str | None = None,
                   service_id: str | None = None) -> list:
    """Every explicit request in a search or mentions page, each for its author (what
    `flattr bots parse --endpoint search_recent|users_mentions` prints)."""
    data, included = check_page(body)
    usernames = included_usernames(body)
    found = (own_post_activity(p, included, str(p.get("author_id")), EXPLICIT, service_handle,
                               observed_at, service_id=service_id, usernames=usernames)
             for p in data if p.get("author_id"))
    return [a for a in found if a]
