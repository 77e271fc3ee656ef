"""What recording an activity comes to (a flattr, or why not), worded once for the batch
path (core.ingest), the manual flattr (core.flattring) and the reference rules in the tests;
and the open-period rule both paths apply. Both paths import this module, so the imports
between them point one way: flattring -> ingest -> outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Settlement
from core.money import format_cents
from core.periods import next_period, period_of
from core.rules import Rules

FLATTRED = "flattred"
OUTCOMES = (FLATTRED, "duplicate", "already", "own", "no_means", "no_target")
MANUAL_NETWORK = "web"  # a flattr by hand (core.flattring.flattr_url), not by a bot


@dataclass(frozen=True)
class FlattrOutcome:
    outcome: str
    message: str
    flattr_id: int | None = None
    thing_url: str | None = None
    period: str | None = None

    @property
    def flattred(self) -> bool:
        return self.outcome == FLATTRED


def open_period(session: Session, moment: datetime) -> str:
    """The period of `moment`, or the first one after it still open when it is closed:
    late activity counts in the next month rather than being lost."""
    period = period_of(moment)
    closed = set(session.execute(
        select(Settlement.period).where(Settlement.period >= period)).scalars())
    while period in closed:
        period = next_period(period)
    return period


def keeps_key(network: str, outcome: FlattrOutcome) -> bool:
    """Whether the activity's key is recorded, so that the same activity again is a
    duplicate. A flattr by hand refused for want of money (wallet or budget) is not: the
    person tops up or sets a budget and presses the button again. An activity a bot saw
    stays refused (the person is told once per period: notify_refused)."""
    return not (network == MANUAL_NETWORK and outcome.outcome == "no_means")


def refusal_notice(person_id: int, period: str, wallet: int | None) -> tuple[str, str, dict]:
    """The notification (kind, dedupe key, payload) that tells a person, once per period,
    that a bot's activity was not flattred for want of money: the wallet below the
    minimum (`wallet` given), or no budget for the period yet."""
    if wallet is not None:
        return ("wallet_low", f"wallet_low:{person_id}:{period}",
                {"period": period, "wallet_cents": wallet})
    return "no_budget", f"no_budget:{person_id}:{period}", {"period": period}


# The outcomes, worded once for both paths.
def duplicate(key: str) -> FlattrOutcome:
    return FlattrOutcome("duplicate", f"activity {key} was already recorded")


def concurrent_duplicate() -> FlattrOutcome:
    return FlattrOutcome("duplicate", "recorded concurrently by another worker")


def no_target() -> FlattrOutcome:
    return FlattrOutcome("no_target", "the activity points at nothing that can be flattred")


def own(url: str) -> FlattrOutcome:
    return FlattrOutcome("own", f"{url} is your own", thing_url=url)


def wallet_too_low(rules: Rules, wallet: int, url: str, period: str) -> FlattrOutcome:
    return FlattrOutcome(
        "no_means",
        f"wallet holds {format_cents(wallet)} {rules.currency}, below the minimum budget of "
        f"{format_cents(rules.min_monthly_budget)} {rules.currency}: top up to flattr",
        thing_url=url, period=period,
    )


def no_budget(url: str, period: str) -> FlattrOutcome:
    return FlattrOutcome("no_means", f"no budget was set for {period} yet",
                         thing_url=url, period=period)


def already(url: str, period: str, flattr_id: int | None = None) -> FlattrOutcome:
    """The person's flattr of the thing in the period exists: the activity joins it
    (`flattr_id`, so that undoing another activity leaves it: core.retractions)."""
    return FlattrOutcome("already", f"{url} was already flattred in {period}",
                         flattr_id=flattr_id, thing_url=url, period=period)


def flattred(flattr_id: int, url: str, period: str) -> FlattrOutcome:
    return FlattrOutcome(FLATTRED, f"flattred {url} in {period}", flattr_id=flattr_id,
                         thing_url=url, period=period)
