"""`flattr demo`: a month of the whole loop on a fresh SQLite file, in well under a minute.

The sandbox runs in-process with the demo scenario; a simulated clock, shared by the
sandbox and the app, jumps from one due poll (or hourly tick) to the next, and at each stop
the REAL worker jobs run (the same Worker methods `flattr run` schedules), talking to the
sandbox over HTTP with tweepy, facebook-sdk and Mastodon.py (two Mastodon instances).
Polls are stored in lease order so that two runs give the same numbers. Then the month is
closed, notifications are delivered (log channel, X DMs and posts, a Facebook Page post and
Mastodon direct messages in the sandbox) and the ledger checked.

The demo deployment switches on every X trigger (likes, reposts, explicit). A production
deployment defaults to explicit #flattr requests only: X's developer policy forbids paying
for likes and reposts.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text

from bots import bluesky, facebook, mastodon, networks, x
from bots.bluesky.scenario import add_bluesky
from bots.sandbox import start_sandbox
from core import identity, ledger, people, reports, things
from core.accounts import link_account, next_due_at
from core.money import parse_cents
from core.periods import period_end, period_of
from jobs.channels import LogChannel
from jobs.notify import NotifyStats
from jobs.poll import PollStats
from jobs.worker import Worker
from runtime.app import build_app, load_settings

DEMO_X_TRIGGERS = frozenset({"likes", "reposts", "explicit"})
# Why an activity is not a flattr (core.outcomes), as the summary says it.
REASONS = {"already": "already flattred this month", "own": "their own thing",
           "no_means": "no money (wallet below the minimum, or no budget)",
           "no_target": "not a creation (nothing in it to flattr)"}
# name: (budget, funds, channels). dave's wallet is below the minimum budget (he is told);
# erin announces her flattrs from her own X account.
PEOPLE = {"alice": ("20.00", "50.00", "x_dm"), "bob": ("30.00", "60.00", "log"),
          "carol": ("10.00", "25.00", "log"), "dave": ("2.00", "1.00", "log"),
          "erin": ("15.00", "40.00", "log")}
ANNOUNCERS = {"erin"}
STREAM_EVERY = timedelta(hours=12)  # how often the demo's worker catches up with Jetstream
STREAM_WAIT_S = 0.05  # an idle stream is caught up after this long
# Creators who joined, in order; the third hears from the service's Mastodon account.
CREATOR_CHANNELS = ["x_dm", "facebook_page,log", "mastodon_dm,log"]


@dataclass
class ManualClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class DemoResult:
    period: str
    report: dict[str, Any]
    problems: list[str]
    delivered: int
    by_channel: dict[str, int]
    waiting: int
    suppressed: int
    sandbox_messages: list[dict]
    log_messages: list[dict]
    poll: PollStats
    seconds: float
    database: str
    notes: list[str] = field(default_factory=list)
    # What became of the activities the worker recorded: flattred, already, own,
    # no_means, no_target (core.outcomes), by count.
    outcomes: dict[str, int] = field(default_factory=dict)
    creators: list[str] = field(default_factory=list)  # the creators who joined, by name

    def not_flattred(self) -> dict[str, int]:
        """Why activities did not become flattrs: each refusal's count, and `unrecorded`,
        what the worker saw but never recorded (the same activity seen again, or by
        nobody who joined: X's search finds anyone's #flattr)."""
        reasons = {key: self.outcomes.get(key, 0) for key in REASONS}
        reasons["unrecorded"] = max(0, self.poll.activities - sum(self.outcomes.values()))
        return reasons

    def as_json(self) -> dict[str, Any]:
        return {**self.report, "notifications": self.delivered,
                "not_flattred": self.not_flattred(),
                "check": "ok" if not self.problems else self.problems}


def scenario_path() -> Path:
    return Path(str(resources.files("bots") / "sandbox" / "scenarios" / "demo.json"))


def run_demo(database: Path | None = None, *, progress: IO[str] | None = sys.stderr,
             scenario: dict | Path | None = None, database_url: str | None = None) -> DemoResult:
    started = time.monotonic()
    networks.install()  # the sandbox emulates the registered networks
    workdir = Path(tempfile.mkdtemp(prefix="flattr-demo-"))  # removed at the end
    token_keys = None
    if database_url is not None:  # not a demo file: its tokens need no key kept anywhere
        from core.crypto import generate_key

        token_keys = generate_key()
    else:
        path = database or workdir / "flattr-demo.db"
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}.token-key")):
            stale.unlink(missing_ok=True)
        database_url = f"sqlite:///{path}"
    source = scenario if scenario is not None else scenario_path()
    spec = _with_bluesky(source if isinstance(source, dict) else _load(source))
    clock = ManualClock(datetime.fromisoformat(spec["start"]))
    sandbox = start_sandbox(spec, clock=clock)
    try:
        service = spec.get("service", {})
        settings = load_settings(
            database_url=database_url, networks="sandbox", sandbox_url=sandbox.base_url,
            x_triggers=DEMO_X_TRIGGERS, x_service_user_id=service.get("x_user_id"),
            x_service_token=service.get("x_token"),
            x_service_handle=service.get("x_handle", "flattrbot"),
            facebook_page_id=service.get("facebook_page_id"),
            facebook_page_token=service.get("facebook_page_token"), token_keys=token_keys,
            bluesky_service_did=service.get("bluesky_did"),
            bluesky_service_handle=service.get("bluesky_handle"),
            bluesky_batch_wait_seconds=STREAM_WAIT_S,
            **_mastodon_service(spec))
        app = build_app(settings, clock=clock)
        app.db.upgrade()
        creators = _populate(app, spec)
        log_channel = LogChannel()
        worker = Worker(app, api_base_url=sandbox.base_url, owner="demo", ordered=True,
                        log_channel=log_channel)
        try:
            result = _play_month(app, worker, clock, progress)
        finally:
            worker.close()
        result.creators = creators
        result.sandbox_messages = sandbox.sent_messages()
        result.log_messages = list(log_channel.sent)
        result.database = database_url
        result.seconds = time.monotonic() - started
        app.close()
        return result
    finally:
        sandbox.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _mastodon_service(spec: dict) -> dict[str, Any]:
    """The service's Mastodon account, where the scenario has one (direct messages)."""
    service = (spec.get("mastodon") or {}).get("service")
    if not service:
        return {}
    return {"mastodon_service_account": f"flattr@{service['host']}",
            "mastodon_service_user_id": str(service["id"]),
            "mastodon_service_token": service["token"]}


def _load(path: Path) -> dict:
    import json

    return json.loads(Path(path).read_text())


def _with_bluesky(spec: dict) -> dict:
    """The scenario with Bluesky people, posts, likes and reposts, where it has none (the
    demo scenario file predates them): generated from its people and creators."""
    if bluesky.NETWORK in spec:
        return spec
    import copy

    spec = copy.deepcopy(spec)
    start = datetime.fromisoformat(spec["start"])
    add_bluesky(spec, seed=1, begin=start - timedelta(days=3),
                end=period_end(period_of(start)))
    return spec


def _populate(app: Any, spec: dict) -> list[str]:
    """The people (with wallets, budgets and linked accounts) and the creators who joined
    (with their claims); returns those creators' names."""
    now = app.now()
    joined = []
    with app.db.unit_of_work() as session:
        for person in spec["people"]:
            name = person["key"]
            budget, funds, channels = PEOPLE.get(name, ("5.00", "20.00", "log"))
            row = people.add_person(session, app.rules, name, parse_cents(budget),
                                    parse_cents(funds), now=now, email=f"{name}@example.net")
            row.notify_channels = channels
            row.announce_flattrs = name in ANNOUNCERS
            on_x, fb = person.get("x"), person.get("facebook")
            if on_x:
                link_account(session, app.keys, person_id=row.id, network=x.NETWORK,
                             external_user_id=str(on_x["user_id"]), token=on_x["token"],
                             now=now, handle=on_x.get("username"))
            if fb:
                link_account(session, app.keys, person_id=row.id, network=facebook.NETWORK,
                             external_user_id=str(fb["user_id"]), token=fb["token"], now=now)
            toots = person.get("mastodon")
            if toots and toots.get("token"):
                link_account(session, app.keys, person_id=row.id, network=mastodon.NETWORK,
                             external_user_id=mastodon.account_key(toots["host"],
                                                                   str(toots["id"])),
                             token=toots["token"], now=now, handle=toots.get("username"))
            sky = person.get(bluesky.NETWORK)
            if sky:  # read from Jetstream; nothing secret is kept (bots/bluesky/link.py)
                link_account(session, app.keys, person_id=row.id, network=bluesky.NETWORK,
                             external_user_id=sky["did"], token="", now=now,
                             handle=sky["handle"])
        creators = spec.get("creators", [])
        for index, creator in enumerate(creators[:-1] if len(creators) > 1 else creators):
            name = creator["name"].lower().replace(" ", "")
            joined.append(name)
            row = people.add_person(session, app.rules, name, app.rules.min_monthly_budget, 0,
                                    now=now)
            row.notify_channels = CREATOR_CHANNELS[index % len(CREATOR_CHANNELS)]
            row.digest_enabled = index == len(CREATOR_CHANNELS) - 1
            claims = [creator["url_prefix"]]
            if creator.get("x_user_id"):
                claims.append(str(identity.of(x.NETWORK, x.USER_KIND, str(creator["x_user_id"]))))
            if creator.get("facebook_page_id"):
                claims.append(str(identity.of(facebook.NETWORK, facebook.PAGE_KIND,
                                              str(creator["facebook_page_id"]))))
            if creator.get("mastodon"):
                claims.append(str(identity.account(mastodon.NETWORK, mastodon.account_key(
                    creator["mastodon"]["host"], str(creator["mastodon"]["id"])))))
            if creator.get("bluesky_did"):
                claims.append(str(identity.of(bluesky.NETWORK, bluesky.USER_KIND,
                                              creator["bluesky_did"])))
            for claim in claims:
                things.claim(session, app.rules, row, claim, now=now)
    return joined


def _play_month(app: Any, worker: Worker, clock: ManualClock, progress: IO[str] | None
                ) -> DemoResult:
    start = clock.now
    period = period_of(start)
    end = period_end(period) + timedelta(minutes=10)
    total, sent = PollStats(), NotifyStats()
    # Jetstream is caught up with at 10:59 and 22:59, before the hourly notify that folds
    # the day's flattrs into its announcement (the last hour of the month waits for April).
    next_hour, next_day = start, start
    next_stream = start + STREAM_EVERY - timedelta(hours=1, minutes=1)
    shown = -1
    while clock.now < end:
        _add(total, worker.poll())
        if clock.now >= next_stream:  # Bluesky: Jetstream, read until caught up
            streamed = worker.stream()
            total.activities += streamed.activities
            total.flattrs += streamed.flattrs
            next_stream += STREAM_EVERY
        if clock.now >= next_hour:
            sent.add(worker.notify())
            next_hour += timedelta(hours=1)
        if clock.now >= next_day:
            worker.daily()
            worker.expire()
            next_day += timedelta(days=1)
        with app.db.unit_of_work() as session:
            due = next_due_at(session) or end
        clock.now = max(min(due, next_hour, next_stream, end), clock.now + timedelta(seconds=1))
        shown = _progress(progress, start, end, clock.now, total, shown)
    worker.settle_due()
    sent.add(worker.notify())
    _progress(progress, start, end, end, total, shown, done=True)
    with app.db.unit_of_work() as session:
        report = reports.report(session, app.rules, period)
        problems = ledger.self_check(session).problems
        counts = dict(session.execute(_STATUS_COUNTS).all())
        outcomes = {str(k): int(v) for k, v in session.execute(_OUTCOME_COUNTS).all()}
    return DemoResult(outcomes=outcomes,
        period=period, report=report, problems=problems,
        delivered=int(counts.get("sent", 0)), by_channel=dict(sent.by_channel),
        waiting=int(counts.get("pending", 0)) + int(counts.get("sending", 0)),
        suppressed=int(counts.get("suppressed", 0)), sandbox_messages=[], log_messages=[],
        poll=total, seconds=0.0, database="")


_STATUS_COUNTS = text("SELECT status, COUNT(*) FROM notifications GROUP BY status")
# A tombstone (an undo seen before its activity: core.retractions) is no activity seen.
_OUTCOME_COUNTS = text("SELECT outcome, COUNT(*) FROM activities WHERE outcome <> 'undone'"
                       " GROUP BY outcome")


def _add(total: PollStats, stats: PollStats) -> None:
    total.polled += stats.polled
    total.activities += stats.activities
    total.flattrs += stats.flattrs
    total.requests += stats.requests
    total.errors += stats.errors


def _progress(out: IO[str] | None, start: datetime, end: datetime, now: datetime,
              total: PollStats, shown: int, done: bool = False) -> int:
    if out is None:
        return shown
    percent = int(100 * (now - start) / (end - start))
    step = percent if out.isatty() else percent // 10 * 10
    if step == shown:
        if done and out.isatty():
            out.write("\n")
        return shown
    bar = "#" * (percent // 4) + "." * (25 - percent // 4)
    line = (f"[demo] {now:%Y-%m-%d %H:%M} [{bar}] {percent:3d}%  polls {total.polled}"
            f"  activities {total.activities}  flattrs {total.flattrs}")
    if out.isatty():
        out.write("\r" + line + ("\n" if done else ""))
    else:
        out.write(line + "\n")
    out.flush()
    return step
