"""A worker told to stop (SIGTERM) stops promptly: the notify job finishes the recipient in
hand and hands the rest of its claimed batch back; and a claim lasts as long in real time
under a fast clock (the many-workers test once sent notices up to four times and took over
30 s to stop: 5 minutes of its simulated time were 35 ms of real time)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from bots.base import DeliveryResult
from core import notifications
from core.models import Notification
from jobs.channels import LogChannel, Recipient
from jobs.notify import LEASE, Notifier
from jobs.templates import Rendered
from jobs.worker import Worker
from tests.jobs.conftest import Rig


@dataclass
class Recording:
    name: str = "log"
    sent: list[str] = field(default_factory=list)
    during_send: object = None  # called on each send, before it counts

    def reaches(self, recipient: Recipient) -> bool:
        return True

    def send(self, recipient: Recipient, message: Rendered) -> DeliveryResult:
        if callable(self.during_send):
            self.during_send()
        self.sent.append(recipient.key)
        return DeliveryResult(ok=True)


def _notices(rig: Rig, n: int, prefix: str = "p") -> list[int]:
    people = [rig.person(f"{prefix}{i}") for i in range(n)]
    with rig.app.db.unit_of_work() as session:
        for who in people:
            notifications.enqueue(session, "wallet_low", f"wallet_low:{who}", now=rig.app.now(),
                                  person_id=who, payload={"period": "2025-03",
                                                          "wallet_cents": 100})
    return people


def _rows(rig: Rig) -> list[tuple[str, int]]:
    with rig.app.db.unit_of_work() as session:
        return [(r.status, r.attempts) for r in session.execute(
            select(Notification.status, Notification.attempts).order_by(Notification.id))]


def test_a_stopping_notifier_finishes_the_recipient_in_hand_and_hands_back_the_rest(
        rig: Rig) -> None:
    _notices(rig, 5)
    channel = Recording()
    notifier = Notifier(rig.app, [channel])
    channel.during_send = notifier.stop.set  # SIGTERM arrives while the first one is sent
    stats = notifier.run_once()
    assert (stats.claimed, stats.sent, stats.given_back) == (5, 1, 4)
    assert sorted(_rows(rig)) == [("pending", 0)] * 4 + [("sent", 1)]
    again = Notifier(rig.app, [Recording()])  # another worker, at once: due now
    assert again.run_once().sent == 4
    assert [s for s, _ in _rows(rig)] == ["sent"] * 5


def test_a_stopped_worker_returns_from_a_long_notify_run_promptly(rig: Rig) -> None:
    _notices(rig, 60)

    first_send = threading.Event()

    class Slow(LogChannel):
        def send(self, recipient, message):  # type: ignore[no-untyped-def]
            first_send.set()
            time.sleep(0.1)
            return super().send(recipient, message)

    worker = Worker(rig.app, api_base_url=rig.sandbox.base_url, owner="stopping",
                    log_channel=Slow())
    try:
        result: dict = {}
        job = threading.Thread(target=lambda: result.update(stats=worker.notify()))
        job.start()
        # Stop once sending is under way (a fixed sleep lost that race on a loaded machine).
        assert first_send.wait(timeout=30)
        time.sleep(0.3)
        stopped_at = time.monotonic()
        worker.stop()
        job.join(timeout=10)
        took = time.monotonic() - stopped_at
    finally:
        worker.close()
    assert not job.is_alive() and took < 2.0, took
    stats = result["stats"]
    assert 0 < stats.sent < 60 and stats.sent + stats.given_back == 60
    assert sorted({s for s, _ in _rows(rig)}) == ["pending", "sent"]


def _claims_meanwhile(rig: Rig, lease: timedelta) -> tuple[list[str], list[int]]:
    """Send every due notice, each send taking 10 simulated minutes, while another worker
    looks for due notices at each send; returns what the first sent and what the other
    claimed each time."""
    first = Recording()
    meanwhile: list[int] = []

    def slow_send() -> None:
        rig.clock.advance(minutes=10)
        meanwhile.append(Notifier(rig.app, [Recording()], lease=lease).run_once().claimed)

    first.during_send = slow_send
    Notifier(rig.app, [first], lease=lease).run_once()
    return first.sent, meanwhile


def test_a_claim_outlasts_its_batch_under_a_fast_clock(rig: Rig) -> None:
    worker = rig.worker(lease_scale=100.0)  # the clock runs 100 times faster than real time
    worker.close()
    assert worker.notifier.lease == LEASE * 100
    _notices(rig, 3)
    sent, meanwhile = _claims_meanwhile(rig, worker.notifier.lease)
    assert len(sent) == 3 and meanwhile == [0, 0, 0]
    # Unscaled, the claim lapses while the batch is sent: the other worker takes the rest.
    _notices(rig, 3, prefix="q")
    sent, meanwhile = _claims_meanwhile(rig, LEASE)
    assert sum(meanwhile) > 0
