"""Polling efficiency and API cost against the sandbox in steady state.

For each network and set of X triggers, prints the posts read from the API per new
activity found (target for X under the default triggers: <= 1.5) and an estimated API
cost per flattr (posts read per activity times `--price`, the price of one X post read;
every activity is counted as a flattr, so this is a floor on the real cost per flattr),
and the requests per account per hour against the per-user and per-app limits
(liked_tweets 75/15 min, users/:id/tweets 900/15 min, search/recent and mentions
450/15 min per app). People post as people do (bots.sandbox.REALISTIC: a median of 3.5
ordinary posts a day, a long tail of heavy posters, a few #flattr requests a week each,
and as many from X users who never linked an account). The pacing policy is
bots.pacing.next_poll_delay (~8 new activities per poll, at most every 10 minutes, idle
accounts every two days); search groups are read at least every 6 hours.

Runs: the default deployment (explicit requests only) finding requests by recent search
and mentions (restricted `from:` queries, what the service does), the same with a query
for `#flattr` alone (filtered locally; measured to choose), the same by reading every
timeline (before issue 16); the all-triggers deployment (likes, reposts, explicit); and
idle people (rate limits only).

    .venv/bin/python bench/poll.py [--accounts 40] [--days 14] [--seed 3] [--price 0.005]
                                   [--outsiders 1.0]
"""

from __future__ import annotations

import argparse
import heapq
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bots.base import LinkedAccount  # noqa: E402
from bots.facebook.adapter import FacebookNetwork  # noqa: E402
from bots.networks import install  # noqa: E402
from bots.sandbox import REALISTIC, Rates, generate_scenario, start_sandbox  # noqa: E402
from bots.x.adapter import XNetwork  # noqa: E402
from bots.x.search import XSearch  # noqa: E402

install()  # the sandbox emulates the registered networks

DEFAULT = frozenset({"explicit"})
ALL = frozenset({"likes", "reposts", "explicit"})
WARMUP = timedelta(days=2)
ROUTES = ("liked_tweets", "users_tweets", "search_recent", "users_mentions", "graph")
LIMITS_PER_HOUR = {"liked_tweets": 75 * 4, "users_tweets": 900 * 4, "graph": 200}
APP_LIMITS_PER_HOUR = {"search_recent": 450 * 4, "users_mentions": 450 * 4}
SERVICE = {"handle": "flattrbot", "user_id": "900000001", "app_token": "x-app-token"}


def simulate(rates: Rates, accounts: int, days: int, seed: int, *, x_triggers: frozenset[str],
             find_requests: str = "search", restricted: bool = True) -> dict:
    scenario = generate_scenario(accounts, days=days, seed=seed, rates=rates, history_days=2)
    totals: dict[str, Any] = Counter()  # counts, and a few float measures
    with start_sandbox(scenario) as server:
        x = XNetwork(triggers=x_triggers, service_handle=SERVICE["handle"],
                     service_user_id=SERVICE["user_id"], api_base_url=server.base_url,
                     find_requests=find_requests)
        readers: dict = {"x": x, "facebook": FacebookNetwork(api_base_url=server.base_url)}
        start, end = server.now, server.now + timedelta(days=days)
        queue: list = []
        for n, person in enumerate(scenario["people"]):
            for net in ("x", "facebook"):
                block = person[net]
                account = LinkedAccount(net, block["user_id"], block["token"])
                heapq.heappush(queue, (start, f"{n:05d}{net}", net, account))
        search = XSearch(bearer_token=SERVICE["app_token"], service_handle=SERVICE["handle"],
                         service_user_id=SERVICE["user_id"], session=x.session,
                         restricted=restricted)
        members: dict[str, str] = {}
        if find_requests == "search" and search.reads(x_triggers):
            members = {p["x"]["user_id"]: search.start_mark(start) for p in scenario["people"]}
        streams = search.plan({}, members)
        for name in streams:
            heapq.heappush(queue, (start, name, "x", None))
        cursors: dict = {}
        wall = time.perf_counter()
        before: Counter = Counter()
        while queue and queue[0][0] <= end:
            due, key, net, account = heapq.heappop(queue)
            server.set_now(due)
            if due >= start + WARMUP and not before:
                before = Counter(server.request_counts())
            if account is None:  # a shared stream: a search group or the mentions
                result = search.fetch(key, streams[key], members, cursors.get(key), due)
            else:
                result = readers[net].fetch_activity(account, cursors.get(key), due)
            cursors[key] = result.cursor
            if due >= start + WARMUP:
                if account is None:
                    kind = "mentions" if key == "mentions" else "search"
                    totals[f"{kind}_posts_read"] += result.posts_read
                totals[f"{net}_posts_read"] += result.posts_read
                totals[f"{net}_activities"] += len(result.activities)
                totals[f"{net}_requests"] += result.requests
            heapq.heappush(queue, (result.next_poll_at, key, net, account))
        totals["wall_s"] = time.perf_counter() - wall
        after = Counter(server.request_counts())
        for route in ROUTES:
            totals[f"route_{route}"] = after[route] - before[route]
        totals["groups"] = len([s for s in streams if s.startswith("search:")])
    totals["hours"] = days * 24 - WARMUP / timedelta(hours=1)
    totals["accounts"] = accounts
    return totals


def report(title: str, t: dict, price: float) -> dict[str, float]:
    hours, accounts = t["hours"], t["accounts"]
    print(f"\n== {title}\n   {accounts} people, {hours:.0f} h of steady state after a"
          f" {WARMUP.days}-day warm-up, {t['groups']} search group(s);"
          f" simulated in {t['wall_s']:.1f} s")
    ratios = {}
    for net in ("x", "facebook"):
        found = t[f"{net}_activities"]
        ratio = t[f"{net}_posts_read"] / found if found else float("inf")
        ratios[net] = ratio
        cost = f"API cost per flattr {100 * ratio * price:6.3f} cents" if net == "x" else (
            "(Graph API reads are not billed)")
        print(f"   {net:9s} posts read {t[f'{net}_posts_read']:6d}  new activities {found:5d}  "
              f"posts read per activity {ratio:5.2f}  {cost}")
    if t["groups"]:
        print(f"   of X's posts read: {t['search_posts_read']} by the search,"
              f" {t['mentions_posts_read']} by the mentions")
    for route in ROUTES:
        per_hour = t[f"route_{route}"] / hours
        if not per_hour:
            continue
        if route in APP_LIMITS_PER_HOUR:
            limit = APP_LIMITS_PER_HOUR[route]
            print(f"   {route:15s} {per_hour:7.2f} requests/hour for the app vs {limit}/hour"
                  f" ({100 * per_hour / limit:.3f}% of the per-app budget)")
        else:
            limit = LIMITS_PER_HOUR[route]
            print(f"   {route:15s} {per_hour / accounts:7.3f} requests/account/hour vs"
                  f" {limit}/hour ({100 * per_hour / accounts / limit:.4f}% per user)")
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--price", type=float, default=0.005,
                        help="price of one X post read, in the currency's units")
    parser.add_argument("--outsiders", type=float, default=REALISTIC.outsider_requests,
                        help="#flattr posts and service mentions a day by people not linked")
    args = parser.parse_args()
    run = (args.accounts, args.days, args.seed)
    realistic = replace(REALISTIC, outsider_requests=args.outsiders)
    default = report("default deployment (explicit requests only): recent search with"
                     " from: groups, and the service's mentions",
                     simulate(realistic, *run, x_triggers=DEFAULT), args.price)
    report("default deployment, one query for #flattr alone (filtered here to linked people)",
           simulate(realistic, *run, x_triggers=DEFAULT, restricted=False), args.price)
    report("default deployment, every timeline read (as before issue 16)",
           simulate(realistic, *run, x_triggers=DEFAULT, find_requests="timelines"),
           args.price)
    report("all triggers (likes, reposts, explicit): likes and every timeline read",
           simulate(realistic, *run, x_triggers=ALL), args.price)
    idle = Rates(likes=0, reposts=0, quotes=0, explicit=0, originals=0,
                 facebook_page_likes_per_month=0, facebook_shares=0, facebook_statuses=0)
    report("idle people, all triggers (no activity at all: requests only)",
           simulate(idle, *run, x_triggers=ALL), args.price)
    target = 1.5
    verdict = "meets" if default["x"] <= target else "MISSES"
    print(f"\nX posts read per new activity under the default triggers: {default['x']:.2f}"
          f" ({verdict} the target of {target})")
    return 0 if default["x"] <= target else 1


if __name__ == "__main__":
    raise SystemExit(main())
