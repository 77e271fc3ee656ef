"""`flattr` commands for people, things, claims, flattrs, settlement, reports and checks."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import datetime

from commands import args as arguments
from core import escrow, flattring, ledger, people, reports, settlement, things
from core.account_deletion import sweep_deleted_wallets
from core.money import format_cents, parse_cents
from core.users import end_sessions, unpause
from jobs.render import render_report
from runtime.app import App, build_app, utc_now

Handler = Callable[[App, argparse.Namespace], int]


def with_app(handler: Handler, *, needs_schema: bool = True) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        fixed: datetime | None = getattr(args, "now", None)  # checked by its argument type
        app = build_app(clock=(lambda: fixed) if fixed is not None else utc_now)
        try:
            if needs_schema:
                app.require_schema()
            return handler(app, args)
        finally:
            app.close()

    return run


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True)
    db.add_parser("upgrade", help="create or upgrade the schema").set_defaults(
        func=with_app(_db_upgrade, needs_schema=False))

    users = subparsers.add_parser("users", help="people, wallets and budgets").add_subparsers(
        dest="users_command", required=True)
    add = users.add_parser("add", help="add a person with a monthly budget and funds")
    add.add_argument("name")
    add.add_argument("--budget", required=True, help="monthly budget, e.g. 5.00")
    add.add_argument("--funds", default="0", help="initial wallet top-up, e.g. 20.00")
    add.add_argument("--email", type=arguments.email)
    add.set_defaults(func=with_app(_users_add))
    topup = users.add_parser("topup", help="add money to a wallet")
    topup.add_argument("name")
    topup.add_argument("amount")
    topup.set_defaults(func=with_app(_users_topup))
    budget = users.add_parser("budget", help="change the budget from the next period on")
    budget.add_argument("name")
    budget.add_argument("amount")
    budget.set_defaults(func=with_app(_users_budget))
    signout = users.add_parser("signout", help="end every web session of a person (a revoke)")
    signout.add_argument("name")
    signout.set_defaults(func=with_app(_users_signout))
    unpause = users.add_parser("unpause", help="reopen a name's sign-ins paused by failures")
    unpause.add_argument("name")
    unpause.set_defaults(func=with_app(_users_unpause))

    thing_cmds = subparsers.add_parser("things", help="creations").add_subparsers(
        dest="things_command", required=True)
    thing_add = thing_cmds.add_parser("add", help="register a creation by URL")
    thing_add.add_argument("url")
    thing_add.add_argument("--owner", required=True)
    thing_add.add_argument("--title")
    thing_add.set_defaults(func=with_app(_things_add))

    claim = subparsers.add_parser("claim", help="claim an identity or a URL prefix")
    claim.add_argument("name")
    claim.add_argument("identity_or_prefix", metavar="IDENTITY_OR_URL_PREFIX")
    claim.set_defaults(func=with_app(_claim))

    flattr = subparsers.add_parser("flattr", help="flattr a URL by hand, as from a button")
    flattr.add_argument("name")
    flattr.add_argument("url")
    flattr.add_argument("--at", type=arguments.moment,
                        help="ISO 8601 time of the click (default: now)")
    flattr.set_defaults(func=with_app(_flattr))

    settle = subparsers.add_parser("settle", help="close a period (exactly once, resumable)")
    settle.add_argument("--period", required=True, type=arguments.period)
    settle.set_defaults(func=with_app(_settle))

    report = subparsers.add_parser("report", help="what a period did")
    report.add_argument("--period", required=True, type=arguments.period)
    report.add_argument("--json", action="store_true")
    report.set_defaults(func=with_app(_report))

    payouts = subparsers.add_parser("payouts", help="earnings owed to creators")
    payouts.add_argument("--json", action="store_true")
    payouts.set_defaults(func=with_app(_payouts))

    subparsers.add_parser("check", help="prove the ledger adds up").set_defaults(
        func=with_app(_check))
    subparsers.add_parser("expire", help="return escrow whose claim window passed").set_defaults(
        func=with_app(_expire))


def _db_upgrade(app: App, args: argparse.Namespace) -> int:
    app.db.upgrade(fee_bps=app.rules.fee_bps)
    print("schema is up to date")
    return 0


def _users_add(app: App, args: argparse.Namespace) -> int:
    budget, funds = parse_cents(args.budget), parse_cents(args.funds)
    with app.db.unit_of_work() as session:
        person = people.add_person(session, app.rules, args.name, budget, funds, now=app.now(),
                                   email=args.email)
    print(f"added {person.name}: budget {_eur(app, budget)} a month, wallet {_eur(app, funds)}")
    return 0


def _users_topup(app: App, args: argparse.Namespace) -> int:
    amount = parse_cents(args.amount)
    with app.db.unit_of_work() as session:
        person = people.find_person(session, args.name)
        balance = people.topup(session, person, amount, now=app.now())
    print(f"{person.name}: wallet {_eur(app, balance)}")
    return 0


def _users_budget(app: App, args: argparse.Namespace) -> int:
    amount = parse_cents(args.amount)
    with app.db.unit_of_work() as session:
        person = people.find_person(session, args.name)
        effective = people.set_budget(session, app.rules, person, amount, now=app.now())
    print(f"{person.name}: budget {_eur(app, amount)} a month from {effective} on")
    return 0


def _users_signout(app: App, args: argparse.Namespace) -> int:
    with app.db.unit_of_work() as session:
        person = people.find_person(session, args.name)
        end_sessions(session, person)
    print(f"{person.name}: every web session ended")
    return 0


def _users_unpause(app: App, args: argparse.Namespace) -> int:
    with app.db.unit_of_work() as session:
        person = people.find_person(session, args.name)
        cleared = unpause(session, person.name)
    print(f"{person.name}: sign-ins open again ({cleared} recent failure(s) forgotten)")
    return 0


def _things_add(app: App, args: argparse.Namespace) -> int:
    with app.db.unit_of_work() as session:
        owner = people.find_person(session, args.owner)
        thing = things.add_thing(session, app.rules, args.url, owner, now=app.now(),
                                 title=args.title)
    print(f"{thing.url} belongs to {owner.name}")
    return 0


def _claim(app: App, args: argparse.Namespace) -> int:
    with app.db.unit_of_work() as session:
        person = people.find_person(session, args.name)
        result = things.claim(session, app.rules, person, args.identity_or_prefix, now=app.now())
    print(f"{person.name} claimed {result.kind} {result.value}: {result.things} thing(s),"
          f" {_eur(app, result.released_cents)} released from escrow"
          f" ({result.released_shares} share(s))")
    return 0


def _flattr(app: App, args: argparse.Namespace) -> int:
    now = app.now()
    at: datetime = args.at if args.at is not None else now
    with app.db.unit_of_work() as session:
        person = people.find_person(session, args.name)
        outcome = flattring.flattr_url(session, app.rules, person, args.url, at=at, now=now)
    print(f"{person.name}: {outcome.message}")
    return 0 if outcome.flattred else 2


def _settle(app: App, args: argparse.Namespace) -> int:
    result = settlement.settle(app.db, app.rules, args.period, now=app.now())
    if result.status == "busy":
        print(f"{args.period} is being settled by another worker")
        return 0
    with app.db.unit_of_work() as session:
        data = reports.report(session, app.rules, args.period)
    verb = "settled" if result.status == "settled" else "was already settled"
    print(f"{args.period} {verb}")
    print(render_report(data))
    return 0


def _report(app: App, args: argparse.Namespace) -> int:
    with app.db.unit_of_work() as session:
        data = reports.report(session, app.rules, args.period)
    print(json.dumps(data, sort_keys=False) if args.json else render_report(data))
    return 0


def _payouts(app: App, args: argparse.Namespace) -> int:
    with app.db.unit_of_work() as session:
        rows = reports.payouts(session)
    if args.json:
        print(json.dumps({"currency": app.rules.currency, "payouts": rows}))
        return 0
    if not rows:
        print("nothing is owed to anyone")
    for row in rows:
        print(f"{row['name']:<24} {_eur(app, row['owed_cents']):>14}")
    return 0


def _check(app: App, args: argparse.Namespace) -> int:
    with app.db.unit_of_work() as session:
        result = ledger.self_check(session)
    if result.ok:
        print("ok: every transaction balances, no account is negative, nobody paid more than"
              " their budget, all money is accounted for")
        return 0
    for problem in result.problems:
        print(f"FAIL: {problem}")
    return 1


def _expire(app: App, args: argparse.Namespace) -> int:
    with app.db.unit_of_work() as session:
        result = escrow.return_expired(session, now=app.now())
        swept = sweep_deleted_wallets(session, now=app.now())
    print(f"returned {_eur(app, result.cents)} from {result.shares} share(s)"
          f" to {result.donors} donor(s)")
    if swept:
        print(f"gave {_eur(app, swept)} returned to deleted accounts to charity")
    return 0


def _eur(app: App, cents: int) -> str:
    return f"{format_cents(cents)} {app.rules.currency}"


