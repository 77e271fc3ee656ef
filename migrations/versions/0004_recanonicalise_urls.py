"""stored URLs and url: identities in today's canonical form (issue 10's rules)

Revision ID: 0004_recanonicalise_urls
Revises: 0003
Create Date: 2026-12-01

core.urls now keeps %2F apart from /, removes dot segments, stores internationalised hosts
as IDNA ASCII, collapses a YouTube video's spellings (youtu.be/ID, /shorts/ID, m.youtube.com)
into https://www.youtube.com/watch?v=ID, spells aliased hosts one way (instagr.am, m. sites)
and drops more per-share tracking parameters. New flattrs and claims arrive in the new
form; this brings the stored ones along, so that one creation stays one thing:

- things.url, and things.identity where the thing is held by its URL (url:<its url>);
- claims.value: URL prefixes, and url: identities;
- opt_outs.subject: a url: subject gets its new spelling added beside the old one (an
  opt-out is never weakened).

Nothing of a settled period changes and no money moves: thing_totals, shares, charges,
transactions and entries keep the identities they were settled with (escrow waiting under
an old spelling is counted in the log: a prefix claim still reaches it, and otherwise it
returns to its donors at expiry as before). Where two rows would become one (two things,
or two claims, with the same new spelling), neither is changed: they are kept apart and
named in a warning, for an operator to decide. A stored URL that the new rules refuse is
left as it is, with a warning. Downgrade changes nothing (the old spellings are gone).
"""

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from core.urls import InvalidURL, canonicalize

revision = "0004_recanonicalise_urls"
down_revision = "0003"
branch_labels = None
depends_on = None

log = logging.getLogger("flattr.migrations")
BATCH = 2000


def upgrade() -> None:
    connection = op.get_bind()
    things = _recanonicalise_things(connection)
    claims = _recanonicalise_claims(connection)
    opt_outs = _add_opt_out_spellings(connection)
    stale = _escrow_under_old_spellings(connection)
    log.info(
        "recanonicalised URLs: %d things (%d kept apart, %d refused), %d claims (%d kept "
        "apart), %d opt-out spellings added; %d escrow rows wait under an old spelling",
        things["changed"], things["collision"], things["refused"], claims["changed"],
        claims["collision"], opt_outs, stale)


def downgrade() -> None:
    pass


def _rows(connection: sa.Connection, sql: str) -> Iterator[sa.Row]:
    """A table read in id order, in batches (a large things table is never held at once)."""
    last = None
    while True:
        where = "" if last is None else " WHERE id > :last"
        batch = connection.execute(sa.text(f"{sql}{where} ORDER BY id LIMIT {BATCH}"),
                                   {} if last is None else {"last": last}).all()
        yield from batch
        if len(batch) < BATCH:
            return
        last = batch[-1].id


def _new_url(url: str) -> str | None:
    try:
        return canonicalize(url)
    except InvalidURL:
        return None


def _new_identity(value: str | None) -> str | None:
    """A url: identity in the new form (None: refused); any other identity as it is."""
    if value is None or not value.startswith("url:"):
        return value
    url = _new_url(value[4:])
    return None if url is None else "url:" + url


def _plan(rows: list[tuple[int, str, str]], what: str, counts: Counter[str]
          ) -> dict[int, str]:
    """(id, old, new) -> the ids to change and their new value: a new value that another
    row holds or will hold is a collision, and every row involved stays as it is."""
    holders: dict[str, list[int]] = {}
    for row_id, old, new in rows:
        holders.setdefault(old, []).append(row_id)
        if new != old:
            holders.setdefault(new, []).append(row_id)
    changes: dict[int, str] = {}
    for row_id, old, new in rows:
        if new == old:
            continue
        others = sorted(set(holders[new]) - {row_id})
        if others:
            counts["collision"] += 1
            log.warning("%s %d (%s) would become %s, like %s %s: kept apart", what, row_id,
                        old, new, what, ", ".join(map(str, others)))
            continue
        changes[row_id] = new
    return changes


def _recanonicalise_things(connection: sa.Connection) -> Counter[str]:
    counts: Counter[str] = Counter()
    rows: list[tuple[int, str, str]] = []
    identities: dict[int, str] = {}  # the new identity of each thing whose identity changes
    for row in _rows(connection, "SELECT id, url, identity FROM things"):
        new = _new_url(row.url)
        if row.identity == "url:" + row.url:  # held by its own URL
            identity = None if new is None else "url:" + new
        else:
            identity = _new_identity(row.identity)
        if new is None or (identity is None and row.identity is not None):
            counts["refused"] += 1
            log.warning("thing %d (%s, %s): the new rules refuse it, left as it is", row.id,
                        row.url, row.identity)
            new, identity = row.url, row.identity
        rows.append((row.id, row.url, new))
        if identity != row.identity and identity is not None:
            identities[row.id] = identity
    moved = _plan(rows, "thing", counts)
    unchanged_urls = {row_id for row_id, old, new in rows if old == new}
    for row_id in sorted(set(moved) | (set(identities) & unchanged_urls)):
        sets: list[str] = []
        values: dict[str, Any] = {"id": row_id}
        if row_id in moved:
            sets.append("url = :url")
            values["url"] = moved[row_id]
        if row_id in identities:
            sets.append("identity = :identity")
            values["identity"] = identities[row_id]
        connection.execute(sa.text(f"UPDATE things SET {', '.join(sets)} WHERE id = :id"),
                           values)
        counts["changed"] += 1
    return counts


def _recanonicalise_claims(connection: sa.Connection) -> Counter[str]:
    counts: Counter[str] = Counter()
    rows: list[tuple[int, str, str]] = []
    convert: dict[str, Callable[[str], str | None]] = {"prefix": _new_url,
                                                       "identity": _new_identity}
    for row in _rows(connection, "SELECT id, kind, value FROM claims"):
        new = convert[row.kind](row.value) if row.kind in convert else row.value
        if new is None:
            counts["refused"] += 1
            log.warning("claim %d (%s): the new rules refuse it, left as it is", row.id,
                        row.value)
            new = row.value
        rows.append((row.id, row.value, new))
    changes = _plan(rows, "claim", counts)
    for row_id, value in changes.items():
        connection.execute(sa.text("UPDATE claims SET value = :value WHERE id = :id"),
                           {"id": row_id, "value": value})
    counts["changed"] = len(changes)
    return counts


def _add_opt_out_spellings(connection: sa.Connection) -> int:
    subjects = [r.subject for r in connection.execute(sa.text(
        "SELECT subject FROM opt_outs WHERE subject LIKE 'url:%'"))]
    known = set(subjects)
    added = 0
    for subject in subjects:
        new = _new_identity(subject)
        if new is None or new in known:
            continue
        _copy_opt_out(connection, subject, new)
        known.add(new)
        added += 1
    return added


def _copy_opt_out(connection: sa.Connection, old: str, new: str) -> None:
    connection.execute(sa.text("INSERT INTO opt_outs (subject, created_at)"
                               " SELECT :new, created_at FROM opt_outs WHERE subject = :old"),
                       {"old": old, "new": new})


def _escrow_under_old_spellings(connection: sa.Connection) -> int:
    """Escrow rows (settled, never changed here) whose url: identity has a new spelling."""
    stale = 0
    for (held,) in connection.execute(sa.text(
            "SELECT DISTINCT identity FROM thing_totals"
            " WHERE state = 'escrow' AND identity LIKE 'url:%'")):
        new = _new_identity(held)
        if new is not None and new != held:
            stale += 1
            log.warning("escrow for %s was settled under that spelling (now %s): left as "
                        "it is", held, new)
    return stale
