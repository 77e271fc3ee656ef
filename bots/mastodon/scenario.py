"""Mastodon people, creators and what they do, added to a generated scenario (see
bots/mastodon/sandbox_world.py for the section's format). Its own random stream (from the
seed), so the X and Facebook parts of a scenario stay as they were.

Two instances: people and creators alternate between them, so favourites and boosts
cross instances (a remote author has another local id where they are seen). Odd creators
have pre-4.4 account URIs: instances learn their home ids only by a lookup."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

INSTANCES = ("social.example", "fedi.example")
SERVICE = {"host": INSTANCES[0], "id": "1", "token": "mastodon-service-token"}
SERVICE_ACCT = f"flattr@{INSTANCES[0]}"


@dataclass(frozen=True)
class MastodonRates:
    """Per person, per day."""

    favourites: float = 1.5
    boosts: float = 0.4
    explicit: float = 0.2
    originals: float = 0.3


def add_mastodon(scenario: dict[str, Any], *, seed: int, days: int, history_days: int = 3,
                 rates: MastodonRates = MastodonRates(),
                 instances: tuple[str, ...] = INSTANCES) -> dict[str, Any]:
    """Give every person of `scenario` a Mastodon account, every creator one with toots
    linking their blog, add a few authors who are not creators, and spread favourites,
    boosts, #flattr replies and plain toots over the same days. Returns `scenario`."""
    rng = random.Random(f"mastodon-{seed}")
    start = datetime.fromisoformat(scenario["start"])
    begin, end = start - timedelta(days=history_days), start + timedelta(days=days)
    sequence = iter(range(1, 1 << 30))

    def status_id(at: datetime) -> str:
        return str((int(at.timestamp() * 1000) << 16) + next(sequence) % (1 << 16))

    def when(after: datetime = begin) -> datetime:
        low = max(after, begin)
        return low + timedelta(seconds=rng.uniform(1, max(2.0, (end - low).total_seconds())))

    def count(per_day: float) -> int:
        expected = per_day * (days + history_days)
        return max(0, int(rng.gauss(expected, expected**0.5) + 0.5)) if expected else 0

    section: dict[str, Any] = {"instances": list(instances), "service": dict(SERVICE),
                               "accounts": [{"host": SERVICE["host"], "id": SERVICE["id"],
                                             "username": "flattr", "name": "Flattr",
                                             "bot": True}],
                               "statuses": [], "favourites": []}
    pool: list[dict] = []
    for c, creator in enumerate(scenario.get("creators", [])):
        host, account_id = instances[c % len(instances)], str(100000 + c)
        username = creator["name"].lower().replace(" ", "")
        section["accounts"].append({"host": host, "id": account_id, "username": username,
                                    "name": creator["name"], "legacy_uri": c % 2 == 1})
        creator["mastodon"] = {"host": host, "id": account_id}
        for n in range(max(3, days)):
            at = when() - timedelta(days=history_days)
            toot: dict[str, Any] = {"host": host, "account_id": account_id, "at": at.isoformat(),
                                    "text": f"Toot {n} by {username}"}
            url = f"{creator['url_prefix']}{n}-toot?utm_source=mastodon"
            if n % 3 == 0:
                toot["card"] = url
            elif n % 3 == 1:
                toot["links"] = [url]
            toot["tags"] = ["art"] if n % 4 == 0 else []
            pool.append(toot)
    for o in range(2):
        host, account_id = instances[o % len(instances)], str(300000 + o)
        section["accounts"].append({"host": host, "id": account_id,
                                    "username": f"someone{o}"})
        for n in range(max(3, days // 3)):
            at = when() - timedelta(days=history_days)
            pool.append({"host": host, "account_id": account_id, "at": at.isoformat(),
                         "text": f"Thinking aloud {n}"})
    for toot in sorted(pool, key=lambda t: t["at"]):
        toot["id"] = status_id(datetime.fromisoformat(toot["at"]))
    section["statuses"].extend(pool)
    for p, person in enumerate(scenario.get("people", [])):
        host, account_id = instances[p % len(instances)], str(200000 + p)
        person["mastodon"] = {"host": host, "id": account_id, "username": person["key"],
                              "token": f"mastodon-token-{person['key']}"}
        for toot in rng.sample(pool, min(len(pool), count(rates.favourites))):
            section["favourites"].append({"host": host, "account_id": account_id,
                                          "status_id": toot["id"],
                                          "at": when(datetime.fromisoformat(toot["at"]))
                                          .isoformat()})
        mine: list[dict] = []
        for kind, per_day in (("boost", rates.boosts), ("explicit", rates.explicit),
                              ("original", rates.originals)):
            for _ in range(count(per_day)):
                original = rng.choice(pool)
                at = when(datetime.fromisoformat(original["at"]))
                toot = {"host": host, "account_id": account_id, "at": at.isoformat()}
                if kind == "boost":
                    toot["reblog_of"] = original["id"]
                elif kind == "explicit":
                    toot["in_reply_to"] = original["id"]
                    if rng.random() < 0.5:
                        toot.update(text="Love this", tags=["Flattr"])
                    else:
                        toot.update(text="thank you", mentions=[
                            f"{SERVICE['host']}:{SERVICE['id']}"])
                else:
                    toot["text"] = f"Coffee, day {at.day}"
                mine.append(toot)
        for toot in sorted(mine, key=lambda t: t["at"]):
            toot["id"] = status_id(datetime.fromisoformat(toot["at"]))
        section["statuses"].extend(mine)
    section["statuses"].sort(key=lambda t: int(t["id"]))
    scenario["mastodon"] = section
    return scenario
