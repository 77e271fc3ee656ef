"""The set-based statements of settlement and escrow, portable to SQLite and PostgreSQL.

Integer columns divide as integers on both databases; the split here is core.split.share_of
and the fee core.split.fee_of, written in SQL (tests hold them to each other).
"""

# One row per active flattr of the period with its share of the person's charge.
# charge = min(budget in force, wallet balance); rank orders a person's flattrs by id.
SHARES_SQL = """
WITH ranked AS (
    SELECT f.id, f.person_id, f.thing_id, t.owner_id, t.identity,
           ROW_NUMBER() OVER (PARTITION BY f.person_id ORDER BY f.id) - 1 AS rank,
           COUNT(*) OVER (PARTITION BY f.person_id) AS n
    FROM flattrs f JOIN things t ON t.id = f.thing_id
    WHERE f.period = :p AND f.withdrawn_at IS NULL
      AND (t.owner_id IS NULL OR t.owner_id <> f.person_id)
),
budget AS (
    SELECT person_id, cents FROM (
        SELECT person_id, cents,
               ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY effective_period DESC) AS pick
        FROM budgets WHERE effective_period <= :p
    ) newest WHERE pick = 1
),
wallet AS (
    SELECT CAST(SUBSTR(account, 8) AS INTEGER) AS person_id,
           CAST(SUM(amount_cents) AS BIGINT) AS cents  -- PostgreSQL sums bigints as numeric
    FROM entries WHERE account LIKE 'wallet:%' GROUP BY account
),
charge AS (
    SELECT b.person_id,
           CASE WHEN COALESCE(w.cents, 0) <= 0 THEN 0
                WHEN w.cents < b.cents THEN w.cents ELSE b.cents END AS amount
    FROM budget b LEFT JOIN wallet w ON w.person_id = b.person_id
),
split AS (
    SELECT r.id, r.person_id, r.thing_id, r.owner_id, r.identity,
           c.amount / r.n
             + CASE WHEN (r.rank + :rot) % r.n < c.amount % r.n THEN 1 ELSE 0 END AS share
    FROM ranked r JOIN charge c ON c.person_id = r.person_id
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

# The period's settle transaction: wallets pay, creators earn, escrow holds, fees collect.
LEDGER_SQL = """
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, 'wallet:' || CAST(person_id AS TEXT), -SUM(share_cents)
  FROM shares WHERE period = :p GROUP BY person_id HAVING SUM(share_cents) <> 0
UNION ALL
SELECT :txn, 'earnings:' || CAST(creator_id AS TEXT), SUM(share_cents - fee_cents)
  FROM shares WHERE period = :p AND state = 'paid'
  GROUP BY creator_id HAVING SUM(share_cents - fee_cents) <> 0
UNION ALL
SELECT :txn, 'escrow:' || identity, SUM(share_cents)
  FROM shares WHERE period = :p AND state = 'escrow'
  GROUP BY identity HAVING SUM(share_cents) <> 0
UNION ALL
SELECT :txn, 'fees', SUM(fee_cents) FROM shares WHERE period = :p HAVING SUM(fee_cents) <> 0
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

# Escrow whose claim window passed goes back to the donors' wallets.
RETURN_EXPIRED_SQL = """
UPDATE shares SET state = 'returned', resolution_txn_id = :txn
WHERE state = 'escrow' AND escrow_until <= :now
"""

RETURN_LEDGER_SQL = """
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, 'escrow:' || identity, -SUM(share_cents) FROM shares
 WHERE resolution_txn_id = :txn GROUP BY identity HAVING SUM(share_cents) <> 0
UNION ALL
SELECT :txn, 'wallet:' || CAST(person_id AS TEXT), SUM(share_cents) FROM shares
 WHERE resolution_txn_id = :txn GROUP BY person_id HAVING SUM(share_cents) <> 0
"""

# idle_budget_policy = charity: people with a budget in force and no flattr this period
# give min(budget, wallet) to the charity account.
CHARITY_SQL = """
WITH budget AS (
    SELECT person_id, cents FROM (
        SELECT person_id, cents,
               ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY effective_period DESC) AS pick
        FROM budgets WHERE effective_period <= :p
    ) newest WHERE pick = 1
),
wallet AS (
    SELECT CAST(SUBSTR(account, 8) AS INTEGER) AS person_id,
           CAST(SUM(amount_cents) AS BIGINT) AS cents  -- PostgreSQL sums bigints as numeric
    FROM entries WHERE account LIKE 'wallet:%' GROUP BY account
)
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, 'wallet:' || CAST(b.person_id AS TEXT),
       -(CASE WHEN w.cents < b.cents THEN w.cents ELSE b.cents END)
FROM budget b JOIN wallet w ON w.person_id = b.person_id
WHERE w.cents > 0
  AND NOT EXISTS (SELECT 1 FROM shares s WHERE s.period = :p AND s.person_id = b.person_id)
"""

CHARITY_TOTAL_SQL = """
INSERT INTO entries (transaction_id, account, amount_cents)
SELECT :txn, 'charity', -SUM(amount_cents) FROM entries
WHERE transaction_id = :txn HAVING SUM(amount_cents) <> 0
"""

# Statements for creators paid this period, month-closed notes for people charged.
NOTICES_SQL = """
INSERT INTO notifications (dedupe_key, kind, person_id, identity, payload, status, attempts,
                           next_attempt_at, created_at)
SELECT 'statement:' || CAST(:p AS VARCHAR(7)) || ':' || CAST(creator_id AS TEXT), 'statement', creator_id, NULL,
       :payload, 'pending', 0, :now, :now
  FROM shares WHERE period = :p AND creator_id IS NOT NULL GROUP BY creator_id
UNION ALL
SELECT 'month_closed:' || CAST(:p AS VARCHAR(7)) || ':' || CAST(person_id AS TEXT), 'month_closed', person_id,
       NULL, :payload, 'pending', 0, :now, :now
  FROM shares WHERE period = :p GROUP BY person_id
ON CONFLICT (dedupe_key) DO NOTHING
"""
