"""The shapes of issue 10 in a scenario: what the real X API and Graph API send that a plain
generated scenario never does (withheld posts, short and unwound links, several references,
X's reply prefix, edits, long posts, the service's own posts, Facebook albums, photos,
carousels and app stories). `add_real_shapes` adds a fixed set of them, spread over the
first weeks, to the scenario's people, creators and service: the demo scenario carries them
(bots/sandbox/scenarios/demo.json) and the end-to-end tests read them through the real
clients. Each added item has a `shape` naming what it shows, which the sandbox ignores.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

_X_EPOCH_MS = 1288834974657
VIDEO = "dQw4w9WgXcQ"


def _post_id(at: datetime, n: int) -> str:
    """A snowflake for `at` (ids grow with time: since_id works), apart from generated ones."""
    ms = int(at.timestamp() * 1000) - _X_EPOCH_MS
    return str((ms << 22) + 3_000_000 + n)


def add_real_shapes(scenario: dict[str, Any], *, first_day: int = 2) -> dict[str, Any]:
    """A copy of `scenario` with the issue 10 shapes added (needs people, three creators
    with `x_user_id`, an X user who is not a creator and the service's X account)."""
    out = copy.deepcopy(scenario)
    start = datetime.fromisoformat(out["start"])
    people = out["people"]
    creators = out["creators"]
    c0, c1, c2 = creators[0], creators[1 % len(creators)], creators[2 % len(creators)]
    creator_ids = {c.get("x_user_id") for c in creators}
    other = next(u["id"] for u in out["x_users"] if u["id"] not in creator_ids)
    service = out["service"]["x_user_id"]
    handle = out["service"].get("x_handle", "flattrbot")
    posts: list[dict] = []
    likes: list[dict] = []
    count = [0]

    def when(day: float, hour: float = 0) -> datetime:
        return start + timedelta(days=first_day + day, hours=hour)

    def post(shape: str, author: str, at: datetime, text: str, **fields: Any) -> dict:
        count[0] += 1
        item = {"id": _post_id(at, count[0]), "author_id": author, "at": at.isoformat(),
                "text": text, "shape": shape, **fields}
        posts.append(item)
        return item

    def person(n: int) -> dict:
        return people[n % len(people)]

    def like(n: int, liked: dict, after: timedelta = timedelta(hours=2)) -> None:
        at = datetime.fromisoformat(liked["at"]) + after
        likes.append({"user_id": person(n)["x"]["user_id"], "post_id": liked["id"],
                      "at": at.isoformat(), "shape": liked["shape"]})

    def blog(creator: dict, slug: str) -> str:
        return f"{creator['url_prefix']}{slug}"

    # Class 1: X's own pages. A withheld post and a media-policy placeholder link only to
    # X's help pages: the post is flattred (its author), never support.twitter.com.
    withheld = post("withheld", other, when(0), "This Post from @someone has been withheld in "
                    "Germany in response to a legal demand. Learn more.",
                    urls=[{"expanded_url": "https://support.twitter.com/articles/20169222"}],
                    withheld={"copyright": False, "country_codes": ["DE"], "scope": "tweet"})
    like(0, withheld)
    placeholder = post("media_policy", c0["x_user_id"], when(0, 3),
                       "This account is temporarily unavailable because it violates the "
                       "Twitter Media Policy. Learn more.",
                       urls=[{"expanded_url": "https://support.twitter.com/articles/20169199"}])
    like(1, placeholder)
    # Class 2 and 3: short links, unwound links, link status.
    short = post("short_link_not_unwound", c1["x_user_id"], when(1), "Read this",
                 urls=[{"expanded_url": "https://bit.ly/3xQw9Zk"}])
    like(2, short)
    unwound = post("short_link_unwound", c2["x_user_id"], when(1, 4), "New on the blog",
                   urls=[{"expanded_url": "https://bit.ly/3kRt7Yp",
                          "unwound_url": blog(c2, "unwound-post?utm_source=twitter"),
                          "status": 200, "title": "An unwound post"}])
    like(3, unwound)
    root = post("unwound_less_specific", c0["x_user_id"], when(2), "The full piece",
                urls=[{"expanded_url": blog(c0, "specific-piece"),
                       "unwound_url": blog(c0, ""), "status": 200}])
    like(4, root)
    failed = post("unwound_failed", c1["x_user_id"], when(2, 5), "Old but good",
                  urls=[{"expanded_url": blog(c1, "moved-piece"),
                         "unwound_url": blog(c1, "login?next=%2Fmoved-piece"),
                         "status": 404}])
    like(0, failed)
    # Class 3: one video, two spellings (youtu.be and watch?v=...&feature=youtu.be): one thing.
    video_a = post("youtu_be", other, when(3), "Watch",
                   urls=[{"expanded_url": f"https://youtu.be/{VIDEO}?si=Ab12",
                          "unwound_url": f"https://www.youtube.com/watch?v={VIDEO}"
                                         "&feature=youtu.be", "status": 200}])
    video_b = post("youtube_watch", other, when(3, 6), "Still the best",
                   urls=[f"https://www.youtube.com/watch?v={VIDEO}&feature=share"])
    like(1, video_a)
    like(2, video_b)
    profile = post("unwound_profile", other, when(4), "On Instagram",
                   urls=[{"expanded_url": "https://www.instagram.com/p/C4bXyZ/?igshid=MzRlOD",
                          "unwound_url": "https://www.instagram.com/someone/", "status": 200}])
    like(3, profile)
    # Edits: `edit_history_tweet_ids` with several ids.
    edited = post("edited", c2["x_user_id"], when(4, 2), "Fixed the typo",
                  urls=[blog(c2, "edited-post")])
    edited["edits"] = [str(int(edited["id"]) - 4_000_000), str(int(edited["id"]) - 2_000_000)]
    like(4, edited)
    # Class 4: the service's own posts and the reply prefix.
    news = post("service_post", service, when(5), "Flattr news for March",
                urls=["https://flattr.example.org/news/march"])
    like(0, news)  # nobody flattrs the service's account
    post("reply_to_service", person(1)["x"]["user_id"], when(5, 2), "thanks, #flattr",
         referenced={"type": "replied_to", "id": news["id"]}, reply_prefix=True)
    creator_post = post("creator_post", c0["x_user_id"], when(6), "A new essay",
                        urls=[blog(c0, "new-essay")])
    post("prefix_mentions_service", person(2)["x"]["user_id"], when(6, 2), "nice one",
         referenced={"type": "replied_to", "id": creator_post["id"]},
         reply_prefix=[next(u["username"] for u in out["x_users"]
                            if u["id"] == c0["x_user_id"]), handle])
    post("reply_prefix_then_request", person(3)["x"]["user_id"], when(6, 4),
         f"@{handle} this one please",
         referenced={"type": "replied_to", "id": creator_post["id"]}, reply_prefix=True)
    # Several references: a reply that quotes, a repost of a quote.
    quoted = post("quoted_original", c1["x_user_id"], when(7), "Original thought",
                  urls=[blog(c1, "original-thought")])
    post("reply_that_quotes", person(0)["x"]["user_id"], when(7, 3), "#flattr both of you",
         referenced=[{"type": "quoted", "id": quoted["id"]},
                     {"type": "replied_to", "id": creator_post["id"]}], reply_prefix=True)
    quote = post("creator_quote", c2["x_user_id"], when(8), "Adding to this",
                 referenced={"type": "quoted", "id": quoted["id"]},
                 urls=[blog(c2, "adding-to-this")])
    post("repost_of_quote", person(0)["x"]["user_id"], when(8, 2), "",
         referenced={"type": "retweeted", "id": quote["id"]})
    # A long post: the request and the link only in `note_tweet`.
    post("long_request", person(1)["x"]["user_id"], when(9),
         "A long note on why the people who write what we read every day deserve to be paid "
         "for it, and how little it takes when each of us gives a small monthly budget. "
         "I read this piece twice and it changed how I think about the web and its writers. "
         "It is long, and worth every minute. So here it is, with my thanks: #flattr",
         referenced={"type": "quoted", "id": quoted["id"]}, long=True)
    out["x_posts"] = sorted(out["x_posts"] + posts, key=lambda p: int(p["id"]))
    out["x_likes"] = out["x_likes"] + likes

    # Class 7: Facebook photos, albums, carousels and app stories.
    fb_posts: list[tuple[str, dict[str, Any]]] = [
        ("carousel", {"attachment": "carousel", "title": "Three good reads", "links": [
            {"link": blog(c1, "card-one?utm_source=facebook&utm_medium=carousel"),
             "title": "Card one"},
            {"link": blog(c1, "card-two"), "title": "Card two"},
            {"link": "https://www.facebook.com/creator1/", "title": "See more"}]}),
        ("album", {"attachment": "album", "title": "Holiday", "photos": 3}),
        ("photo", {"attachment": "photo", "message": "Sunset"}),
        ("app_story", {"attachment": "app", "title": "Why we pay writers",
                       "link": blog(c2, "why-we-pay-writers")}),
    ]
    for n, (shape, fields) in enumerate(fb_posts):
        user = person(n)["facebook"]["user_id"]
        out["facebook_posts"].append({"id": f"{user}_8{n:08d}", "user_id": user,
                                      "at": when(10 + n).isoformat(), "shape": shape,
                                      **fields})
    return out
