"""What a generated scenario's Mastodon section must yield, worked out from the scenario
alone (never from the adapter): per person, the favourites, boosts and #flattr replies
made after their account was connected, with the creation each flattrs and who holds it."""

from __future__ import annotations

from datetime import datetime

from bots.sandbox.world import parse_at
from core.urls import canonicalize

Expected = tuple[str, str, str, str, str]  # person, action, external id, first url, holder


def expected(scenario: dict, since: datetime, until: datetime
             ) -> tuple[set[Expected], set[tuple[str, str, str]]]:
    """The activities, and the flattrs where no creator registered anything: the statuses
    themselves (person, status URL, its author's identity)."""
    section = scenario["mastodon"]
    accounts = {f"{a['host']}:{a['id']}": a for a in section["accounts"]}
    people = {}
    for person in scenario["people"]:
        mine = person["mastodon"]
        key = f"{mine['host']}:{mine['id']}"
        people[key] = person["key"]
        accounts.setdefault(key, {**mine})
    statuses = {s["id"]: s for s in section["statuses"]}
    service = f"{section['service']['host']}:{section['service']['id']}"

    def author(status: dict) -> str:
        return f"{status['host']}:{status['account_id']}"

    def target(status: dict) -> tuple[str, str]:
        link = status.get("card") or (status.get("links") or [None])[0]
        url = canonicalize(link) if link else own_url(status)
        return url, f"mastodon:{author(status)}"

    def own_url(status: dict) -> str:
        return f"https://{status['host']}/@{accounts[author(status)]['username']}/{status['id']}"

    found: set[Expected] = set()
    owned: set[tuple[str, str, str]] = set()  # what flattrs where no creator registered links
    for favourite in section["favourites"]:
        key = f"{favourite['host']}:{favourite['account_id']}"
        status = statuses[favourite["status_id"]]
        if since < parse_at(favourite["at"]) <= until and author(status) not in (key, service):
            found.add((people[key], "favourite", status["id"], *target(status)))
            owned.add((people[key], own_url(status), f"mastodon:{author(status)}"))
    for status in section["statuses"]:
        key = author(status)
        if key not in people or not since < parse_at(status["at"]) <= until:
            continue
        if status.get("reblog_of"):
            action, original = "boost", statuses[status["reblog_of"]]
        elif status.get("in_reply_to") and ("Flattr" in status.get("tags", [])
                                            or service in status.get("mentions", [])):
            action, original = "explicit", statuses[status["in_reply_to"]]
        else:
            continue
        if author(original) not in (key, service):
            found.add((people[key], action, status["id"], *target(original)))
            owned.add((people[key], own_url(original), f"mastodon:{author(original)}"))
    return found, owned


def as_expected(person: str, activity) -> Expected:  # type: ignore[no-untyped-def]
    first, last = activity.targets[0], activity.targets[-1]
    return (person, activity.action, activity.external_id, first.url, last.identity)


def expected_activities(scenario: dict, since: datetime, until: datetime) -> set[Expected]:
    return expected(scenario, since, until)[0]
