"""Scenario generator: people, creators, posts, likes and shares spread over time.

Scenario format (JSON; every `at` an ISO 8601 time, things appear when the clock passes it):
  start: ISO time the sandbox clock starts at
  service: {x_user_id, x_handle, x_token, x_app_token, x_search_query_limit,
            facebook_page_id, facebook_page_token, x_access_lifetime_hours}
                                                x_app_token: the app's bearer token (search,
                                                mentions); x_search_query_limit: the
                                                access level's query length (512);
                                                x_access_lifetime_hours: X's access
                                                tokens (2 h)
  people: [{key, name, x: {user_id, username, token}, facebook: {user_id, token}}]
  x_users: [{id, username, name}]              authors who are not people
  creators: [{name, url_prefix, x_user_id?, facebook_page_id?}]   for the demo to register
  x_posts: [{id, author_id, at, text, urls?: [url | {expanded_url, unwound_url?, status?,
             title?, media_key?}], referenced?: {type: retweeted|quoted|replied_to, id} or a
             list of them, long?: bool, deleted?: bool, reply_prefix?: true | [username],
             edits?: [earlier id], withheld?: {copyright, country_codes, scope}}]
                                                a url given as a string is expanded and
                                                unwound alike; an entity without
                                                `unwound_url` is a short link X did not
                                                unwind. reply_prefix: X's automatic
                                                "@author " before a reply's text (true: the
                                                replied-to author), with display_text_range.
                                                long: the text is cut at 280 characters,
                                                the whole text and the links in note_tweet
  x_likes: [{user_id, post_id, at}]
  facebook_pages: [{id, name, website?, category?, managers?: [facebook user_id]}]
                                                managers: the people who run the Page; a
                                                token of theirs with `pages_show_list` lists
                                                it at GET /vNN.N/me/accounts
  facebook_page_likes: [{user_id, page_id, at}]
  facebook_posts: [{id, user_id, at, link?, title?, message?, status_type?, attachment?:
                    share|photo|album|carousel|app, links?: [url | {link, title}],
                    photos?: n}]
                                                attachment: see bots/facebook/sandbox.py
                                                (default: share when there is a link)
  faults: [{kind, path?, token?, times?, status?, code?, ...}]   on from the start (see
                                                bots/sandbox/faults.py)
  mastodon: {instances, service, accounts, statuses, favourites}  (mastodon=True; see
                                                bots/mastodon/sandbox_world.py)
bots/sandbox/scenario_shapes.py adds the shapes of issue 10 to a scenario.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bots.x.ids import snowflake_at

_NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]


@dataclass(frozen=True)
class Rates:
    """Per person, per day (Facebook Page likes per month).

    `originals` and `replies` are ordinary posts (no request); with `heavy_tail` > 0 each
    person's ordinary posting is the median rate times a log-normal factor of that sigma
    (most post a few a day, a few post dozens). `outsider_requests`: posts a day, in all,
    by X users who never linked an account, that use #flattr or mention the service.
    """

    likes: float = 1.5
    reposts: float = 0.3
    quotes: float = 0.1
    explicit: float = 0.2
    originals: float = 0.3
    facebook_page_likes_per_month: float = 2.0
    facebook_shares: float = 0.3
    facebook_statuses: float = 0.2
    replies: float = 0.0
    heavy_tail: float = 0.0
    outsider_requests: float = 0.0


# What people really post: a median of 3.5 ordinary posts a day (2 posts, 1.5 replies),
# about one person in ten over 13 a day and one in a hundred over 35, and a few #flattr
# requests a week (issue 16: the old 0.3 a day hid what reading timelines costs).
REALISTIC = Rates(originals=2.0, replies=1.5, heavy_tail=1.0, outsider_requests=1.0)


class _Ids:
    def __init__(self) -> None:
        self.sequence = 0

    def post_id(self, at: datetime) -> str:
        self.sequence += 1
        return str(snowflake_at(at) + (self.sequence % (1 << 22)))


def generate_scenario(
    n_accounts: int,
    *,
    days: int = 30,
    seed: int = 1,
    start: datetime = datetime(2025, 3, 1, tzinfo=UTC),
    rates: Rates = Rates(),
    n_creators: int | None = None,
    history_days: int = 3,
    mastodon: bool = False,
) -> dict[str, Any]:
    """A reproducible scenario: n_accounts people (each on X and Facebook), creators with
    blogs, X Pages and posts, and some authors who are not creators. Activity from
    `history_days` before `start` (the first poll must not flattr it) to `days` after."""
    rng = random.Random(seed)
    ids = _Ids()
    end = start + timedelta(days=days)
    begin = start - timedelta(days=history_days)
    span = (end - begin).total_seconds()

    def when(after: datetime = begin) -> datetime:
        low = max((after - begin).total_seconds() + 1, 0)
        return begin + timedelta(seconds=rng.uniform(low, max(low + 1, span)))

    n_creators = n_creators or max(4, min(200, n_accounts // 5 + 3))
    scenario: dict[str, Any] = {
        "start": start.isoformat(),
        "service": {
            "x_user_id": "900000001",
            "x_handle": "flattrbot",
            "x_token": "x-service-token",
            "facebook_page_id": "500000001",
            "facebook_page_token": "fb-page-token",
            "x_app_token": "x-app-token",
        },
        "people": [],
        "x_users": [],
        "creators": [],
        "x_posts": [],
        "x_likes": [],
        "facebook_pages": [],
        "facebook_page_likes": [],
        "facebook_posts": [],
    }
    creator_posts: list[dict] = []
    for c in range(n_creators):
        name = f"creator{c}"
        prefix = "https://example.org/blog/" if c == 0 else f"https://{name}.example.net/"
        x_id, page_id = str(800000000 + c), str(600000000 + c)
        scenario["x_users"].append({"id": x_id, "username": name, "name": f"Creator {c}"})
        scenario["facebook_pages"].append(
            {"id": page_id, "name": f"Creator {c}", "website": prefix}
        )
        scenario["creators"].append(
            {
                "name": f"Creator {c}",
                "url_prefix": prefix,
                "x_user_id": x_id,
                "facebook_page_id": page_id,
            }
        )
        for n in range(max(3, days * 2)):
            at = when() - timedelta(days=history_days)
            url = f"{prefix}{n}-post?utm_source=twitter"
            link: Any = url if n % 3 else {"expanded_url": url, "title": f"Post {n}"}
            post: dict[str, Any] = {
                "id": ids.post_id(at),
                "author_id": x_id,
                "at": at.isoformat(),
                "text": f"New post {n} by {name}",
                "urls": [link],
                "long": n % 5 == 4,
            }
            if n % 7 == 6:
                post["urls"].append(
                    {
                        "expanded_url": f"https://x.com/{name}/status/1/photo/1",
                        "media_key": f"3_{n}",
                    }
                )
            creator_posts.append(post)
    others: list[dict] = []
    for o in range(max(2, n_creators // 2)):
        x_id = str(700000000 + o)
        scenario["x_users"].append({"id": x_id, "username": f"someone{o}", "name": f"Someone {o}"})
        for n in range(max(3, days // 3)):
            at = when() - timedelta(days=history_days)
            others.append(
                {
                    "id": ids.post_id(at),
                    "author_id": x_id,
                    "at": at.isoformat(),
                    "text": f"Just a thought {n} from someone{o}",
                }
            )
    pool = creator_posts + others
    scenario["x_posts"].extend(pool)

    def count(per_day: float) -> int:
        expected = per_day * (days + history_days)
        return max(0, int(rng.gauss(expected, expected**0.5) + 0.5)) if expected else 0

    for p in range(n_accounts):
        key = _NAMES[p] if p < len(_NAMES) and n_accounts <= len(_NAMES) else f"person{p}"
        x_id, fb_id = str(100000000 + p), str(200000000 + p)
        scenario["people"].append(
            {
                "key": key,
                "name": key.title(),
                "x": {"user_id": x_id, "username": key[:15], "token": f"x-token-{key}"},
                "facebook": {"user_id": fb_id, "token": f"fb-token-{key}"},
            }
        )
        liked = rng.sample(pool, min(len(pool), count(rates.likes)))
        for post in liked:
            at = when(datetime.fromisoformat(post["at"]))
            scenario["x_likes"].append(
                {"user_id": x_id, "post_id": post["id"], "at": at.isoformat()}
            )
        mine: list[dict] = []
        chatty = math.exp(rng.gauss(0, rates.heavy_tail)) if rates.heavy_tail > 0 else 1.0
        for kind, per_day in (
            ("retweeted", rates.reposts),
            ("quoted", rates.quotes),
            ("explicit", rates.explicit),
            ("original", rates.originals * chatty),
            ("reply", rates.replies * chatty),
        ):
            for _ in range(count(per_day)):
                original = rng.choice(pool)
                at = when(datetime.fromisoformat(original["at"]))
                post = {"author_id": x_id, "at": at.isoformat()}
                if kind == "retweeted":
                    post.update(text="", referenced={"type": "retweeted", "id": original["id"]})
                elif kind == "quoted":
                    post.update(
                        text="This is good", referenced={"type": "quoted", "id": original["id"]}
                    )
                elif kind == "explicit":
                    tag = rng.choice(["#flattr", "#Flattr this!", "@flattrbot please"])
                    post.update(
                        text=f"Love it {tag}",
                        referenced={
                            "type": rng.choice(["replied_to", "quoted"]),
                            "id": original["id"],
                        },
                    )
                elif kind == "reply":
                    post.update(text="Agreed, well put",
                                referenced={"type": "replied_to", "id": original["id"]},
                                reply_prefix=True)
                else:
                    post.update(text=f"Having coffee, day {at.day}")
                mine.append(post)
        mine.sort(key=lambda item: item["at"])
        for post in mine:
            post["id"] = ids.post_id(datetime.fromisoformat(post["at"]))
        scenario["x_posts"].extend(mine)
        pages = scenario["facebook_pages"]
        for page in rng.sample(
            pages, min(len(pages), count(rates.facebook_page_likes_per_month / 30))
        ):
            scenario["facebook_page_likes"].append(
                {"user_id": fb_id, "page_id": page["id"], "at": when().isoformat()}
            )
        fb_posts = []
        for n in range(count(rates.facebook_shares)):
            creator = rng.choice(scenario["creators"])
            fb_posts.append(
                {
                    "user_id": fb_id,
                    "at": when().isoformat(),
                    "link": f"{creator['url_prefix']}{n}-shared?fbclid=IwAR0",
                    "title": f"Shared {n}",
                    "message": "Worth reading",
                }
            )
        for _ in range(count(rates.facebook_statuses)):
            fb_posts.append({"user_id": fb_id, "at": when().isoformat(), "message": "Status"})
        fb_posts.sort(key=lambda item: item["at"])
        for n, post in enumerate(fb_posts, 1):
            post["id"] = f"{fb_id}_{n:09d}"
        scenario["facebook_posts"].extend(fb_posts)
    scenario["x_posts"].extend(_outsiders(rng, ids, others, pool, count(rates.outsider_requests),
                                          when))
    scenario["x_posts"].sort(key=lambda item: int(item["id"]))
    if mastodon:  # its own random stream: the rest of the scenario is unchanged
        from bots.mastodon.scenario import add_mastodon

        add_mastodon(scenario, seed=seed, days=days, history_days=history_days)
    from bots.bluesky.scenario import add_bluesky  # its own random stream too

    add_bluesky(scenario, seed=seed, begin=begin, end=end)
    return scenario


def _outsiders(rng: random.Random, ids: _Ids, others: list[dict], pool: list[dict], n: int,
               when: Any) -> list[dict]:
    """Posts by X users who never linked an account: #flattr replies and quotes (which a
    search for #flattr alone also finds) and posts that mention the service."""
    posts = []
    authors = sorted({p["author_id"] for p in others})
    for _ in range(n):
        original = rng.choice(pool)
        at = when(datetime.fromisoformat(original["at"]))
        post: dict[str, Any] = {"author_id": rng.choice(authors), "at": at.isoformat()}
        if rng.random() < 0.6:
            post.update(text="So good #flattr", referenced={
                "type": rng.choice(["replied_to", "quoted"]), "id": original["id"]})
        else:
            post.update(text="@flattrbot how does this work?")
        post["id"] = ids.post_id(at)
        posts.append(post)
    return posts
