"""What a period did, and what is owed: read-only queries over the ledger and totals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core import names
from core.errors import UnknownPeriod
from core.ledger import AccountKind, key_sql, like_sql
from core.periods import parse_period
from core.rules import Rules
from core.settlement_sql import BUDGET_IN_FORCE

_PEOPLE = f"""
WITH {BUDGET_IN_FORCE},
charged AS (
    SELECT person_id, charged_cents AS cents FROM charges WHERE period = :p
),
clicks AS (
    SELECT person_id, COUNT(*) AS n FROM flattrs
    WHERE period = :p AND withdrawn_at IS NULL GROUP BY person_id
)
SELECT p.name, b.cents, COALESCE(c.cents, 0), COALESCE(k.n, 0)
FROM people p JOIN budget b ON b.person_id = p.id
LEFT JOIN charged c ON c.person_id = p.id
LEFT JOIN clicks k ON k.person_id = p.id
ORDER BY p.name
"""

# A released thing's refund (the claimer's own flattr, given back) is no creator income.
_CREATORS = """
SELECT p.name, SUM(tt.gross_cents - tt.refund_cents), SUM(tt.fee_cents),
       SUM(tt.flattrs - tt.own_flattrs)
FROM thing_totals tt JOIN people p ON p.id = tt.creator_id
WHERE tt.period = :p AND tt.state IN ('paid', 'released')
GROUP BY p.name HAVING SUM(tt.flattrs - tt.own_flattrs) > 0
ORDER BY p.name
"""

_ESCROW = """
SELECT identity, SUM(gross_cents) FROM thing_totals
WHERE period = :p AND state = 'escrow' GROUP BY identity ORDER BY identity
"""

_CHARITY = f"""
SELECT COALESCE(SUM(e.amount_cents), 0) FROM entries e
JOIN transactions t ON t.id = e.transaction_id
WHERE t.period = :p AND t.kind = 'charity' AND e.account = {key_sql(AccountKind.CHARITY)}
"""

# Each creator's earnings account, matched whole with the key built from their id (people
# first: see core.settlement_sql.notices_sql).
_PAYOUTS = f"""
SELECT p.name, SUM(e.amount_cents) AS owed
FROM people p CROSS JOIN entries e
WHERE e.account = {key_sql(AccountKind.EARNINGS, "p.id")}
  AND e.account LIKE {like_sql(AccountKind.EARNINGS)}
GROUP BY p.name HAVING SUM(e.amount_cents) > 0
ORDER BY owed DESC, p.name
"""

_KNOWN = """
SELECT (SELECT stage FROM settlements WHERE period = :p),
       (SELECT COUNT(*) FROM flattrs WHERE period = :p)
"""


def report(session: Session, rules: Rules, period: str) -> dict[str, Any]:
    """The period as the `flattr report --json` object. Fees count shares paid to creators
    (escrow pays its fee when it is released)."""
    parse_period(period)
    stage, flattrs = session.execute(text(_KNOWN), {"p": period}).one()
    if stage is None and not flattrs:
        raise UnknownPeriod("unknown period %(period)s: nothing was flattred or settled in it",
                            period=period)
    args = {"p": period}
    people = [
        {"name": n, "budget_cents": int(b), "charged_cents": int(c), "flattrs": int(k)}
        for n, b, c, k in session.execute(text(_PEOPLE), args)
    ]
    creators = [
        {"name": n, "gross_cents": int(g), "fee_cents": int(f), "net_cents": int(g) - int(f),
         "flattrs": int(k)}
        for n, g, f, k in session.execute(text(_CREATORS), args)
    ]
    escrow = [{"identity": i, "cents": int(c)} for i, c in session.execute(text(_ESCROW), args)]
    known = names.lookup(session, (e["identity"] for e in escrow))
    for entry in escrow:  # how the networks showed each identity (core.names), if they did
        name = known.get(entry["identity"])
        entry.update(display_name=name.display_name if name else None,
                     handle=name.handle if name else None)
    return {
        "period": period,
        "currency": rules.currency,
        "settled": stage == "done",
        "people": people,
        "creators": creators,
        "escrow": escrow,
        "charity_cents": int(session.execute(text(_CHARITY), args).scalar_one()),
        "fees_cents": sum(c["fee_cents"] for c in creators),
    }


def payouts(session: Session) -> list[dict[str, Any]]:
    """Creators' earnings not yet paid out, largest first."""
    rows = session.execute(text(_PAYOUTS))
    return [{"name": name, "owed_cents": int(owed)} for name, owed in rows]
