"""Close a period: staged, resumable, exactly once, set-based.

Every stage is one database transaction that also records the stage it reached, so a crash
at any point leaves either all of a stage or none of it, and a rerun resumes where the last
commit left off. Each stage is a fixed number of INSERT ... SELECT / UPDATE statements over
the whole period: nothing is read into Python, so memory does not grow with the flattrs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from core import escrow, ledger, logs
from core.db import Database, rows_affected
from core.errors import PeriodNotOver
from core.models import Settlement, timed
from core.periods import claim_deadline, parse_period, period_end, period_index
from core.rules import Rules
from core.settlement_sql import (
    CHARGES_SQL,
    CHARITY_SQL,
    CHARITY_TOTAL_SQL,
    HOLD_OWN_PAID_SQL,
    IDLE_CHARGES_SQL,
    LEDGER_SQL,
    NOTICES,
    NOTICES_SQL,
    OWN_PAID_SQL,
    RELEASE_LATE_CLAIMS_SQL,
    SPLIT_ORDER,
    THING_TOTALS_SQL,
    shares_sql,
)

STAGES = ("begun", "charges", "shares", "ledger", "release", "idle", "notices", "done")
CHARGING_LOCK_ID = 0x5E771F
LOCK_NAMESPACE = 0x5E771E  # advisory lock key = namespace * 10**6 + period index


class SimulatedCrash(RuntimeError):
    """Raised by tests to stop a settlement right after a stage committed."""


@dataclass(frozen=True)
class SettleResult:
    period: str
    status: str  # settled | already | busy
    stages_run: tuple[str, ...]


def settle(db: Database, rules: Rules, period: str, *, now: datetime,
           crash_after: str | None = None) -> SettleResult:
    """Close `period` (which must be over). Safe to call from any number of workers."""
    parse_period(period)  # canonical only: another spelling of a month would charge it twice
    if period_end(period) > now:
        ends = f"{period_end(period):%Y-%m-%d}"
        raise PeriodNotOver("period %(period)s is not over yet (it ends %(ends)s)",
                            period=period, ends=ends)
    lock = _AdvisoryLock(db, LOCK_NAMESPACE * 1_000_000 + period_index(period))
    if not lock.acquire():
        return SettleResult(period, "busy", ())
    try:
        return _run_stages(db, rules, period, now, crash_after)
    finally:
        lock.release()


def _run_stages(db: Database, rules: Rules, period: str, now: datetime,
                crash_after: str | None) -> SettleResult:
    with db.unit_of_work() as session:
        session.execute(
            timed("INSERT INTO settlements (period, stage, started_at, split_order)"
                  " VALUES (:p, 'begun', :now, :order) ON CONFLICT (period) DO NOTHING", "now"),
            {"p": period, "now": now, "order": SPLIT_ORDER})
    steps: dict[str, Callable[[Session, Rules, str, datetime], None]] = {
        "charges": _charges, "shares": _shares, "ledger": _ledger, "release": _release_late_claims,
        "idle": _idle, "notices": _notices, "done": _done,
    }
    ran: list[str] = []
    for stage, step in steps.items():
        started = time.perf_counter()
        with db.unit_of_work() as session:
            current = _lock_row(session, db, period)
            if STAGES.index(current) >= STAGES.index(stage):
                continue
            step(session, rules, period, now)
            session.execute(text("UPDATE settlements SET stage = :s WHERE period = :p"),
                            {"s": stage, "p": period})
        logs.event("settlement.stage", period=period, stage=stage,
                   seconds=round(time.perf_counter() - started, 3))
        ran.append(stage)
        if crash_after == stage:
            raise SimulatedCrash(stage)
    # Stages of one period may be shared between callers; the one that ran the last
    # stage closed it.
    return SettleResult(period, "settled" if "done" in ran else "already", tuple(ran))


def _lock_row(session: Session, db: Database, period: str) -> str:
    # SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL needs the row lock.
    suffix = " FOR UPDATE" if db.is_postgres else ""
    return session.execute(
        text("SELECT stage FROM settlements WHERE period = :p" + suffix), {"p": period}
    ).scalar_one()


def _charges(session: Session, rules: Rules, period: str, now: datetime) -> None:
    if _is_postgres(session):
        # Wait for flattr writers of this period to commit; later ones see the settlements
        # row and go to the next period.
        session.execute(text("LOCK TABLE flattrs IN SHARE MODE"))
        _serialise_charging(session)
    session.execute(text(CHARGES_SQL), {"p": period})


def _shares(session: Session, rules: Rules, period: str, now: datetime) -> None:
    if _is_postgres(session):
        session.execute(text("LOCK TABLE flattrs IN SHARE MODE"))  # withdrawals wait
        # The split sorts a month of flattrs and the totals hash them: keep both in memory.
        # Fresh statistics on the charges just written keep the planner's join sane; JIT
        # would spend longer compiling than these plain scans take.
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("ANALYZE charges"))
    # The order the period began with: a period begun before migration 0004 keeps its old one.
    order = session.execute(text("SELECT split_order FROM settlements WHERE period = :p"),
                            {"p": period}).scalar_one()
    session.execute(text(shares_sql(order)), {"p": period, "rot": period_index(period)})
    if _is_postgres(session):
        # Without statistics on the rows just written the planner sorts a month of shares
        # on disk and loops over the things: four times slower than hashing them.
        session.execute(text("ANALYZE shares"))
    deadline = claim_deadline(period, rules.claim_window_days)
    session.execute(timed(THING_TOTALS_SQL, "deadline"),
                    {"p": period, "bps": rules.fee_bps, "deadline": deadline})
    for (thing_id,) in session.execute(text(OWN_PAID_SQL), {"p": period}).all():
        session.execute(timed(HOLD_OWN_PAID_SQL, "deadline"),
                        {"p": period, "thing": thing_id, "deadline": deadline})


def _ledger(session: Session, rules: Rules, period: str, now: datetime) -> None:
    txn = ledger.open_transaction(session, "settle", now=now, ref=f"settle:{period}",
                                  period=period)
    session.execute(text(LEDGER_SQL), {"txn": txn, "p": period})


def _release_late_claims(session: Session, rules: Rules, period: str, now: datetime) -> None:
    """Escrow of this period whose thing was claimed while the period was closing."""
    txn = ledger.open_transaction(session, "release", now=now, ref=f"settle-release:{period}",
                                  period=period)
    released = session.execute(timed(RELEASE_LATE_CLAIMS_SQL, "now"),
                               {"txn": txn, "p": period, "now": now})
    if rows_affected(released):
        escrow.post_release(session, txn)
    else:
        session.execute(text("DELETE FROM transactions WHERE id = :txn"), {"txn": txn})


def _idle(session: Session, rules: Rules, period: str, now: datetime) -> None:
    if rules.idle_budget_policy != "charity":
        return
    if _is_postgres(session):
        _serialise_charging(session)
    session.execute(text(IDLE_CHARGES_SQL), {"p": period})
    txn = ledger.open_transaction(session, "charity", now=now, ref=f"charity:{period}",
                                  period=period)
    session.execute(text(CHARITY_SQL), {"txn": txn, "p": period})
    session.execute(text(CHARITY_TOTAL_SQL), {"txn": txn})


def _notices(session: Session, rules: Rules, period: str, now: datetime) -> None:
    for kind, people in NOTICES.items():  # statements for creators, notes for donors
        session.execute(timed(NOTICES_SQL.format(kind=kind, people=people), "now"), {
            "p": period, "now": now, "payload": json.dumps({"period": period})})


def _done(session: Session, rules: Rules, period: str, now: datetime) -> None:
    session.execute(timed("UPDATE settlements SET finished_at = :now WHERE period = :p", "now"),
                    {"now": now, "p": period})


def _serialise_charging(session: Session) -> None:
    """Two periods fixing charges at once would each see the whole wallet: take turns
    (each then sees the other's charges, fixed but not yet posted; see WALLETS)."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHARGING_LOCK_ID})


def _is_postgres(session: Session) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


def settlement_stage(session: Session, period: str) -> str | None:
    row = session.get(Settlement, period)
    return row.stage if row else None


class _AdvisoryLock:
    """A non-blocking PostgreSQL advisory lock held on its own connection; a no-op on SQLite,
    where the stage transactions serialise anyway."""

    def __init__(self, db: Database, key: int):
        self._db, self._key = db, key
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        if not self._db.is_postgres:
            return True
        self._connection = self._db.engine.connect()
        got = self._connection.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                       {"k": self._key}).scalar_one()
        self._connection.commit()
        if not got:
            self._connection.close()
            self._connection = None
        return bool(got)

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            self._connection.commit()
            self._connection.close()
            self._connection = None
