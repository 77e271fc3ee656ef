"""The notify job: drain the outbox through the channels, with restraint.

For each claimed batch, per recipient: opt-outs first (forever), then "never a message to a
creator who did not join" (unless the operator enabled claim invitations), then the
per-recipient daily cap (over it: deferred, not dropped); the recipient's messages in one
batch go out as one combined message on the first channel of their choice that reaches
them. "Announce my flattrs" posts at most once per person per day: each flattr's
announcement is folded into the day's post (see core/outbox.py), which goes out, alone,
from the person's own account once the day is over. No network call happens inside a
database transaction.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bots import registry
from bots.base import DeliveryResult
from bots.registry import NetworkSpec
from core import accounts, identity, outbox
from core.accounts import open_token
from core.models import Claim, Person, SocialAccount
from core.outbox import Claimed
from jobs.channels import (
    Channel,
    Reach,
    Recipient,
    announce_channels,
    invitation_channels,
)
from jobs.templates import Rendered, combine, render
from runtime import i18n, logs
from runtime.app import App

LEASE = timedelta(minutes=5)  # of real time: a fast clock scales it (Worker's lease_scale)


@dataclass
class NotifyStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    suppressed: int = 0
    deferred: int = 0
    folded: int = 0  # announcements taken into their day's post
    given_back: int = 0  # claimed, then handed back untouched because the worker stops
    by_channel: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: NotifyStats) -> None:
        for name in ("claimed", "sent", "retried", "failed", "suppressed", "deferred",
                     "folded", "given_back"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for channel, n in other.by_channel.items():
            self.by_channel[channel] += n


@dataclass(frozen=True)
class _Plan:
    """What to do with one recipient's claimed notifications."""

    items: tuple[Claimed, ...]
    action: str  # send | suppress | defer | fold
    reason: str = ""
    recipient: Recipient | None = None
    channel: Channel | None = None
    message: Rendered | None = None
    until: datetime | None = None


class Notifier:
    def __init__(self, app: App, channels: Sequence[Channel], *, batch: int = 100,
                 lease: timedelta = LEASE) -> None:
        self.app = app
        self.channels = {c.name: c for c in channels}
        self.batch = batch
        # In the app's clock: a claim lapsing while its batch is still being sent would let
        # another worker send the same messages again.
        self.lease = lease
        # Set when the worker stops: the recipient in hand is finished, the rest of the
        # claimed batch is handed back (due now, for any worker), nothing more is claimed.
        self.stop = threading.Event()
        i18n.warm_up(app.rules.currency)  # locale data and catalogues: not in the first batch

    def run_once(self) -> NotifyStats:
        """Drain everything due now (until none is left or `stop` is set)."""
        total = NotifyStats()
        while not self.stop.is_set():
            stats = self._one_batch()
            total.add(stats)
            if stats.claimed < self.batch and not stats.folded:  # folding may make a day due
                break
        return total

    def daily(self) -> dict[str, int]:
        """Digests of new flattrs, and claim invitations where the operator enabled them."""
        now, settings = self.app.now(), self.app.settings
        with self.app.db.unit_of_work() as session:
            digests = outbox.enqueue_digests(session, now=now)
            invitations = 0
            if settings.invite_unclaimed_creators:
                invitations = outbox.enqueue_claim_invitations(
                    session, now=now, window_days=settings.claim_window_days)
        return {"digests": digests, "invitations": invitations}

    def _one_batch(self) -> NotifyStats:
        stats = NotifyStats()
        now = self.app.now()
        claimed = outbox.claim_due(self.app.db, now=now, limit=self.batch, lease=self.lease)
        stats.claimed = len(claimed)
        if not claimed:
            return stats
        groups = _groups(claimed)
        plans: list[_Plan] = []
        with self.app.db.unit_of_work() as session:
            for items in groups:
                if self.stop.is_set():
                    break
                plans.append(self._plan(session, items, now))
        done = 0
        for plan in plans:
            if self.stop.is_set():
                break
            self._carry_out(plan, stats)
            done += 1
        left = [item for items in groups[done:] for item in items]
        if left:
            with self.app.db.unit_of_work() as session:
                stats.given_back = sum(outbox.give_back(session, item, now=self.app.now())
                                       for item in left)
            logs.event("notify.given_back", n=stats.given_back)
        return stats

    # -- deciding (read-only, one transaction) ---------------------------------------------

    def _plan(self, session: Session, items: tuple[Claimed, ...], now: datetime) -> _Plan:
        first = items[0]
        settings = self.app.settings
        if first.kind == "announce_flattr":
            return _Plan(items, "fold")
        announce = first.kind in outbox.ANNOUNCE_KINDS
        if first.person_id is None:
            if first.kind != "claim_invitation" or not settings.invite_unclaimed_creators:
                return _Plan(items, "suppress", "the creator has not joined")
            if outbox.opted_out(session, [str(first.identity)]):
                return _Plan(items, "suppress", "opted out")
            recipient = _identity_recipient(str(first.identity))
            names = list(invitation_channels())
        else:
            person = session.get(Person, first.person_id)
            if person is None:
                return _Plan(items, "suppress", "no such person")
            linked = {spec.name: _account_on(session, person.id, spec.name)
                      for spec in registry.all_networks()}
            subjects = [f"person:{person.id}"] + [a.identity for a in linked.values()
                                                  if a is not None]
            if outbox.opted_out(session, subjects):
                return _Plan(items, "suppress", "opted out")
            recipient = self._person_recipient(session, person, linked, announce=announce)
            names = (list(announce_channels()) if announce else
                     [c.strip() for c in person.notify_channels.split(",") if c.strip()])
        channel = next((self.channels[n] for n in names
                        if n in self.channels and self.channels[n].reaches(recipient)), None)
        if channel is None:
            return _Plan(items, "suppress", f"no channel reaches {recipient.key}")
        if not announce:
            cap = settings.notify_max_per_recipient_per_day
            count, oldest = outbox.deliveries_since(session, first, now - outbox.CAP_WINDOW)
            if count >= cap and oldest is not None:
                return _Plan(items, "defer", f"cap of {cap} a day reached",
                             until=oldest + outbox.CAP_WINDOW + timedelta(seconds=1))
        if first.kind == "announce_day" and not outbox.announce_day_data(
                session, first.dedupe_key)["urls"]:
            return _Plan(items, "suppress", "nothing to announce")
        parts = [self._render(session, item, recipient) for item in items]
        return _Plan(items, "send", recipient=recipient, channel=channel,
                     message=combine(parts, recipient.language))

    def _person_recipient(self, session: Session, person: Person,
                          linked: dict[str, SocialAccount | None], *,
                          announce: bool) -> Recipient:
        """The person on every network: their linked account (its handle, and their own
        token when they announce their flattrs and it is active), else the first account
        identity of that network they claimed."""
        on: dict[str, Reach] = {}
        for spec in registry.all_networks():
            account = linked.get(spec.name)
            if account is not None:
                own = (open_token(self.app.keys, account.token_ciphertext)
                       if announce and accounts.is_active(account) else None)
                on[spec.name] = Reach(account.external_user_id, account.handle, own)
            elif (claimed := _claimed(session, person.id, spec)) is not None:
                on[spec.name] = Reach(claimed)
        return Recipient(key=f"person:{person.id}", name=person.name, email=person.email,
                         on=on, language=i18n.language_or_default(person.language))

    def _render(self, session: Session, item: Claimed, recipient: Recipient) -> Rendered:
        data = dict(item.payload)
        if item.kind == "statement":
            data = outbox.statement_data(session, int(item.person_id or 0), data["period"])
        elif item.kind == "month_closed":
            data = outbox.month_data(session, int(item.person_id or 0), data["period"])
        elif item.kind == "escrow_returned" and "cents" not in data:
            data = outbox.escrow_returned_data(session, int(item.person_id or 0),
                                               int(data["transaction_id"]))
        elif item.kind == "claim_invitation":
            data = outbox.escrow_waiting(session, str(item.identity))
        elif item.kind == "announce_day":
            data = outbox.announce_day_data(session, item.dedupe_key)
        return render(item.kind, data, name=recipient.name, currency=self.app.rules.currency,
                      language=recipient.language)

    # -- doing (network first, then one short transaction) ---------------------------------

    def _carry_out(self, plan: _Plan, stats: NotifyStats) -> None:
        result: DeliveryResult | None = None
        if plan.action == "send":
            assert plan.channel and plan.recipient and plan.message
            try:
                result = plan.channel.send(plan.recipient, plan.message)
            except Exception as exc:  # a channel bug must not lose the claim
                result = DeliveryResult(ok=False, retryable=True,
                                        error=f"{type(exc).__name__}: {exc}")
        now = self.app.now()
        if plan.action == "fold":
            with self.app.db.unit_of_work() as session:
                stats.folded += outbox.fold_announcements(session, list(plan.items), now=now)
            return
        with self.app.db.unit_of_work() as session:
            for item in plan.items:
                if plan.action == "suppress":
                    stats.suppressed += outbox.mark_suppressed(session, item, reason=plan.reason)
                elif plan.action == "defer":
                    assert plan.until is not None
                    stats.deferred += outbox.defer(session, item, until=plan.until,
                                                   reason=plan.reason)
                elif result is not None and result.ok:
                    stats.sent += outbox.mark_sent(session, item, now=now, note=result.error)
                else:
                    assert result is not None
                    outbox.mark_failed(session, item, now=now, error=result.error or "failed",
                                       retryable=result.retryable)
                    retry = result.retryable and item.attempts < outbox.MAX_ATTEMPTS
                    stats.retried += retry
                    stats.failed += not retry
        channel = plan.channel.name if plan.channel else None
        if result is not None and result.ok:
            stats.by_channel[str(channel)] += len(plan.items)
        logs.event("notify." + (plan.action if result is None else
                                ("sent" if result.ok else "failed")),
                   kinds=",".join(sorted({i.kind for i in plan.items})), n=len(plan.items),
                   to=plan.items[0].recipient, channel=channel,
                   reason=plan.reason or (result.error if result else None))


def _groups(claimed: list[Claimed]) -> list[tuple[Claimed, ...]]:
    """One group per recipient; a person's flattr announcements together (to be folded into
    their day's post); each day's post alone (a public post from the person's account)."""
    groups: dict[str, list[Claimed]] = defaultdict(list)
    for item in claimed:
        key = (f"fold:{item.recipient}" if item.kind == "announce_flattr" else
               f"announce_day:{item.id}" if item.kind == "announce_day" else item.recipient)
        groups[key].append(item)
    return [tuple(items) for items in groups.values()]


def _account_on(session: Session, person_id: int, network: str) -> SocialAccount | None:
    """The person's (first) account on the network, unless they disconnected it."""
    mine = accounts.linked(session, person_id, network)
    return mine[0] if mine else None


def _claimed(session: Session, person_id: int, spec: NetworkSpec) -> str | None:
    """The id of the first account identity of the network the person claimed."""
    kind = spec.account_scheme.kind
    value = session.execute(select(Claim.value).where(
        Claim.person_id == person_id, Claim.kind == "identity",
        Claim.value.like(identity.prefix(spec.name, kind) + "%"),
    ).order_by(Claim.id).limit(1)).scalar_one_or_none()
    claimed = identity.try_parse(value)
    return claimed.id if claimed is not None else None


def _identity_recipient(key: str) -> Recipient:
    """A creator who has not joined, by the identity holding their escrow: reachable on its
    network when it is an account there."""
    held_by = identity.try_parse(key)
    spec = registry.find(held_by.network) if held_by is not None else None
    if held_by is None or spec is None or held_by.kind != spec.account_scheme.kind:
        return Recipient(key=key, name=key)
    return Recipient(key=key, name=key, on={held_by.network: Reach(held_by.id)})
