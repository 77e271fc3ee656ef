"""The statements of core.ingest: each reads or writes a whole batch (in chunks of CHUNK
rows, under either database's parameter limit)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from core import ledger
from core.models import ActivityRecord, Flattr, Thing, timed
from core.split import rank_key

CHUNK = 500
Pair = tuple[int, str]  # (thing id, period)


@dataclass(frozen=True)
class KnownThing:
    id: int
    url: str
    owner_id: int | None
    identity: str | None


@dataclass(frozen=True)
class PersonFacts:
    wallet: int
    announce: bool
    budgets: dict[str, int]  # effective period -> cents
    identities: set[str]  # of the social accounts the person linked


_PERSON_FACTS = text(
    "SELECT 'budget', effective_period, cents FROM budgets WHERE person_id = :p"
    " UNION ALL SELECT 'account', identity, 0 FROM social_accounts WHERE person_id = :p"
    " UNION ALL SELECT 'wallet', '', COALESCE(SUM(amount_cents), 0) FROM entries"
    " WHERE account = :wallet"
    " UNION ALL SELECT 'announce', '', CASE WHEN announce_flattrs THEN 1 ELSE 0 END"
    " FROM people WHERE id = :p")


def person_facts(session: Session, person_id: int) -> PersonFacts:
    """What the rules need to know of a person, in one round trip."""
    rows = session.execute(_PERSON_FACTS,
                           {"p": person_id, "wallet": str(ledger.wallet(person_id))}).all()
    facts = {fact: int(amount) for fact, _, amount in rows if fact in ("wallet", "announce")}
    if "announce" not in facts:
        raise LookupError(f"no person {person_id}")
    return PersonFacts(facts["wallet"], bool(facts["announce"]),
                       {name: int(cents) for fact, name, cents in rows if fact == "budget"},
                       {name for fact, name, _ in rows if fact == "account"})


def seen_keys(session: Session, keys: list[str]) -> set[str]:
    seen: set[str] = set()
    for chunk in chunks(sorted(set(keys))):
        seen.update(session.execute(select(ActivityRecord.key)
                                    .where(ActivityRecord.key.in_(chunk))).scalars())
    return seen


def things_by_url(session: Session, urls: set[str]) -> dict[str, KnownThing]:
    found: dict[str, KnownThing] = {}
    for chunk in chunks(sorted(urls)):
        for row in session.execute(select(Thing.id, Thing.url, Thing.owner_id, Thing.identity)
                                   .where(Thing.url.in_(chunk))):
            found[row.url] = KnownThing(row.id, row.url, row.owner_id, row.identity)
    return found


def create_things(session: Session, rows: list[dict[str, Any]]) -> dict[str, KnownThing]:
    """INSERT ... ON CONFLICT (url) DO NOTHING; a row another worker wrote first is read.
    Rows go in key order, as in every batch insert here: two workers writing the same new
    keys then wait for each other instead of deadlocking."""
    table = Thing.__table__
    made = {row.url: KnownThing(row.id, row.url, row.owner_id, row.identity)
            for row in session.execute(
                insert(session, Thing).on_conflict_do_nothing(index_elements=["url"])
                .returning(table.c.id, table.c.url, table.c.owner_id, table.c.identity),
                sorted(({**row, "rank_key": rank_key(row["url"])} for row in rows),
                       key=lambda row: row["url"]))}
    return made | things_by_url(session, {r["url"] for r in rows} - set(made))


def existing_flattrs(session: Session, person_id: int, pairs: set[Pair]) -> dict[Pair, int]:
    """The person's flattrs (withdrawn ones too) among `pairs`, by (thing, period)."""
    if not pairs:
        return {}
    found: dict[Pair, int] = {}
    periods = sorted({p for _, p in pairs})
    for chunk in chunks(sorted({t for t, _ in pairs})):
        for flattr_id, thing_id, period in session.execute(select(
                Flattr.id, Flattr.thing_id, Flattr.period).where(
                Flattr.person_id == person_id, Flattr.thing_id.in_(chunk),
                Flattr.period.in_(periods))):
            if (thing_id, period) in pairs:
                found[(thing_id, period)] = flattr_id
    return found


def insert_flattrs(session: Session, person_id: int,
                    rows: Sequence[tuple[int, str, str, datetime]]) -> dict[Pair, int]:
    """One INSERT ... SELECT per chunk, skipping rows of a period being settled and rows
    another worker wrote first; returns the new ids by (thing, period)."""
    ids: dict[Pair, int] = {}
    for chunk in chunks(sorted(rows, key=lambda row: (row[0], row[1]))):  # key order
        params: dict[str, Any] = {"u": person_id}
        for n, (thing_id, period, source, at) in enumerate(chunk):
            params.update({f"t{n}": thing_id, f"p{n}": period, f"s{n}": source, f"a{n}": at})
        statement = insert_flattrs_sql(len(chunk))
        for flattr_id, thing_id, period in session.execute(statement, params):
            ids[(thing_id, period)] = flattr_id
    return ids


@functools.lru_cache(maxsize=64)
def insert_flattrs_sql(rows: int) -> TextClause:
    selects = " UNION ALL ".join(
        f"SELECT CAST(:u AS BIGINT) AS person_id, CAST(:t{n} AS BIGINT) AS thing_id,"
        f" CAST(:p{n} AS VARCHAR(7)) AS period, CAST(:s{n} AS VARCHAR(16)) AS source,"
        f" :a{n} AS occurred_at" for n in range(rows))
    return timed(
        "INSERT INTO flattrs (person_id, thing_id, period, source, occurred_at, rank_key)"
        " SELECT v.person_id, v.thing_id, v.period, v.source, v.occurred_at,"
        " (SELECT t.rank_key FROM things t WHERE t.id = v.thing_id)"
        f" FROM ({selects}) AS v"
        " WHERE NOT EXISTS (SELECT 1 FROM settlements s WHERE s.period = v.period)"
        " ON CONFLICT (person_id, thing_id, period) DO NOTHING"
        " RETURNING id, thing_id, period",
        *(f"a{n}" for n in range(rows)))


def insert(session: Session, model: Any) -> Any:
    """A Core INSERT (executemany: one compiled statement, rows sent in pages) with the
    dialect's ON CONFLICT support."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model.__table__)


def chunks(rows: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]
