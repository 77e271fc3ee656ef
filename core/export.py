"""Download my data: everything kept about a person, as one JSON-ready dict. Secrets are
left out (password hash, tokens, e-mail links); amounts are integer cents with the
currency once at the top; times are ISO 8601 UTC."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import ledger
from core.models import (
    Budget,
    Charge,
    Claim,
    Flattr,
    Notification,
    Person,
    SocialAccount,
    Thing,
)

FORMAT = "flattr-export/1"


def export_person(session: Session, person: Person, *, currency: str,
                  now: datetime) -> dict[str, Any]:
    pid = person.id
    return {
        "format": FORMAT,
        "exported_at": _time(now),
        "currency": currency,
        "profile": {
            "name": person.name, "email": person.email, "created_at": _time(person.created_at),
            "announce_flattrs": person.announce_flattrs,
            "notify_channels": [c for c in person.notify_channels.split(",") if c],
            "digest_enabled": person.digest_enabled,
        },
        "wallet_cents": ledger.balance(session, ledger.wallet(pid)),
        "earnings_unpaid_cents": ledger.balance(session, ledger.earnings(pid)),
        "budgets": [
            {"from_period": period, "cents": cents} for period, cents in session.execute(
                select(Budget.effective_period, Budget.cents)
                .where(Budget.person_id == pid).order_by(Budget.effective_period))],
        "linked_accounts": [
            {"network": a.network, "user_id": a.external_user_id, "handle": a.handle,
             "identity": a.identity, "status": a.status,
             "triggers": None if a.triggers is None else [t for t in a.triggers.split(",") if t],
             "linked_at": _time(a.linked_at or a.created_at)}
            for a in session.execute(select(SocialAccount).where(SocialAccount.person_id == pid)
                                     .order_by(SocialAccount.id)).scalars()],
        "claims": [
            {"kind": kind, "value": value, "created_at": _time(at)}
            for kind, value, at in session.execute(
                select(Claim.kind, Claim.value, Claim.created_at)
                .where(Claim.person_id == pid).order_by(Claim.id))],
        "flattrs": [
            {"period": period, "url": url, "title": title, "source": source,
             "occurred_at": _time(at), "withdrawn_at": _time(gone)}
            for period, url, title, source, at, gone in session.execute(
                select(Flattr.period, Thing.url, Thing.title, Flattr.source, Flattr.occurred_at,
                       Flattr.withdrawn_at).join(Thing, Thing.id == Flattr.thing_id)
                .where(Flattr.person_id == pid).order_by(Flattr.occurred_at, Flattr.id))],
        "statements": [
            {"period": period, "flattrs": n, "budget_cents": budget, "charged_cents": charged}
            for period, n, budget, charged in session.execute(
                select(Charge.period, Charge.flattrs, Charge.budget_cents, Charge.charged_cents)
                .where(Charge.person_id == pid).order_by(Charge.period))],
        "notifications": [
            {"kind": n.kind, "status": n.status, "created_at": _time(n.created_at),
             "sent_at": _time(n.sent_at), "content": _json(n.payload)}
            for n in session.execute(select(Notification).where(Notification.person_id == pid)
                                     .order_by(Notification.id)).scalars()],
    }


def _time(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _json(text: str) -> Any:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return None
