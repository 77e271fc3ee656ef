"""The living sandbox of `flattr web --with-sandbox`: the emulated networks, a busy
generated scenario, a clock that moves on its own (one simulated hour a second by default)
and the real worker (jobs.worker.Worker under its APScheduler schedule) in the same
process. A newcomer links the sandbox accounts of a scenario person and watches flattrs
arrive, the month close, a statement and escrow waiting, within a minute or two.

The clock (bots.sandbox.clock.LivingClock) is both the sandbox's and the app's. It starts
two days before the end of a month, so the first close comes soon; the operator page can
pause it, change its speed or jump to the month's end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, inspect, select

from bots.mastodon.scenario import MastodonRates, add_mastodon
from bots.sandbox import Rates, SandboxServer, generate_scenario, start_sandbox
from bots.sandbox.clock import MAX_SPEED, LivingClock
from bots.sandbox.push import WebhookPusher
from config import Settings
from core.db import Database
from core.models import Flattr, Settlement
from core.periods import as_utc, period_end, period_of
from jobs.scheduling import Intervals, build_scheduler
from jobs.worker import Worker
from runtime import logs
from runtime.app import App, build_app

# A busier world than the demo's, so that something happens every few simulated hours.
WARM_UP = timedelta(days=20)
LIVELY = Rates(likes=16.0, reposts=1.0, quotes=0.5, explicit=1.0, originals=0.5,
               facebook_page_likes_per_month=20.0, facebook_shares=2.0,
               facebook_statuses=0.3)
LIVELY_MASTODON = MastodonRates(favourites=6.0, boosts=1.0, explicit=0.5, originals=0.5)
# Wall-clock seconds between the worker's jobs: at an hour a second, a poll every
# simulated hour and the month closed within a second or two of its end.
FAST = Intervals(poll=1.0, notify=2.0, settle_check=1.0, expire=5.0, refresh=1.0)
# X access tokens in the living sandbox live 30 days and are renewed in their last two (at
# a day a second, the refresh job still sees each one twice before it lapses).
ACCESS_LIFETIME_HOURS = 24 * 30
REFRESH_MARGIN = timedelta(days=2)
DEMO_X_TRIGGERS = "likes,reposts,explicit"


def default_start(now: datetime) -> datetime:
    """Two days before the end of the month of `now`, on the hour."""
    start = period_end(period_of(now)) - timedelta(days=2)
    return start.replace(minute=0, second=0, microsecond=0)


def resume_after(settings: Settings, now: datetime) -> datetime:
    """`now`, or later when the database already holds a later time (a living sandbox run
    before on it): its latest flattr, or the end of the last month it closed. The clock
    never goes back over what is stored."""
    db = Database(settings.database_url)
    try:
        if "flattrs" not in inspect(db.engine).get_table_names():
            return now
        with db.unit_of_work() as session:
            latest = session.execute(select(func.max(Flattr.occurred_at))).scalar()
            closed = session.execute(select(func.max(Settlement.period))).scalar()
    finally:
        db.dispose()
    moments = [now, as_utc(latest) + timedelta(days=1) if latest else now,
               period_end(closed) + timedelta(days=1) if closed else now]
    return max(moments)


def living_scenario(start: datetime, *, people: int = 4, days: int = 60,
                    seed: int = 7) -> dict[str, Any]:
    """People on X, Facebook and Mastodon, creators (who have not joined) with their own
    sign-ins, busy for `days` simulated days from `start`. The generated world begins
    WARM_UP earlier: a generated scenario is quiet at first (likes follow the posts), and
    what happened before an account is linked is never flattred anyway."""
    begin = start - WARM_UP
    total = days + WARM_UP.days
    scenario = generate_scenario(people, days=total, seed=seed, start=begin, rates=LIVELY,
                                 n_creators=8)
    add_mastodon(scenario, seed=seed, days=total, rates=LIVELY_MASTODON)
    scenario["start"] = start.isoformat()
    scenario["service"]["x_access_lifetime_hours"] = ACCESS_LIFETIME_HOURS
    add_creator_logins(scenario)
    return scenario


def add_creator_logins(scenario: dict[str, Any]) -> dict[str, Any]:
    """Give every creator a Facebook user who manages their Page, so that a creator who
    has not joined can sign in on the sandbox's consent page and claim the Page."""
    users = scenario.setdefault("facebook_users", [])
    pages = {page["id"]: page for page in scenario.get("facebook_pages", [])}
    for index, creator in enumerate(scenario.get("creators", [])):
        page = pages.get(str(creator.get("facebook_page_id")))
        if page is None:
            continue
        user_id = str(610000000 + index)
        users.append({"id": user_id, "name": creator["name"]})
        page["managers"] = sorted({*page.get("managers", []), user_id})
    return scenario


def sandbox_settings(settings: Settings, spec: dict[str, Any], base_url: str) -> Settings:
    """The deployment's settings pointed at the sandbox, with the scenario's service
    accounts; every X trigger is on unless FLATTR_X_TRIGGERS says otherwise (the sandbox
    is not X: paying for likes is only forbidden there)."""
    service = spec.get("service", {})
    mastodon = (spec.get("mastodon") or {}).get("service")
    update: dict[str, Any] = {
        "sandbox_url": base_url,
        "x_service_user_id": settings.x_service_user_id or service.get("x_user_id"),
        "x_service_token": settings.x_service_token or service.get("x_token"),
        "x_app_bearer_token": settings.x_app_bearer_token or service.get("x_app_token"),
        "facebook_page_id": settings.facebook_page_id or service.get("facebook_page_id"),
        "facebook_page_token": settings.facebook_page_token
        or service.get("facebook_page_token"),
    }
    if "x_service_handle" not in settings.model_fields_set and service.get("x_handle"):
        update["x_service_handle"] = service["x_handle"]
    if "x_triggers" not in settings.model_fields_set:
        update["x_triggers"] = frozenset(DEMO_X_TRIGGERS.split(","))
    if mastodon and not settings.mastodon_service_token:
        update.update(mastodon_service_account=f"flattr@{mastodon['host']}",
                      mastodon_service_user_id=str(mastodon["id"]),
                      mastodon_service_token=mastodon["token"])
    return settings.model_copy(update=update)


@dataclass
class LivingSandbox:
    """Started by `start_living`; `stop()` ends the worker, then the sandbox."""

    clock: LivingClock
    sandbox: SandboxServer
    settings: Settings
    app: App
    worker: Worker | None = None
    scheduler: BackgroundScheduler | None = None
    pusher: WebhookPusher | None = None
    # The clock stands still until the first account is linked (`flattr web`): a newcomer
    # who takes a minute to sign up still sees the month close soon after.
    waiting: bool = False

    def account_linked(self) -> None:
        """Someone linked an account: a clock waiting for that starts."""
        if self.waiting:
            self.waiting = False
            self.clock.resume()

    def start_worker(self, intervals: Intervals = FAST) -> None:
        # Leases and token margins are in simulated time: sized for the fastest speed.
        self.worker = Worker(self.app, api_base_url=self.sandbox.base_url, owner="living",
                             lease_scale=MAX_SPEED, refresh_margin=REFRESH_MARGIN)
        self.scheduler = build_scheduler(self.worker, intervals)
        self.scheduler.start()

    def push_webhooks_to(self, service_url: str, every: float = 1.0) -> None:
        """The sandbox's networks tell the web app at `service_url` what their subscribed
        users did, every `every` seconds (webhooks wake the accounts: flattrs come within
        a poll, not after an idle account's two days)."""
        self.pusher = WebhookPusher(self.sandbox.world, self.settings, service_url)
        if self.scheduler is not None:
            self.scheduler.add_job(_quietly(self.pusher.push), IntervalTrigger(
                seconds=every, timezone=UTC), id="sandbox_push", coalesce=True,
                max_instances=1)

    def month_end(self) -> datetime:
        """The last simulated minute of the current month (the close follows)."""
        return period_end(period_of(self.clock())) - timedelta(minutes=1)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
        if self.worker is not None:
            self.worker.close()
        self.sandbox.stop()
        self.app.close()


def _quietly(push: Callable[[], int]) -> Callable[[], None]:
    def run() -> None:
        try:
            push()
        except Exception as exc:  # the sandbox's own trouble must not stop the schedule
            logs.event("sandbox.push_failed", error=f"{type(exc).__name__}: {exc}"[:300])

    return run


def start_living(settings: Settings, *, start: datetime, speed: float = 3600.0,
                 scenario: dict[str, Any] | str | None = None, port: int = 0,
                 worker: bool = True, intervals: Intervals = FAST,
                 wait_for_link: bool = False) -> LivingSandbox:
    """The sandbox and (unless `worker` is False) the worker, sharing one living clock;
    the App to serve the web pages with is `.app`. `wait_for_link`: the clock stands
    still until the first account is linked."""
    clock = LivingClock(start, speed, paused=wait_for_link)
    spec = living_scenario(start) if scenario is None else scenario
    sandbox = start_sandbox(spec, port=port, clock=clock)
    try:
        spec_dict = sandbox.world.scenario
        living_settings = sandbox_settings(settings, spec_dict, sandbox.base_url)
        app = build_app(living_settings, clock=clock)
    except BaseException:
        sandbox.stop()
        raise
    living = LivingSandbox(clock, sandbox, living_settings, app, waiting=wait_for_link)
    if worker:
        try:
            app.db.upgrade()  # the sandbox is for trying things out: make the schema
            living.start_worker(intervals)
        except BaseException:
            living.stop()
            raise
    return living
