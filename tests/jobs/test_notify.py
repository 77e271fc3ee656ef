"""The outbox through channels: dedupe, retries, caps, combining, opt-outs, restraint with
creators who never joined, and the real channels (sandbox X/Facebook, SMTP)."""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from bots.base import DeliveryResult
from core import notifications, outbox
from core.activity import Activity, Target
from core.flattring import record_activities
from core.models import Notification, Person
from jobs.channels import EmailChannel, LogChannel, Recipient
from jobs.notify import Notifier
from jobs.templates import Rendered
from tests.jobs.conftest import Rig, link_people


@dataclass
class Flaky:
    """A fake channel that fails `failures` times, then delivers."""

    failures: int = 0
    retryable: bool = True
    name: str = "log"
    sent: list[str] = field(default_factory=list)

    def reaches(self, recipient: Recipient) -> bool:
        return True

    def send(self, recipient: Recipient, message: Rendered) -> DeliveryResult:
        if self.failures:
            self.failures -= 1
            return DeliveryResult(ok=False, retryable=self.retryable, error="channel down")
        self.sent.append(message.text)
        return DeliveryResult(ok=True)


def enqueue(rig: Rig, person_id: int | None, key: str, kind: str = "wallet_low",
            identity: str | None = None) -> None:
    with rig.app.db.unit_of_work() as session:
        notifications.enqueue(session, kind, key, now=rig.app.now(), person_id=person_id,
                              identity=identity,
                              payload={"period": "2025-03", "wallet_cents": 100})


def statuses(rig: Rig) -> list[str]:
    with rig.app.db.unit_of_work() as session:
        return list(session.execute(select(Notification.status).order_by(Notification.id))
                    .scalars())


def test_a_dedupe_key_sends_once(rig: Rig) -> None:
    who = rig.person("ann")
    enqueue(rig, who, "wallet_low:ann")
    enqueue(rig, who, "wallet_low:ann")
    channel = Flaky()
    notifier = Notifier(rig.app, [channel])
    assert notifier.run_once().sent == 1
    assert notifier.run_once().claimed == 0
    assert len(channel.sent) == 1 and statuses(rig) == ["sent"]


def test_a_failed_channel_is_retried_with_backoff(rig: Rig) -> None:
    who = rig.person("ann")
    enqueue(rig, who, "k1")
    channel = Flaky(failures=2)
    notifier = Notifier(rig.app, [channel])
    assert notifier.run_once().retried == 1
    assert notifier.run_once().claimed == 0  # not before the backoff
    rig.clock.advance(seconds=61)  # type: ignore[attr-defined]
    assert notifier.run_once().retried == 1
    rig.clock.advance(seconds=90)  # type: ignore[attr-defined]
    assert notifier.run_once().claimed == 0  # the second backoff is 2 minutes
    rig.clock.advance(seconds=31)  # type: ignore[attr-defined]
    assert notifier.run_once().sent == 1
    assert statuses(rig) == ["sent"] and len(channel.sent) == 1
    assert outbox.DELIVERY_BACKOFF.delay(30) == outbox.DELIVERY_BACKOFF.cap == timedelta(hours=6)


def test_a_refusal_is_not_retried(rig: Rig) -> None:
    enqueue(rig, rig.person("ann"), "k1")
    Notifier(rig.app, [Flaky(failures=1, retryable=False)]).run_once()
    assert statuses(rig) == ["failed"]


def test_per_recipient_cap_defers_and_batches_are_combined(rig: Rig) -> None:
    cap = rig.app.settings.notify_max_per_recipient_per_day
    who = rig.person("ann")
    channel = Flaky()
    notifier = Notifier(rig.app, [channel])
    for n in range(cap + 2):
        enqueue(rig, who, f"k{n}")
        notifier.run_once()
        rig.clock.advance(minutes=1)  # type: ignore[attr-defined]
    assert len(channel.sent) == cap
    assert statuses(rig).count("pending") == 2
    rig.clock.advance(days=1)  # type: ignore[attr-defined]
    stats = notifier.run_once()
    # The two deferred ones go out together, as one message.
    assert stats.sent == 2 and len(channel.sent) == cap + 1
    assert channel.sent[-1].count("Hello ann") == 2


def test_opt_out_is_forever(rig: Rig) -> None:
    who = rig.person("ann")
    enqueue(rig, who, "k1")
    with rig.app.db.unit_of_work() as session:
        assert outbox.opt_out(session, f"person:{who}", now=rig.app.now()) == 1
    channel = Flaky()
    enqueue(rig, who, "k2")
    rig.clock.advance(days=400)  # type: ignore[attr-defined]
    enqueue(rig, who, "k3")
    Notifier(rig.app, [channel]).run_once()
    assert channel.sent == [] and statuses(rig) == ["suppressed"] * 3


def _escrow_for(rig: Rig, identity: str) -> None:
    """A settled month in which `identity`, who never joined, was flattred."""
    donor = rig.person("donor")
    activity = Activity("x", "like", "555", "twitter:1", rig.app.now(),
                        (Target(url="https://x.com/someone/status/555", identity=identity),))
    with rig.app.db.unit_of_work() as session:
        [outcome] = record_activities(session, rig.app.rules, donor, [activity],
                                      now=rig.app.now())
    assert outcome.flattred
    rig.clock.set(rig.clock.now.replace(day=1) + timedelta(days=40))  # type: ignore[attr-defined]
    worker = rig.worker()
    assert worker.settle_due() == "settled"
    worker.close()


def test_no_message_to_a_creator_who_never_joined(rig: Rig) -> None:
    _escrow_for(rig, "twitter:555")
    channel = Flaky()
    notifier = Notifier(rig.app, [channel])
    assert notifier.daily()["invitations"] == 0
    enqueue(rig, None, "sneaky", kind="claim_invitation", identity="twitter:555")
    notifier.run_once()
    with rig.app.db.unit_of_work() as session:
        rows = session.execute(select(Notification.kind, Notification.status)
                               .where(Notification.identity.is_not(None))).all()
    assert rows == [("claim_invitation", "suppressed")]
    assert all("555" not in m["recipient"] for m in rig.sandbox.sent_messages()
               if m.get("recipient"))


@pytest.mark.parametrize("rig", [{"invite_unclaimed_creators": True}], indirect=True)
def test_one_claim_invitation_per_window_and_never_after_opt_out(rig: Rig) -> None:
    _escrow_for(rig, "twitter:555")
    worker = rig.worker()
    try:
        assert worker.daily()["invitations"] == 1
        worker.notify()
        dms = [m for m in rig.sandbox.sent_messages() if m["channel"] == "x_dm"]
        assert [m["recipient"] for m in dms] == ["555"] and "waits for you" in dms[0]["text"]
        rig.clock.advance(days=30)  # type: ignore[attr-defined]
        assert worker.daily()["invitations"] == 0  # within the claim window
        with rig.app.db.unit_of_work() as session:
            outbox.opt_out(session, "twitter:555", now=rig.app.now())
        rig.clock.advance(days=rig.app.settings.claim_window_days)  # type: ignore[attr-defined]
        assert worker.daily()["invitations"] == 0  # never after an opt-out
    finally:
        worker.close()


def test_social_channels_deliver_through_the_sandbox(rig: Rig) -> None:
    link_people(rig.app, rig.scenario)
    with rig.app.db.unit_of_work() as session:
        alice = session.execute(select(Person).where(Person.name == "alice")).scalar_one()
        bob = session.execute(select(Person).where(Person.name == "bob")).scalar_one()
        alice.notify_channels = "x_dm,log"
        bob.notify_channels = "facebook_page"
        ids = alice.id, bob.id
    enqueue(rig, ids[0], "a")
    enqueue(rig, ids[1], "b")
    with rig.app.db.unit_of_work() as session:
        notifications.enqueue(session, "announce_flattr", "c", now=rig.app.now(),
                              person_id=ids[0], payload={"url": "https://example.org/blog/1"})
    worker = rig.worker()
    try:
        stats = worker.notify()
        assert (stats.sent, stats.folded) == (2, 1)  # the announcement waits for its day
        rig.clock.advance(days=1)
        assert worker.notify().sent == 1  # the day's post
    finally:
        worker.close()
    sent = {(m["channel"], m.get("sender")) for m in rig.sandbox.sent_messages()}
    alice_x = rig.scenario["people"][0]["x"]["user_id"]
    assert ("x_dm", rig.scenario["service"]["x_user_id"]) in sent
    assert ("x_mention", alice_x) in sent  # the announcement, from her own account
    assert ("facebook_page_post", rig.scenario["service"]["facebook_page_id"]) in sent


class _SMTPHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        in_data = False
        while line := self.rfile.readline():
            if in_data:
                if line in (b".\r\n", b".\n"):
                    in_data = False
                    self.server.mails.append(b"".join(self.lines))  # type: ignore[attr-defined]
                    self.wfile.write(b"250 queued\r\n")
                else:
                    self.lines.append(line)
                continue
            verb = line[:4].upper()
            if verb == b"DATA":
                in_data, self.lines = True, []
                self.wfile.write(b"354 go on\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.mails = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_email_goes_over_smtp(rig: Rig, smtp_server: socketserver.ThreadingTCPServer) -> None:
    who = rig.person("ann", notify_channels="email,log")
    enqueue(rig, who, "k1")
    port = smtp_server.server_address[1]
    log = LogChannel()
    notifier = Notifier(rig.app, [EmailChannel("127.0.0.1", port, "flattr@localhost"), log])
    assert notifier.run_once().by_channel == {"email": 1}
    [mail] = smtp_server.mails  # type: ignore[attr-defined]
    assert b"ann@example.net" in mail and b"below the minimum" in mail and not log.sent
    # With the SMTP server gone, the message waits and is retried; nothing is lost.
    enqueue(rig, who, "k2")
    down = EmailChannel("127.0.0.1", 1, "flattr@localhost", timeout=1)
    assert Notifier(rig.app, [down]).run_once().retried == 1


def test_a_person_who_chose_french_gets_french_mail(
        rig: Rig, smtp_server: socketserver.ThreadingTCPServer) -> None:
    who = rig.person("ann", notify_channels="email", language="fr")
    with rig.app.db.unit_of_work() as session:
        notifications.enqueue(session, "wallet_low", "k-fr", now=rig.app.now(), person_id=who,
                              payload={"period": "2026-11", "wallet_cents": 100})
    port = smtp_server.server_address[1]
    notifier = Notifier(rig.app, [EmailChannel("127.0.0.1", port, "flattr@localhost")])
    assert notifier.run_once().by_channel == {"email": 1}
    [raw] = smtp_server.mails  # type: ignore[attr-defined]
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"] == "Votre porte-monnaie flattr est trop bas"
    assert mail["Content-Language"] == "fr"
    body = mail.get_content()
    assert "Bonjour ann, votre porte-monnaie contient 1,00\u00a0€" in body
    assert "vos flattrs en novembre 2026 ne sont donc pas comptés" in body


def test_without_a_language_setting_mail_is_english(
        rig: Rig, smtp_server: socketserver.ThreadingTCPServer) -> None:
    who = rig.person("ann", notify_channels="email")
    enqueue(rig, who, "k-en")
    port = smtp_server.server_address[1]
    Notifier(rig.app, [EmailChannel("127.0.0.1", port, "flattr@localhost")]).run_once()
    [raw] = smtp_server.mails  # type: ignore[attr-defined]
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Content-Language"] == "en"
    assert "your wallet holds €1.00" in mail.get_content()


def test_creators_who_have_not_joined_are_written_to_in_english() -> None:
    from jobs.notify import _identity_recipient

    assert _identity_recipient("twitter:555").language == "en"

# -- "announce my flattrs": one post per person per day ------------------------------------


def _announce(rig: Rig, person_id: int, flattr_id: int) -> None:
    url = f"https://creator{flattr_id}.example.org/posts/{flattr_id:04d}-a-longish-title"
    with rig.app.db.unit_of_work() as session:
        notifications.enqueue(session, "announce_flattr", f"announce:{flattr_id}",
                              now=rig.app.now(), person_id=person_id,
                              payload={"flattr_id": flattr_id, "url": url})


def _posts(rig: Rig) -> list[tuple[str, str]]:
    with rig.app.db.unit_of_work() as session:
        return [(n.dedupe_key, n.status) for n in session.execute(
            select(Notification).where(Notification.kind == "announce_day")
            .order_by(Notification.id)).scalars()]


def test_a_days_flattrs_are_announced_in_one_post(rig: Rig) -> None:
    erin, fred = rig.person("erin"), rig.person("fred")
    channel = Flaky(name="announce")
    notifier = Notifier(rig.app, [channel], batch=4)  # smaller than the day: batches spill
    for flattr in range(1, 11):
        _announce(rig, erin, flattr)
        _announce(rig, erin, flattr)  # the dedupe key: once per flattr
        rig.clock.advance(minutes=30)
        notifier.run_once()
    _announce(rig, fred, 99)
    stats = notifier.run_once()
    assert channel.sent == []  # nothing before the day is over
    rig.clock.advance(days=1)
    stats = notifier.run_once()
    assert stats.sent == 2 and len(channel.sent) == 2  # one post each for erin and fred
    day = f"{rig.app.now() - timedelta(days=1):%Y-%m-%d}"
    assert sorted(_posts(rig)) == [(f"announce_day:{erin}:{day}", "sent"),
                                   (f"announce_day:{fred}:{day}", "sent")]
    with rig.app.db.unit_of_work() as session:
        folded = session.execute(select(Notification.status).where(
            Notification.kind == "announce_flattr")).scalars().all()
    assert sorted(folded) == ["folded"] * 11
    assert notifier.run_once().claimed == 0 and len(channel.sent) == 2


def test_the_days_post_fits_an_x_post_and_names_the_rest(rig: Rig) -> None:
    erin = rig.person("erin")
    for flattr in range(1, 8):
        _announce(rig, erin, flattr)
    messages: list[Rendered] = []

    class Keep(Flaky):
        def send(self, recipient: Recipient, message: Rendered) -> DeliveryResult:
            messages.append(message)
            return super().send(recipient, message)

    notifier = Notifier(rig.app, [Keep(name="announce")])
    notifier.run_once()
    rig.clock.advance(days=1)
    assert notifier.run_once().sent == 1
    [post] = messages
    assert post.short.startswith("I flattred 7 creations on ") and len(post.short) <= 280
    assert " and " in post.short and post.short.endswith("more #flattr")
    shown = post.short.count("https://")
    assert 0 < shown < 7 and f"and {7 - shown} more" in post.short
    assert post.text.count("https://") == 7  # the full text (log, e-mail) lists them all


def test_a_flattr_folded_after_its_days_post_joins_the_next_day(rig: Rig) -> None:
    erin = rig.person("erin")
    channel = Flaky(name="announce")
    notifier = Notifier(rig.app, [channel])
    _announce(rig, erin, 1)
    notifier.run_once()
    rig.clock.advance(hours=23, minutes=59)
    _announce(rig, erin, 2)  # written on the first day, not yet folded
    rig.clock.advance(minutes=2)
    first = notifier.run_once()  # the first day's post goes out, the late one is folded
    assert first.sent == 1 and len(channel.sent) == 1
    assert "creator1" in channel.sent[0] and "creator2" not in channel.sent[0]
    rig.clock.advance(days=1)
    assert notifier.run_once().sent == 1  # the second day's post carries it
    assert "creator2" in channel.sent[1] and len(_posts(rig)) == 2


def test_an_opted_out_person_is_never_announced(rig: Rig) -> None:
    erin = rig.person("erin")
    channel = Flaky(name="announce")
    notifier = Notifier(rig.app, [channel])
    _announce(rig, erin, 1)
    notifier.run_once()
    with rig.app.db.unit_of_work() as session:
        outbox.opt_out(session, f"person:{erin}", now=rig.app.now())
    rig.clock.advance(days=1)
    notifier.run_once()
    assert channel.sent == [] and [s for _, s in _posts(rig)] == ["suppressed"]
