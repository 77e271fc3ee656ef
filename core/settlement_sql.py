"""The set-based statements of settlement and escrow, portable to SQLite and PostgreSQL.

Integer columns divide as integers on both databases; the split here is core.split.share_of
and the fee core.split.fee_of, written in SQL (tests hold them to each other). Ledger keys
are built from the rows that own them (core.ledger.key_sql) and matched whole.
"""

from core.ledger import AccountKind, key_sql, like_sql

WALLET, EARNINGS, ESCROW = AccountKind.WALLET, AccountKind.EARNINGS, AccountKind.ESCROW

# A person's flattrs of a period are ranked for the leftover cents in one of these orders.
# A period records the order it was split in (settlements.split_order), and core.shares
# recomputes a settled period's shares in that order. url_hash: by core.split.rank_key of
# the thing's canonical URL (copied on each flattr, in ix_flattrs_open's order), so that
# the same flattrs give the same cents whatever order they were discovered in; thing_id:
# by thing id, for periods split before migration 0004.
SPLIT_ORDERS = {"thing_id": "f.thing_id", "url_hash": "f.rank_key, f.thing_id"}
SPLIT_ORDER = "url_hash"

# The budget in force in period :p for each person: the newest change at or before it.
BUDGET_IN_FORCE = """budget AS (
    SELECT person_id, cents FROM (
        SELECT person_id, cents,
               ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY effective_period DESC) AS pick
        FROM budgets WHERE effective_period <= :p
    ) newest WHERE pick = 1
)"""

# Every wallet's balance less what other periods' charges have fixed but not yet posted
# (a settlement resumed after another month closed), by wallet key; join it on
# w.account = key_sql(WALLET, <person id>). PostgreSQL sums bigints as numeric: cast back
# for integer math.
WALLETS = f"""wallet AS (
    SELECT account, CAST(SUM(cents) AS BIGINT) AS cents FROM (
        SELECT account, amount_cents AS cents FROM entries WHERE account LIKE {like_sql(WALLET)}
        UNION ALL
        SELECT {key_sql(WALLET, "c.person_id")}, -c.charged_cents FROM charges c
        JOIN settlements s ON s.period = c.period AND s.stage IN ('charges', 'shares')
    ) movements GROUP BY account
)"""

# What the period costs each person who flattred: min(budget in force, wallet), fixed
# once so that every later statement reads the same number.
CHARGES_SQL = f"""
WITH counted AS (
    SELECT person_id, COUNT(*) AS n FROM flattrs
    WHERE period = :p AND withdrawn_at IS NULL GROUP BY person_id
),
{BUDGET_IN_FORCE},
{WALLETS}
INSERT INTO charges (period, person_id, flattrs, budget_cents, charged_cents)
SELECT :p, k.person_id, k.n, b.cents,
       CASE WHEN COALESCE(w.cents, 0) <= 0 THEN 0
            WHEN w.cents < b.cents THEN w.cents ELSE b.cents END
FROM counted k JOIN budget b ON b.person_id = k.person_id
LEFT JOIN wallet w ON w.account = {key_sql(WALLET, "k.person_id")}
"""


def shares_sql(split_order: str) -> str:
    """One narrow row per open flattr with its share of the person's charge, ranked in
    `split_order` (SPLIT_ORDERS). Driven from the charges (one index range of
    ix_flattrs_open per person, which holds the url_hash order): partitioned by
    c.person_id, SQLite sees the rows arrive in window order and skips sorting a month of
    flattrs again (a third of the statement)."""
    return f"""
INSERT INTO shares (period, person_id, thing_id, flattr_id, share_cents)
SELECT :p, person_id, thing_id, id,
       base + CASE WHEN (rank + :rot) % n < leftover THEN 1 ELSE 0 END
FROM (
    SELECT f.id, f.person_id, f.thing_id, c.flattrs AS n,
           c.charged_cents / c.flattrs AS base, c.charged_cents % c.flattrs AS leftover,
           ROW_NUMBER() OVER (PARTITION BY c.person_id
                              ORDER BY {SPLIT_ORDERS[split_order]}) - 1 AS rank
    FROM charges c
    JOIN flattrs f ON f.period = c.period AND f.person_id = c.person_id
    WHERE c.period = :p AND c.flattrs > 0 AND f.withdrawn_at IS NULL
) ranked
"""


# One row per flattred thing: paid to its owner (fee taken) or held for its identity. The
# fee is core.split.fee_of of each share, summed; escrow keeps it for the release.
THING_TOTALS_SQL = """
INSERT INTO thing_totals (period, thing_id, creator_id, identity, flattrs, gross_cents,
                          fee_cents, fee_bps, refund_cents, own_flattrs, state, escrow_until)
SELECT :p, s.thing_id, t.owner_id, CASE WHEN t.owner_id IS NULL THEN t.identity END,
       s.n, s.gross, s.fee, :bps, 0, 0,
       CASE WHEN t.owner_id IS NULL THEN 'escrow' ELSE 'paid' END,
       CASE WHEN t.owner_id IS NULL THEN :deadline END
FROM (
    SELECT thing_id, COUNT(*) AS n, SUM(share_cents) AS gross,
           SUM(share_cents * :bps / 10000) AS fee
    FROM shares WHERE period = :p GROUP BY thing_id
) s JOIN things t ON t.id = s.thing_id
"""

# Things paid to an owner who flattred them: possible only when the ownership came with a
# claim made while the period was closing, too late to withdraw the flattr. Driven from
# the period's few creators, through their flattrs.
OWN_PAID_SQL = """
SELECT f.thing_id FROM (
    SELECT DISTINCT creator_id FROM thing_totals WHERE period = :p AND state = 'paid'
) o
JOIN flattrs f ON f.period = :p AND f.person_id = o.creator_id AND f.withdrawn_at IS NULL
JOIN things t ON t.id = f.thing_id AND t.owner_id = f.person_id
"""

# ... which go through escrow instead, still marked with their owner (unlike any other
# escrow): the release stage pays the owner the others' shares and gives their own back
# (core.escrow.post_release), whatever the date.
HOLD_OWN_PAID_SQL = """
UPDATE thing_totals SET state = 'escrow', escrow_until = :deadline,
       identity = (SELECT COALESCE(t.identity, 'url:' || t.url) FROM things t
                   WHERE t.id = thing_totals.thing_id)
WHERE period = :p AND thing_id = :thing AND state = 'paid'
"""

# The period's settle transaction: wallets pay their charge; the thing totals give
# earnings, escrow and the fee total. The people charged and the creators paid are also
# whom the notices stage writes to (NOTICES), one notice per posting.
_CHARGED = "FROM charges WHERE period = :p AND flattrs > 0 AND charged_cents <> 0"
_PAID = ("FROM thing_totals WHERE period = :p AND state = 'paid'"
         " GROUP BY creator_id HAVING SUM(gross_cents - fee_cents) <> 0")
LEDGER_SQL = f"""
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, {key_sql(WALLET, "person_id")}, -charged_cents {_CHARGED}
UNION ALL
SELECT :txn, {key_sql(EARNINGS, "creator_id")}, SUM(gross_cents - fee_cents) {_PAID}
UNION ALL
SELECT :txn, {key_sql(ESCROW, "identity")}, SUM(gross_cents)
  FROM thing_totals WHERE period = :p AND state = 'escrow'
  GROUP BY identity HAVING SUM(gross_cents) <> 0
UNION ALL
SELECT :txn, {key_sql(AccountKind.FEES)}, SUM(fee_cents) FROM thing_totals
 WHERE period = :p AND state = 'paid' HAVING SUM(fee_cents) <> 0
"""

# Periods whose settle transaction has credited their escrow: only their escrow may be
# released or returned.
POSTED_PERIODS = (
    "period IN (SELECT period FROM settlements"
    " WHERE stage IN ('ledger', 'release', 'idle', 'notices', 'done'))"
)

# Escrow of the period whose thing gained an owner while the period was closing.
RELEASE_LATE_CLAIMS_SQL = """
UPDATE thing_totals SET state = 'released',
       creator_id = (SELECT owner_id FROM things WHERE things.id = thing_totals.thing_id),
       resolution_txn_id = :txn
WHERE period = :p AND state = 'escrow' AND (escrow_until > :now OR creator_id IS NOT NULL)
  AND EXISTS (SELECT 1 FROM things WHERE things.id = thing_totals.thing_id
              AND things.owner_id IS NOT NULL)
"""

# The claimers' own flattrs among things just released: (period, claimer, thing), so that
# core.shares can give those shares back instead of paying them to their own donor.
RELEASED_OWN_FLATTRS_SQL = """
SELECT tt.period, tt.creator_id, tt.thing_id FROM thing_totals tt
JOIN flattrs f ON f.person_id = tt.creator_id AND f.thing_id = tt.thing_id
              AND f.period = tt.period AND f.withdrawn_at IS NULL
WHERE tt.resolution_txn_id = :txn
"""

# Postings for escrow just released (by a claim or a late claim).
RELEASE_LEDGER_SQL = f"""
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, {key_sql(ESCROW, "identity")}, -SUM(gross_cents) FROM thing_totals
 WHERE resolution_txn_id = :txn GROUP BY identity HAVING SUM(gross_cents) <> 0
UNION ALL
SELECT :txn, {key_sql(EARNINGS, "creator_id")},
       SUM(gross_cents - refund_cents - fee_cents) FROM thing_totals
 WHERE resolution_txn_id = :txn GROUP BY creator_id
HAVING SUM(gross_cents - refund_cents - fee_cents) <> 0
UNION ALL
SELECT :txn, {key_sql(WALLET, "creator_id")}, SUM(refund_cents) FROM thing_totals
 WHERE resolution_txn_id = :txn GROUP BY creator_id HAVING SUM(refund_cents) <> 0
UNION ALL
SELECT :txn, {key_sql(AccountKind.FEES)}, SUM(fee_cents) FROM thing_totals
 WHERE resolution_txn_id = :txn HAVING SUM(fee_cents) <> 0
"""

# Escrow whose claim window passed goes back to the donors' wallets.
RETURN_EXPIRED_SQL = f"""
UPDATE thing_totals SET state = 'returned', fee_cents = 0, resolution_txn_id = :txn
WHERE state = 'escrow' AND escrow_until <= :now AND creator_id IS NULL AND {POSTED_PERIODS}
"""

# Each donor's shares of the returned things: the one statement that scans shares, once
# per expiring period.
RETURNED_BY_DONOR = """
SELECT s.person_id, SUM(s.share_cents) AS cents, COUNT(*) AS n
FROM shares s JOIN thing_totals tt ON tt.period = s.period AND tt.thing_id = s.thing_id
WHERE tt.resolution_txn_id = :txn AND s.period IN (
    SELECT DISTINCT period FROM thing_totals WHERE resolution_txn_id = :txn)
GROUP BY s.person_id
"""

RETURN_LEDGER_SQL = f"""
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, {key_sql(ESCROW, "identity")}, -SUM(gross_cents) FROM thing_totals
 WHERE resolution_txn_id = :txn GROUP BY identity HAVING SUM(gross_cents) <> 0
UNION ALL
SELECT :txn, {key_sql(WALLET, "person_id")}, cents FROM ({RETURNED_BY_DONOR}) donors
 WHERE cents <> 0
"""

RETURN_NOTICES_SQL = f"""
INSERT INTO notifications (dedupe_key, kind, person_id, identity, payload, status, attempts,
                           next_attempt_at, created_at)
SELECT 'escrow_returned:' || CAST(:txn AS TEXT) || ':' || CAST(person_id AS TEXT),
       'escrow_returned', person_id, NULL,
       '{{"transaction_id": ' || CAST(:txn AS TEXT) || ', "cents": ' || CAST(cents AS TEXT)
         || ', "shares": ' || CAST(n AS TEXT) || '}}',
       'pending', 0, :now, :now
FROM ({RETURNED_BY_DONOR}) donors WHERE cents <> 0
ON CONFLICT (dedupe_key) DO NOTHING
"""

# idle_budget_policy = charity: people with a budget in force who flattred nothing give
# min(budget, wallet); recorded as charges with no flattrs, then posted.
IDLE_CHARGES_SQL = f"""
WITH {BUDGET_IN_FORCE},
{WALLETS}
INSERT INTO charges (period, person_id, flattrs, budget_cents, charged_cents)
SELECT :p, b.person_id, 0, b.cents, CASE WHEN w.cents < b.cents THEN w.cents ELSE b.cents END
FROM budget b JOIN wallet w ON w.account = {key_sql(WALLET, "b.person_id")}
WHERE w.cents > 0
  AND NOT EXISTS (SELECT 1 FROM charges c WHERE c.period = :p AND c.person_id = b.person_id)
"""

CHARITY_SQL = f"""
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, {key_sql(WALLET, "person_id")}, -charged_cents
FROM charges WHERE period = :p AND flattrs = 0
"""

CHARITY_TOTAL_SQL = f"""
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, {key_sql(AccountKind.CHARITY)}, -SUM(amount_cents) FROM entries
WHERE transaction_id = :txn HAVING SUM(amount_cents) <> 0
"""

# Statements for creators paid this period, month-closed notes for people charged: the
# people the settle transaction posted to (LEDGER_SQL), read from the same few rows a
# person it posted from (charges, thing totals), not from its shares. (The WHERE is
# SQLite's: an INSERT ... SELECT needs one before ON CONFLICT.)
NOTICES = {"statement": f"SELECT creator_id AS person_id {_PAID}",
           "month_closed": f"SELECT person_id {_CHARGED}"}
NOTICES_SQL = """
INSERT INTO notifications (dedupe_key, kind, person_id, identity, payload, status, attempts,
                           next_attempt_at, created_at)
SELECT '{kind}:' || CAST(:p AS VARCHAR(7)) || ':' || CAST(person_id AS VARCHAR(20)), '{kind}',
       person_id, NULL, :payload, 'pending', 0, :now, :now
FROM ({people}) posted
WHERE person_id IS NOT NULL
ON CONFLICT (dedupe_key) DO NOTHING
"""
