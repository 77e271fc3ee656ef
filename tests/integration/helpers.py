"""Small builders for the integration tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from core import flattring, people
from core import identity as identities
from core.activity import Activity, Target
from core.db import Database
from core.models import Base
from core.rules import Rules


def at(day: int, month: int = 10, year: int = 2026, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def add_person(db: Database, rules: Rules, name: str, budget: int = 500, funds: int = 2000,
               now: datetime | None = None) -> int:
    with db.unit_of_work() as session:
        return people.add_person(session, rules, name, budget, funds, now=now or at(1)).id


def link_activity(url: str, actor: str = "twitter:1", when: datetime | None = None,
                  key: str | None = None, identity: str | None = None) -> Activity:
    return Activity(network="x", action="like", external_id=key or url, actor=actor,
                    occurred_at=when or at(5),
                    targets=(Target(url=url, identity=identity or str(identities.url(url))),))


def flattr(db: Database, rules: Rules, person_id: int, url: str, when: datetime | None = None,
           now: datetime | None = None, **kw: str) -> flattring.FlattrOutcome:
    with db.unit_of_work() as session:
        [outcome] = flattring.record_activities(
            session, rules, person_id, [link_activity(url, when=when, **kw)],
            now=now or when or at(5))
    return outcome


def ledger_dump(db: Database) -> list[tuple]:
    """The ledger, shares and totals without surrogate ids, comparable across databases and runs."""
    with db.engine.connect() as connection:
        entries = connection.execute(text(
            "SELECT t.kind, COALESCE(t.ref, ''), COALESCE(t.period, ''), e.account,"
            " e.amount_cents FROM entries e JOIN transactions t ON t.id = e.transaction_id"
            " ORDER BY 1, 2, 3, 4, 5")).all()
        shares = connection.execute(text(
            "SELECT p.name, t.url, s.period, s.share_cents FROM shares s"
            " JOIN people p ON p.id = s.person_id JOIN things t ON t.id = s.thing_id"
            " ORDER BY 1, 2, 3")).all()
        totals = connection.execute(text(
            "SELECT t.url, tt.period, tt.flattrs, tt.gross_cents, tt.fee_cents, tt.refund_cents,"
            " tt.state, COALESCE(tt.identity, ''), COALESCE(p.name, '') FROM thing_totals tt"
            " JOIN things t ON t.id = tt.thing_id LEFT JOIN people p ON p.id = tt.creator_id"
            " ORDER BY 1, 2")).all()
        notices = connection.execute(text(
            "SELECT dedupe_key, kind FROM notifications ORDER BY 1")).all()
    return [tuple(r) for r in entries] + [tuple(r) for r in shares] + [tuple(r) for r in totals] \
        + [tuple(r) for r in notices]


def wipe(db: Database) -> None:
    """Empty every table and restart ids, so a second run numbers its rows the same."""
    with db.engine.begin() as connection:
        if db.is_postgres:
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
