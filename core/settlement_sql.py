"""The set-based statements of settlement and escrow, portable to SQLite and PostgreSQL.

Integer columns divide as integers on both databases; the split here is core.split.share_of
and the fee core.split.fee_of, written in SQL (tests hold them to each other).
"""

# The budget in force in period :p for each person: the newest change at or before it.
BUDGET_IN_FORCE = """budget AS (
    SELECT person_id, cents FROM (
        SELECT person_id, cents,
               ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY effective_period DESC) AS pick
        FROM budgets WHERE effective_period <= :p
    ) newest WHERE pick = 1
)"""

# Every wallet's balance less what other periods' charges have fixed but not yet posted
# (a settlement resumed after another month closed). PostgreSQL sums bigints as numeric:
# cast back for integer math.
WALLETS = """wallet AS (
    SELECT person_id, CAST(SUM(cents) AS BIGINT) AS cents FROM (
        SELECT CAST(SUBSTR(account, 8) AS INTEGER) AS person_id, amount_cents AS cents
        FROM entries WHERE account LIKE 'wallet:%'
        UNION ALL
        SELECT c.person_id, -c.charged_cents FROM charges c
        JOIN settlements s ON s.period = c.period AND s.stage IN ('charges', 'shares')
    ) movements GROUP BY person_id
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
LEFT JOIN wallet w ON w.person_id = k.person_id
"""

# One row per open flattr with its share of the person's charge: rank orders a person's
# flattrs by thing id (the order of the covering index ix_flattrs_open).
SHARES_SQL = """
WITH ranked AS (
    SELECT f.id, f.person_id, f.thing_id,
           ROW_NUMBER() OVER (PARTITION BY f.person_id ORDER BY f.thing_id) - 1 AS rank
    FROM flattrs f WHERE f.period = :p AND f.withdrawn_at IS NULL
),
split AS (
    SELECT r.id, r.person_id, r.thing_id, t.owner_id, t.identity,
           c.charged_cents / c.flattrs
             + CASE WHEN (r.rank + :rot) % c.flattrs < c.charged_cents % c.flattrs
                    THEN 1 ELSE 0 END AS share
    FROM ranked r
    JOIN charges c ON c.period = :p AND c.person_id = r.person_id
    JOIN things t ON t.id = r.thing_id
)
INSERT INTO shares (flattr_id, period, person_id, thing_id, creator_id, identity,
                    share_cents, fee_cents, state, escrow_until)
SELECT id, :p, person_id, thing_id, owner_id,
       CASE WHEN owner_id IS NULL THEN identity END,
       share,
       CASE WHEN owner_id IS NULL THEN 0 ELSE share * :bps / 10000 END,
       CASE WHEN owner_id IS NULL THEN 'escrow' ELSE 'paid' END,
       CASE WHEN owner_id IS NULL THEN :deadline END
FROM split
"""

# The period's settle transaction: wallets pay their charge; one pass over the shares by
# (creator, identity, state) gives earnings, escrow and the fee total.
LEDGER_SQL = """
WITH by_owner AS (
    SELECT creator_id, identity, state, SUM(share_cents) AS gross, SUM(fee_cents) AS fee
    FROM shares WHERE period = :p GROUP BY creator_id, identity, state
)
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, 'wallet:' || CAST(person_id AS TEXT), -charged_cents
  FROM charges WHERE period = :p AND flattrs > 0 AND charged_cents <> 0
UNION ALL
SELECT :txn, 'earnings:' || CAST(creator_id AS TEXT), SUM(gross - fee)
  FROM by_owner WHERE state = 'paid' GROUP BY creator_id HAVING SUM(gross - fee) <> 0
UNION ALL
SELECT :txn, 'escrow:' || identity, SUM(gross)
  FROM by_owner WHERE state = 'escrow' GROUP BY identity HAVING SUM(gross) <> 0
UNION ALL
SELECT :txn, 'fees', SUM(fee) FROM by_owner HAVING SUM(fee) <> 0
"""

# Escrow of the period whose thing gained an owner while the period was closing.
RELEASE_LATE_CLAIMS_SQL = """
UPDATE shares SET state = 'released',
       creator_id = (SELECT owner_id FROM things WHERE things.id = shares.thing_id),
       fee_cents = share_cents * :bps / 10000,
       resolution_txn_id = :txn
WHERE period = :p AND state = 'escrow' AND escrow_until > :now
  AND EXISTS (SELECT 1 FROM things WHERE things.id = shares.thing_id
              AND things.owner_id IS NOT NULL AND things.owner_id <> shares.person_id)
"""

# Postings for shares just released from escrow (by a claim or a late claim).
RELEASE_LEDGER_SQL = """
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, 'escrow:' || identity, -SUM(share_cents) FROM shares
 WHERE resolution_txn_id = :txn GROUP BY identity HAVING SUM(share_cents) <> 0
UNION ALL
SELECT :txn, 'earnings:' || CAST(creator_id AS TEXT), SUM(share_cents - fee_cents) FROM shares
 WHERE resolution_txn_id = :txn GROUP BY creator_id HAVING SUM(share_cents - fee_cents) <> 0
UNION ALL
SELECT :txn, 'fees', SUM(fee_cents) FROM shares
 WHERE resolution_txn_id = :txn HAVING SUM(fee_cents) <> 0
"""

# Periods whose settle transaction has credited their escrow: only their escrowed shares
# may be released or returned.
POSTED_PERIODS = (
    "period IN (SELECT period FROM settlements"
    " WHERE stage IN ('ledger', 'release', 'idle', 'notices', 'done'))"
)

# Escrow whose claim window passed goes back to the donors' wallets.
RETURN_EXPIRED_SQL = f"""
UPDATE shares SET state = 'returned', resolution_txn_id = :txn
WHERE state = 'escrow' AND escrow_until <= :now AND {POSTED_PERIODS}
"""

RETURN_LEDGER_SQL = """
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, 'escrow:' || identity, -SUM(share_cents) FROM shares
 WHERE resolution_txn_id = :txn GROUP BY identity HAVING SUM(share_cents) <> 0
UNION ALL
SELECT :txn, 'wallet:' || CAST(person_id AS TEXT), SUM(share_cents) FROM shares
 WHERE resolution_txn_id = :txn GROUP BY person_id HAVING SUM(share_cents) <> 0
"""

# idle_budget_policy = charity: people with a budget in force who flattred nothing give
# min(budget, wallet); recorded as charges with no flattrs, then posted.
IDLE_CHARGES_SQL = f"""
WITH {BUDGET_IN_FORCE},
{WALLETS}
INSERT INTO charges (period, person_id, flattrs, budget_cents, charged_cents)
SELECT :p, b.person_id, 0, b.cents, CASE WHEN w.cents < b.cents THEN w.cents ELSE b.cents END
FROM budget b JOIN wallet w ON w.person_id = b.person_id
WHERE w.cents > 0
  AND NOT EXISTS (SELECT 1 FROM charges c WHERE c.period = :p AND c.person_id = b.person_id)
"""

CHARITY_SQL = """
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, 'wallet:' || CAST(person_id AS TEXT), -charged_cents
FROM charges WHERE period = :p AND flattrs = 0
"""

CHARITY_TOTAL_SQL = """
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, 'charity', -SUM(amount_cents) FROM entries
WHERE transaction_id = :txn HAVING SUM(amount_cents) <> 0
"""

# Statements for creators paid this period, month-closed notes for people charged; read
# from the period's ledger postings (a few rows a person), not from its shares.
NOTICES_SQL = """
INSERT INTO notifications (dedupe_key, kind, person_id, identity, payload, status, attempts,
                           next_attempt_at, created_at)
SELECT CASE WHEN e.account LIKE 'earnings:%' THEN 'statement:' ELSE 'month_closed:' END
         || CAST(:p AS VARCHAR(7)) || ':' || SUBSTR(e.account, :id_at),
       CASE WHEN e.account LIKE 'earnings:%' THEN 'statement' ELSE 'month_closed' END,
       CAST(SUBSTR(e.account, :id_at) AS INTEGER), NULL,
       :payload, 'pending', 0, :now, :now
FROM entries e JOIN transactions t ON t.id = e.transaction_id
WHERE t.ref = 'settle:' || CAST(:p AS VARCHAR(7))
  AND e.account LIKE :prefix
ON CONFLICT (dedupe_key) DO NOTHING
"""
