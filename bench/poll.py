"""Polling efficiency against the sandbox in steady state.

Prints, for X, Facebook and Mastodon, posts (statuses) read from the API per new activity
found (target <= 1.5), and, for idle accounts, requests per account per hour against the
networks' per-user limits (liked_tweets 75/15 min, users/:id/tweets 900/15 min; Mastodon
300/5 min per account, on each instance). The pacing policy is
bots.pacing.next_poll_delay: ~4 new activities per poll, at most every 10 minutes, idle
accounts once a day.

    .venv/bin/python bench/poll.py [--accounts 40] [--days 14] [--seed 3]
"""

from __future__ import annotations

import argparse
import heapq
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bots.base import LinkedAccount, SocialNetwork  # noqa: E402
from bots.facebook.adapter import FacebookNetwork  # noqa: E402
from bots.mastodon import account_key  # noqa: E402
from bots.mastodon.adapter import MastodonNetwork  # noqa: E402
from bots.mastodon.scenario import SERVICE, SERVICE_ACCT, MastodonRates, add_mastodon  # noqa: E402
from bots.networks import install  # noqa: E402
from bots.sandbox import Rates, generate_scenario, start_sandbox  # noqa: E402
from bots.x.adapter import XNetwork  # noqa: E402

install()  # the sandbox emulates the registered networks

ALL = frozenset({"likes", "reposts", "explicit"})
WARMUP = timedelta(days=2)
X_LIMITS_PER_HOUR = {"liked_tweets": 75 * 4, "users_tweets": 900 * 4}
MASTODON_LIMIT_PER_HOUR = 300 * 12
NETWORKS = ("x", "facebook", "mastodon")


def simulate(rates: Rates, toots: MastodonRates, accounts: int, days: int, seed: int) -> dict:
    scenario = generate_scenario(accounts, days=days, seed=seed, rates=rates, history_days=2)
    add_mastodon(scenario, seed=seed, days=days, history_days=2, rates=toots)
    totals: dict[str, Any] = Counter()  # counts, and a few float measures
    with start_sandbox(scenario) as server:
        networks: dict[str, SocialNetwork] = {
            "x": XNetwork(triggers=ALL, service_handle="flattrbot", api_base_url=server.base_url),
            "facebook": FacebookNetwork(api_base_url=server.base_url),
            "mastodon": MastodonNetwork(api_base_url=server.base_url,
                                        service=f"{SERVICE['host']}:{SERVICE['id']}",
                                        service_acct=SERVICE_ACCT),
        }
        start, end = server.now, server.now + timedelta(days=days)
        queue: list = []
        cursors: dict = {}
        for n, person in enumerate(scenario["people"]):
            for net in networks:
                block = person[net]
                user = (account_key(block["host"], block["id"]) if net == "mastodon"
                        else block["user_id"])
                account = LinkedAccount(net, user, block["token"])
                heapq.heappush(queue, (start, n, net, account))
        wall = time.perf_counter()
        before: Counter = Counter()
        while queue and queue[0][0] <= end:
            due, n, net, account = heapq.heappop(queue)
            server.set_now(due)
            if due >= start + WARMUP and not before:
                before = Counter(server.request_counts())
            result = networks[net].fetch_activity(account, cursors.get((n, net)), due)
            cursors[(n, net)] = result.cursor
            if due >= start + WARMUP:
                totals[f"{net}_posts_read"] += result.posts_read
                totals[f"{net}_activities"] += len(result.activities)
                totals[f"{net}_requests"] += result.requests
                totals[f"{net}_polls"] += 1
            heapq.heappush(queue, (result.next_poll_at, n, net, account))
        totals["wall_s"] = time.perf_counter() - wall
        after = Counter(server.request_counts())
        for route in ("liked_tweets", "users_tweets", "graph"):
            totals[f"route_{route}"] = after[route] - before[route]
        totals["route_mastodon"] = sum(after[r] - before[r] for r in after
                                       if r.startswith("mastodon/"))
    totals["hours"] = days * 24 - WARMUP / timedelta(hours=1)
    totals["accounts"] = accounts
    return totals


def report(title: str, t: dict) -> None:
    hours, accounts = t["hours"], t["accounts"]
    print(
        f"\n== {title}: {accounts} people on X, Facebook and Mastodon (two instances), "
        f"{hours:.0f} h of steady state "
        f"(after a {WARMUP.days}-day warm-up), simulated in {t['wall_s']:.1f} s"
    )
    for net in NETWORKS:
        found = t[f"{net}_activities"]
        ratio = t[f"{net}_posts_read"] / found if found else float("inf")
        print(
            f"{net:9s} posts read {t[f'{net}_posts_read']:6d}  new activities {found:5d}  "
            f"posts read per activity {ratio:5.2f}  requests/account/hour "
            f"{t[f'{net}_requests'] / accounts / hours:.3f}"
        )
    for route, limit in X_LIMITS_PER_HOUR.items():
        per_hour = t[f"route_{route}"] / accounts / hours
        print(
            f"x {route:13s} {per_hour:.3f} requests/account/hour vs limit {limit}/hour "
            f"({100 * per_hour / limit:.4f}% of the per-user budget)"
        )
    graph = t["route_graph"] / accounts / hours
    print(
        f"facebook graph  {graph:.3f} requests/account/hour vs 200/hour/user "
        f"({100 * graph / 200:.3f}%)"
    )
    toots = t["route_mastodon"] / accounts / hours
    print(
        f"mastodon api    {toots:.3f} requests/account/hour vs {MASTODON_LIMIT_PER_HOUR}/hour "
        f"({100 * toots / MASTODON_LIMIT_PER_HOUR:.4f}%)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    active = Rates(
        likes=6,
        reposts=1.0,
        quotes=0.3,
        explicit=0.5,
        originals=0.5,
        facebook_page_likes_per_month=6,
        facebook_shares=1.0,
        facebook_statuses=0.5,
    )
    report(
        "active people (6 likes or favourites, 1.5-1.8 reposts/boosts/#flattr a day)",
        simulate(active, MastodonRates(favourites=6, boosts=1.0, explicit=0.5, originals=0.5),
                 args.accounts, args.days, args.seed),
    )
    report(
        "casual people (scenario defaults: 1.5 likes or favourites a day)",
        simulate(Rates(), MastodonRates(), args.accounts, args.days, args.seed),
    )
    idle = Rates(
        likes=0,
        reposts=0,
        quotes=0,
        explicit=0,
        originals=0,
        facebook_page_likes_per_month=0,
        facebook_shares=0,
        facebook_statuses=0,
    )
    report("idle people (no activity at all)",
           simulate(idle, MastodonRates(0, 0, 0, 0), args.accounts, args.days, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
