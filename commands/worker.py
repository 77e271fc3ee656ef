"""`flattr run`, `flattr demo`, `flattr status`, and operations on linked accounts."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from bots import registry
from commands import args as arguments
from commands.money import with_app
from core import identity, outbox, people, streams
from core.accounts import NEEDS_RECONNECT, account_identity, link_account, status_counts
from core.errors import UserError
from core.models import Settlement, SocialAccount
from jobs.render import render_report
from jobs.shared import month_usage
from runtime import logs
from runtime.app import App, build_app, utc_now


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="the worker: poll, settle, notify, expire")
    run.add_argument("--once", action="store_true", help="run every job once, then exit")
    seconds = arguments.decimal(0.01, 86400.0 * 7)
    run.add_argument("--poll-every", type=seconds, default=5.0, metavar="SECONDS")
    run.add_argument("--notify-every", type=seconds, default=10.0, metavar="SECONDS")
    run.add_argument("--settle-check-every", type=seconds, default=60.0, metavar="SECONDS")
    run.add_argument("--expire-every", type=seconds, default=3600.0, metavar="SECONDS")
    run.add_argument("--concurrency", type=arguments.integer(1, 256),
                     help="parallel polls (FLATTR_POLL_CONCURRENCY)")
    run.add_argument("--worker-id", type=arguments.text(100),
                     help="lease owner name (default host:pid:random)")
    run.add_argument("--sim-start", metavar="ISO8601", type=arguments.moment,
                     help="a fast clock for replays and tests: simulated time starts here")
    run.add_argument("--sim-speed", type=arguments.decimal(0.001, 1e7), default=1.0,
                     help="simulated seconds per second")
    run.add_argument("--sim-anchor", type=arguments.decimal(0, 1e11), metavar="EPOCH",
                     help="the wall-clock moment (Unix time) of --sim-start (default: now)")
    run.add_argument("--log-level", default="INFO")
    run.set_defaults(func=_run)

    demo = subparsers.add_parser("demo", help="a simulated month against the sandbox")
    demo.add_argument("--json", action="store_true", help="the month's report as JSON")
    demo.add_argument("--db", help="keep the demo database here (replaced each run)")
    demo.set_defaults(func=_demo)

    status = subparsers.add_parser("status", help="accounts due, leases, outbox, settlement")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=with_app(_status))

    accounts = subparsers.add_parser("accounts", help="linked social accounts").add_subparsers(
        dest="accounts_command", required=True)
    link = accounts.add_parser("link", help="link an account with a user token (operators)")
    link.add_argument("name")
    link.add_argument("--network", choices=[n.name for n in registry.all_networks()],
                      required=True)
    link.add_argument("--user-id", required=True)
    link.add_argument("--token-file", required=True,
                      help="a file holding the access token (never on the command line)")
    link.add_argument("--handle", type=arguments.handle)
    link.add_argument("--triggers", help="comma-separated, limited by the deployment's")
    link.set_defaults(func=with_app(_link))
    accounts.add_parser("list", help="linked accounts and their schedule").set_defaults(
        func=with_app(_list))

    optout = subparsers.add_parser("optout", help="never message this person or identity again")
    optout.add_argument("subject", help="a person's name, or an identity such as twitter:123")
    optout.set_defaults(func=with_app(_optout))


def _clock(args: argparse.Namespace) -> Callable[[], datetime]:
    from jobs.worker import SimClock

    if args.sim_start is not None:
        anchor = args.sim_anchor if args.sim_anchor is not None else time.time()
        return SimClock(args.sim_start, anchor, args.sim_speed)
    fixed: datetime | None = getattr(args, "now", None)  # checked by its argument type
    if fixed is not None:
        return lambda: fixed
    return utc_now


def _run(args: argparse.Namespace) -> int:
    from jobs.scheduling import Intervals, run_forever
    from jobs.worker import Worker

    logs.configure(args.log_level.upper())
    # A poll still running when the next tick comes is normal: not worth a warning.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    app = build_app(clock=_clock(args))
    try:
        app.require_schema()
        speed = args.sim_speed if args.sim_start else 1.0
        worker = Worker(app, owner=args.worker_id, lease_scale=speed,
                        concurrency=args.concurrency)
        if args.once:
            try:
                worker.settle_due()
                worker.refresh_tokens()
                worker.poll()
                worker.stream()  # the live streams, read until caught up
                worker.notify()
                worker.expire()
                worker.daily()
            finally:
                worker.close()
            return 0
        intervals = Intervals(poll=args.poll_every, notify=args.notify_every,
                              settle_check=args.settle_check_every, expire=args.expire_every)
        return run_forever(worker, intervals)
    finally:
        app.close()


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from jobs.demo import run_demo

    result = run_demo(Path(args.db).resolve() if args.db else None, progress=sys.stderr)
    if args.json:
        print(json.dumps(result.as_json()))
    else:
        print(_demo_summary(result, kept=bool(args.db)))
    return 0 if not result.problems else 1


def _demo_summary(result, kept: bool) -> str:  # type: ignore[no-untyped-def]
    from jobs.demo import DEMO_X_TRIGGERS, REASONS

    poll = result.poll
    channels = ", ".join(f"{n} by {c}" for c, n in sorted(result.by_channel.items()))
    reasons = result.not_flattred()
    why = [f"{reasons[key]} {label}" for key, label in REASONS.items() if reasons[key]]
    if reasons["unrecorded"]:
        why.append(f"{reasons['unrecorded']} seen again or by someone who never joined"
                   " (not recorded)")
    joined = set(result.creators)
    # The people who flattr, apart from the creators who joined (who earn, and whose
    # minimum budget charged nothing: they flattred nothing).
    report = {**result.report, "people": [p for p in result.report["people"]
                                          if p["name"] not in joined or p["flattrs"]]}
    period = result.report["period"]
    lines = [
        f"flattr demo: one simulated month ({period}) against the sandbox networks",
        f"X triggers of this demo deployment: {', '.join(sorted(DEMO_X_TRIGGERS))} (a real"
        " deployment defaults to explicit #flattr requests only: X's policy forbids paying"
        " for likes and reposts)",
        f"worker: {poll.polled} polls, {poll.requests} API requests, {poll.activities}"
        f" activities -> {poll.flattrs} flattrs",
        f"not flattred: {'; '.join(why) if why else 'none'}",
        f"creators who joined: {', '.join(sorted(joined)) or 'none'} (paid below; the"
        " escrow waits for the others)",
        "",
        render_report(report),
        "",
        f"notifications: {result.delivered} delivered ({channels or 'none'}),"
        f" {result.waiting} waiting, {result.suppressed} suppressed;"
        f" the sandbox received {len(result.sandbox_messages)} posts and messages",
    ]
    for message in result.log_messages[-3:]:
        lines.append(f"  log -> {message['to']}: {message['text'].splitlines()[0]}")
    lines.append("self-check: " + ("ok" if not result.problems else "; ".join(result.problems)))
    where = result.database if kept else "a temporary database (use --db PATH to keep it)"
    lines.append(f"done in {result.seconds:.1f} s on {where}")
    if kept:
        lines.append(f"next: FLATTR_DATABASE_URL={result.database} flattr report --period"
                     f" {period}   (this month again), or try it as a person: flattr web"
                     " --with-sandbox, then open http://127.0.0.1:8000/ (README: \"Try the"
                     " web app\")")
    else:
        lines.append("next: flattr web --with-sandbox, then open http://127.0.0.1:8000/ and"
                     " sign up: link the sandbox's @alice and watch flattrs arrive, a month"
                     " close and its statement (README: \"Try the web app\")")
    return "\n".join(lines)


def _status(app: App, args: argparse.Namespace) -> int:
    now = app.now()
    with app.db.unit_of_work() as session:
        accounts = status_counts(session, now=now)
        depth = outbox.depth(session, now=now)
        last = session.execute(select(Settlement).order_by(Settlement.period.desc()).limit(1)
                               ).scalar_one_or_none()
        reads = month_usage(session, app)
        shared = streams.counts(session, now=now)
    settled = ({"period": last.period, "stage": last.stage,
                "finished_at": last.finished_at.isoformat() if last.finished_at else None}
               if last else None)
    data = {"now": now.isoformat(), "accounts": accounts, "outbox": depth,
            "last_settlement": settled, "api_usage": reads, "shared_streams": shared}
    if args.json:
        print(json.dumps(data))
        return 0
    print(f"accounts: {accounts['accounts']} linked, {accounts['due']} due now,"
          f" {accounts['leased']} leased, {accounts[NEEDS_RECONNECT]} need reconnecting")
    print("outbox: " + ", ".join(f"{k} {v}" for k, v in sorted(depth.items())))
    print("last settlement: " + (f"{settled['period']} ({settled['stage']})" if settled
                                 else "none yet"))
    for row in reads:
        cap = (f" of a {row['cap']} cap ({row['percent']}%)" if row["cap"] else " (no cap set)")
        paused = "; reading paused until next month" if row["paused"] else ""
        print(f"{row['display_name']} posts read this month: {row['posts_read']}{cap},"
              f" {row['requests']} requests{paused}")
    if shared["streams"]:
        print(f"shared streams: {shared['streams']} ({shared['due']} due now,"
              f" {shared['leased']} leased)")
    return 0


def _link(app: App, args: argparse.Namespace) -> int:
    token = arguments.read_file(args.token_file, what="token file").strip()
    if not token:
        raise UserError(f"{args.token_file} is empty")
    triggers = ([t.strip() for t in args.triggers.split(",") if t.strip()]
                if args.triggers else None)
    with app.db.unit_of_work() as session:
        person = people.find_person(session, args.name)
        account = link_account(session, app.keys, person_id=person.id,
                               network=args.network, external_user_id=args.user_id, token=token,
                               now=app.now(), handle=args.handle, triggers=triggers)
    print(f"{person.name}: linked {account.identity}, first poll due now")
    return 0


def _list(app: App, args: argparse.Namespace) -> int:
    with app.db.unit_of_work() as session:
        rows = session.execute(select(SocialAccount).order_by(SocialAccount.id)).scalars().all()
        for a in rows:
            due = a.next_poll_at.isoformat() if a.next_poll_at else "-"
            print(f"{a.id:>6} {a.identity:<28} {a.status:<16} next {due}"
                  + (f"  error: {a.last_error}" if a.last_error else ""))
    return 0


def _optout(app: App, args: argparse.Namespace) -> int:
    subject = args.subject
    with app.db.unit_of_work() as session:
        if ":" not in subject:
            subject = f"person:{people.find_person(session, subject).id}"
        elif registry.find(subject.split(":", 1)[0]) is not None:
            network, _, user = subject.partition(":")
            subject = account_identity(network, user)
        else:
            subject = str(identity.parse(subject))  # an InvalidIdentity is a UserError
        suppressed = outbox.opt_out(session, subject, now=app.now())
    print(f"{subject} opted out for good; {suppressed} waiting notification(s) dropped")
    return 0
