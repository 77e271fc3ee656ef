"""Bluesky in the generated scenarios: an account for each person (with an app password, for
linking) and each creator, creators' posts (link cards to their sites, link facets, plain
text), other authors' posts, and the people's likes, reposts, explicit `#flattr` replies
and quotes, follows, and some likes taken back (deleted) a little later. The people's
repositories are spread over two PDSes. Its own random
stream, so the other networks' data is unchanged by it. Format: bots/bluesky/sandbox_world.py."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from bots.bluesky import NETWORK
from bots.bluesky.ids import plc, tid_at

HANDLE_DOMAIN = "bsky.example"
# The people's repositories live on two PDSes (the others' on the root one), so a backfill
# must find each DID's own (bots/bluesky/did.py).
PDS_NAMES = ("pds-a", "pds-b")


def bluesky_person(key: str) -> dict[str, str]:
    return {"did": plc(f"person:{key}"), "handle": f"{key}.{HANDLE_DOMAIN}",
            "app_password": f"app-pass-{key}"}


def add_bluesky(scenario: dict[str, Any], *, seed: int, begin: datetime, end: datetime,
                likes_per_day: float = 1.5, reposts_per_day: float = 0.3,
                explicit_per_day: float = 0.1, unlike_share: float = 0.1) -> None:
    rng = random.Random(seed * 7919 + 13)
    span = (end - begin).total_seconds()
    days = span / 86400

    def when(after: datetime = begin) -> datetime:
        low = max((after - begin).total_seconds() + 1, 0)
        moment = begin + timedelta(seconds=rng.uniform(low, max(low + 1, span)))
        return moment.replace(microsecond=rng.randrange(1_000_000))

    service = {"did": plc("service"), "handle": f"flattr.{HANDLE_DOMAIN}"}
    sky: dict[str, Any] = {"service": service, "accounts": [dict(service)], "posts": [],
                           "likes": [], "reposts": [], "follows": []}
    clock_ids = iter(range(1, 1 << 30))

    def rkey(at: datetime) -> str:
        return tid_at(at, next(clock_ids) % 1024)

    pool: list[dict[str, Any]] = []
    for index, creator in enumerate(scenario.get("creators", [])):
        did = plc(f"creator:{index}")
        creator["bluesky_did"] = did
        sky["accounts"].append({"did": did, "handle": f"creator{index}.{HANDLE_DOMAIN}",
                                "name": creator.get("name", "")})
        for n in range(max(3, int(days))):
            at = when() - timedelta(days=3)
            post: dict[str, Any] = {"did": did, "at": at.isoformat(), "rkey": rkey(at)}
            url = f"{creator['url_prefix']}{n}-sky?utm_source=bluesky"
            if n % 3 == 0:
                post.update(text=f"New: post {n}", link={"uri": url, "title": f"Post {n}"})
            elif n % 3 == 1:
                post.update(text="Read this:", facet_link=url)
            else:
                post.update(text=f"Thinking aloud, {n}")
            pool.append(post)
    for o in range(3):
        did = plc(f"other:{o}")
        sky["accounts"].append({"did": did, "handle": f"someone{o}.{HANDLE_DOMAIN}"})
        for n in range(max(3, int(days / 3))):
            at = when() - timedelta(days=3)
            pool.append({"did": did, "at": at.isoformat(), "rkey": rkey(at),
                         "text": f"Just a thought {n}"})
    service_post_at = begin - timedelta(days=1)
    service_post = {"did": service["did"], "at": service_post_at.isoformat(),
                    "rkey": rkey(service_post_at), "text": "Flattr: support what you like"}
    pool.append(service_post)
    sky["posts"].extend(pool)

    def uri(post: dict[str, Any]) -> str:
        return f"at://{post['did']}/app.bsky.feed.post/{post['rkey']}"

    def count(per_day: float) -> int:
        expected = per_day * days
        return max(0, int(rng.gauss(expected, expected**0.5) + 0.5)) if expected else 0

    for index, person in enumerate(scenario.get("people", [])):
        me = person[NETWORK] = bluesky_person(person["key"])
        sky["accounts"].append({**me, "name": person.get("name", person["key"]),
                                "pds": PDS_NAMES[index % len(PDS_NAMES)]})
        mine: list[dict[str, Any]] = []
        for post in rng.sample(pool, min(len(pool), count(likes_per_day))):
            at = when(datetime.fromisoformat(post["at"]))
            like = {"did": me["did"], "rkey": rkey(at), "subject": uri(post),
                    "at": at.isoformat()}
            if rng.random() < unlike_share:
                like["deleted_at"] = (at + timedelta(hours=rng.uniform(0.5, 30))).isoformat()
            sky["likes"].append(like)
        for post in rng.sample(pool, min(len(pool), count(reposts_per_day))):
            at = when(datetime.fromisoformat(post["at"]))
            sky["reposts"].append({"did": me["did"], "rkey": rkey(at), "subject": uri(post),
                                   "at": at.isoformat()})
        for _ in range(count(explicit_per_day)):
            post = rng.choice(pool)
            at = when(datetime.fromisoformat(post["at"]))
            kind = rng.choice(["reply_to", "quote"])
            mine.append({"did": me["did"], "at": at.isoformat(), "rkey": rkey(at),
                         "text": "Love it #flattr", "tags": ["flattr"], kind: uri(post)})
        at = when()
        mine.append({"did": me["did"], "at": at.isoformat(), "rkey": rkey(at),
                     "text": "Having coffee"})
        sky["posts"].extend(mine)
        at = when()
        sky["follows"].append({"did": me["did"], "rkey": rkey(at),
                               "subject": rng.choice(pool)["did"], "at": at.isoformat()})
    scenario[NETWORK] = sky
    scenario.setdefault("service", {})["bluesky_did"] = service["did"]
    scenario["service"]["bluesky_handle"] = service["handle"]
