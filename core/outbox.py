"""The outbox's database side: claiming due notifications, finishing them, and the rules of
restraint (opt-outs, per-recipient caps, digests, claim invitations).

A claim sets status 'sending', bumps `attempts` and pushes `next_attempt_at` to the end of
the lease: a crashed worker's claims come back when the lease runs out, and `attempts` is
the fencing token that makes a late finish from a worker that lost its claim a no-op.
Statuses: pending, sending, sent, failed (gave up), suppressed (never to be sent), folded
(an announcement taken into its day's post, whose dedupe key is in `fold_key`). The claim
is a core.leases lease; a failed delivery is retried after DELIVERY_BACKOFF.

"Announce my flattrs" posts at most once per person per day: each flattr's own row (dedupe
`announce:<flattr>`) is folded into one `announce_day` row (dedupe
`announce_day:<person>:<day>`) due when the day is over, which posts the day's flattrs
together. A flattr folded after its day's post went out joins the next day's post.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core import leases, notifications
from core.backoff import Backoff
from core.db import Database, rows_affected
from core.ledger import Account
from core.models import Notification, UtcDateTime, timed
from core.shares import person_shares

MAX_ATTEMPTS = 8
# A failed delivery waits 1 min, 2, 4 ... up to 6 hours (no jitter: one sender).
DELIVERY_BACKOFF = Backoff(base=timedelta(minutes=1), cap=timedelta(hours=6))
CAP_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    person_id: int | None
    identity: str | None
    payload: dict[str, Any]
    attempts: int
    dedupe_key: str
    created_at: datetime | None = None

    @property
    def recipient(self) -> str:
        return f"person:{self.person_id}" if self.person_id is not None else str(self.identity)


# A claim: 'sending', one more attempt (the fencing token), due again when the lease ends.
CLAIM = leases.Lease(
    table="notifications",
    due="status IN ('pending', 'sending') AND next_attempt_at <= :now",
    take="status = 'sending', attempts = attempts + 1, next_attempt_at = :until",
    returning="id, kind, person_id, identity, payload, attempts, dedupe_key, created_at",
    order="next_attempt_at, id",
    result_types={"created_at": UtcDateTime()},
)


def claim_due(db: Database, *, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    rows = leases.claim(db, CLAIM, now=now, duration=lease, limit=limit)
    return [Claimed(r.id, r.kind, r.person_id, r.identity, json.loads(r.payload or "{}"),
                    r.attempts, r.dedupe_key, r.created_at) for r in rows]


def _finish(session: Session, claimed: Claimed, assignments: str, params: dict[str, Any],
            *times: str) -> bool:
    return leases.finish(session, "notifications", claimed.id,
                         fence="status = 'sending' AND attempts = :attempts",
                         assignments=assignments,
                         params={"attempts": claimed.attempts, **params}, times=times)


def mark_sent(session: Session, claimed: Claimed, *, now: datetime,
              note: str | None = None) -> bool:
    return _finish(session, claimed, "status = 'sent', sent_at = :now, last_error = :note",
                   {"now": now, "note": note}, "now")


def mark_failed(session: Session, claimed: Claimed, *, now: datetime, error: str,
                retryable: bool) -> bool:
    """Retry later with capped backoff, or give up (not retryable, or too many attempts)."""
    error = error[:500]
    if retryable and claimed.attempts < MAX_ATTEMPTS:
        return _finish(session, claimed,
                       "status = 'pending', next_attempt_at = :at, last_error = :error",
                       {"at": now + DELIVERY_BACKOFF.delay(claimed.attempts), "error": error}, "at")
    return _finish(session, claimed, "status = 'failed', last_error = :error", {"error": error})


def mark_suppressed(session: Session, claimed: Claimed, *, reason: str) -> bool:
    return _finish(session, claimed, "status = 'suppressed', last_error = :reason",
                   {"reason": reason[:500]})


def defer(session: Session, claimed: Claimed, *, until: datetime, reason: str) -> bool:
    """Not a failure (a cap): back to pending, the attempt given back."""
    return _finish(session, claimed,
                   "status = 'pending', attempts = attempts - 1, next_attempt_at = :at,"
                   " last_error = :reason", {"at": until, "reason": reason[:500]}, "at")


# -- announcements: one post per person per day -------------------------------------------

ANNOUNCE_KINDS = ("announce_flattr", "announce_day")


def _day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _open_day(session: Session, person_id: int, day: datetime, *, now: datetime) -> str | None:
    """The day's post for this person, created if needed, due when the day is over; its
    dedupe key if it is still waiting (it can take more flattrs), else None. The UPDATE
    locks the row until this transaction ends, so a worker claiming it sees what we fold."""
    key = f"announce_day:{person_id}:{day:%Y-%m-%d}"
    notifications.enqueue(session, "announce_day", key, now=now, person_id=person_id,
                          payload={"day": f"{day:%Y-%m-%d}"}, due=day + timedelta(days=1))
    still_open = rows_affected(session.execute(text(
        "UPDATE notifications SET attempts = attempts"
        " WHERE dedupe_key = :key AND status = 'pending'"), {"key": key}))
    return key if still_open else None


def fold_announcements(session: Session, items: list[Claimed], *, now: datetime) -> int:
    """Fold claimed per-flattr announcements into their day's post (the day each was
    written); one whose day's post already went out joins today's. Returns how many."""
    folded = 0
    for item in items:
        assert item.kind == "announce_flattr" and item.person_id is not None
        day = _day_start(item.created_at or now)
        key = _open_day(session, item.person_id, day, now=now)
        if key is None and day < _day_start(now):
            key = _open_day(session, item.person_id, _day_start(now), now=now)
        if key is None:  # today's post is not waiting either (an opt-out suppressed it)
            folded += mark_suppressed(session, item, reason="the day's announcement is closed")
            continue
        folded += _finish(session, item, "status = 'folded', fold_key = :key", {"key": key})
    return folded


def announce_day_data(session: Session, day_key: str) -> dict[str, Any]:
    """The day's post: the day and the URLs of the flattrs folded into it, oldest first."""
    rows = session.execute(text(
        "SELECT payload FROM notifications WHERE kind = 'announce_flattr'"
        " AND status = 'folded' AND fold_key = :key ORDER BY id"), {"key": day_key}).scalars()
    urls: list[str] = []
    for payload in rows:
        url = json.loads(payload or "{}").get("url")
        if url and url not in urls:
            urls.append(url)
    return {"day": day_key.rsplit(":", 1)[1], "urls": urls}


# -- restraint ----------------------------------------------------------------------------


def opted_out(session: Session, subjects: list[str]) -> bool:
    subjects = [s for s in subjects if s]
    if not subjects:
        return False
    marks = ", ".join(f":s{i}" for i in range(len(subjects)))
    return session.execute(text(f"SELECT 1 FROM opt_outs WHERE subject IN ({marks}) LIMIT 1"),
                           {f"s{i}": s for i, s in enumerate(subjects)}).first() is not None


def opt_out(session: Session, subject: str, *, now: datetime) -> int:
    """Forever: records the subject ('person:<id>' or an identity) and suppresses whatever
    is still waiting for it. Returns how many waiting notifications were suppressed."""
    session.execute(timed("INSERT INTO opt_outs (subject, created_at) VALUES (:s, :now)"
                          " ON CONFLICT (subject) DO NOTHING", "now"), {"s": subject, "now": now})
    params: dict[str, object]
    if subject.startswith("person:") and subject[7:].isdigit():
        match, params = "person_id = :pid", {"pid": int(subject[7:])}
    else:
        match, params = "identity = :identity", {"identity": subject}
    return rows_affected(session.execute(text(
        "UPDATE notifications SET status = 'suppressed', last_error = 'opted out'"
        f" WHERE status IN ('pending', 'sending') AND {match}"), params))


def deliveries_since(session: Session, claimed: Claimed, since: datetime
                     ) -> tuple[int, datetime | None]:
    """Deliveries (one per sent_at: a batch combined into one message counts once) to this
    recipient since `since`, and the oldest of them. Announcements (posts from the
    person's own account) do not count."""
    n = Notification
    who = (n.person_id == claimed.person_id if claimed.person_id is not None
           else (n.identity == claimed.identity) & n.person_id.is_(None))
    stamps = session.execute(
        select(n.sent_at).where(n.status == "sent", n.sent_at > since,
                                n.kind.not_in(ANNOUNCE_KINDS), who)
        .group_by(n.sent_at).order_by(n.sent_at)).scalars().all()
    return len(stamps), (stamps[0] if stamps else None)


def enqueue_digests(session: Session, *, now: datetime) -> int:
    """A daily digest of new flattrs for every creator who asked for one, about yesterday
    (UTC): one row per creator per day (the dedupe key), only when something came in."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=1)
    rows = session.execute(timed("""
        SELECT t.owner_id, COUNT(*), COUNT(DISTINCT f.person_id)
        FROM flattrs f JOIN things t ON t.id = f.thing_id JOIN people p ON p.id = t.owner_id
        WHERE p.digest_enabled AND f.withdrawn_at IS NULL
          AND f.occurred_at >= :since AND f.occurred_at < :today
        GROUP BY t.owner_id""", "since", "today"), {"since": since, "today": today}).all()
    for owner_id, flattrs, people in rows:
        notifications.enqueue(
            session, "new_flattrs", f"new_flattrs:{owner_id}:{since:%Y-%m-%d}", now=now,
            person_id=owner_id,
            payload={"day": f"{since:%Y-%m-%d}", "flattrs": int(flattrs), "people": int(people)})
    return len(rows)


def enqueue_claim_invitations(session: Session, *, now: datetime, window_days: int) -> int:
    """At most one invitation per identity per claim window, only for identities with money
    waiting in escrow, that nobody claimed and that never opted out. The caller checks that
    the operator enabled invitations."""
    return rows_affected(session.execute(timed("""
        INSERT INTO notifications (dedupe_key, kind, person_id, identity, payload, status,
                                   attempts, next_attempt_at, created_at)
        SELECT 'claim_invitation:' || s.identity || ':' || CAST(:day AS TEXT),
               'claim_invitation', NULL, s.identity, '{}', 'pending', 0, :now, :now
        FROM thing_totals s
        WHERE s.state = 'escrow' AND s.identity IS NOT NULL AND s.creator_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.value = s.identity)
          AND NOT EXISTS (SELECT 1 FROM opt_outs o WHERE o.subject = s.identity)
          AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.kind = 'claim_invitation'
                          AND n.identity = s.identity AND n.created_at > :window_start)
        GROUP BY s.identity
        ON CONFLICT (dedupe_key) DO NOTHING""", "now", "window_start"),
        {"now": now, "day": f"{now:%Y-%m-%d}",
         "window_start": now - timedelta(days=window_days)}))


def depth(session: Session, *, now: datetime) -> dict[str, int]:
    rows = session.execute(text("SELECT status, COUNT(*) FROM notifications GROUP BY status"))
    counts = {status: int(n) for status, n in rows}
    counts["due"] = int(session.execute(timed(
        "SELECT COUNT(*) FROM notifications WHERE status IN ('pending', 'sending')"
        " AND next_attempt_at <= :now", "now"), {"now": now}).scalar_one())
    return counts


# -- the numbers templates need ---------------------------------------------------------


def statement_data(session: Session, creator_id: int, period: str) -> dict[str, Any]:
    """A creator's period: each thing paid (or released) to them, with the flattrs it got
    (a person flattrs a thing at most once a period)."""
    things = [
        {"url": url, "people": int(n), "gross_cents": int(g), "fee_cents": int(f)}
        for url, n, g, f in session.execute(text("""
            SELECT t.url, tt.flattrs - tt.own_flattrs,
                   tt.gross_cents - tt.refund_cents, tt.fee_cents
            FROM things t JOIN thing_totals tt ON tt.thing_id = t.id AND tt.period = :p
            WHERE t.owner_id = :c AND tt.creator_id = :c AND tt.state IN ('paid', 'released')
            ORDER BY tt.gross_cents - tt.refund_cents DESC, t.url"""),
            {"c": creator_id, "p": period})
    ]
    people = session.execute(text("""
        SELECT COUNT(DISTINCT f.person_id) FROM flattrs f
        JOIN thing_totals tt ON tt.thing_id = f.thing_id AND tt.period = f.period
        WHERE f.thing_id IN (SELECT id FROM things WHERE owner_id = :c)
          AND f.period = :p AND f.withdrawn_at IS NULL AND f.person_id <> :c
          AND tt.creator_id = :c AND tt.state IN ('paid', 'released')"""),
        {"c": creator_id, "p": period}).scalar_one()
    gross = sum(t["gross_cents"] for t in things)
    fee = sum(t["fee_cents"] for t in things)
    return {"period": period, "things": things, "people": int(people), "gross_cents": gross,
            "fee_cents": fee, "net_cents": gross - fee}


def month_data(session: Session, person_id: int, period: str) -> dict[str, Any]:
    shares = [
        {"url": s.url, "cents": s.cents, "state": s.state, "to": s.to}
        for s in sorted(person_shares(session, person_id, period),
                        key=lambda s: (-s.cents, s.url))
    ]
    return {"period": period, "shares": shares, "charged_cents": sum(s["cents"] for s in shares),
            "escrow_cents": sum(s["cents"] for s in shares if s["state"] == "escrow")}


def escrow_returned_data(session: Session, person_id: int, transaction_id: int) -> dict[str, Any]:
    """For notices queued before the amount rode in the payload (schema 0001): what the
    return transaction credited the wallet; the number of flattrs is no longer known."""
    cents = session.execute(text(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM entries"
        " WHERE transaction_id = :t AND account = :wallet"),
        {"t": transaction_id, "wallet": str(Account.wallet(person_id))}).scalar_one()
    return {"cents": int(cents), "shares": None}


def escrow_waiting(session: Session, identity: str) -> dict[str, Any]:
    cents, flattrs = session.execute(text(
        "SELECT COALESCE(SUM(gross_cents), 0), COALESCE(SUM(flattrs), 0) FROM thing_totals"
        " WHERE identity = :i AND state = 'escrow'"), {"i": identity}).one()
    return {"cents": int(cents), "flattrs": int(flattrs)}
