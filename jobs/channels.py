"""Where notifications go: the networks' channels (each network's spec offers its own: a
DM, a mention, a page post, "announce my flattrs"; bots/channels.py), e-mail over SMTP, and
a log. Nothing here names a network: a new network adds its channels from its folder.

Each channel says whether it can reach a recipient and sends one rendered message; the
social channels go through the bots' adapters (the same code that polls), never a mock.
"""

from __future__ import annotations

import smtplib
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from bots import registry
from bots.base import DeliveryResult, SocialNetwork
from bots.channels import CHOSEN_KINDS, Channel, Message, Reach, Recipient
from runtime import logs
from runtime.app import App

__all__ = ["Channel", "EmailChannel", "LogChannel", "Reach", "Recipient", "announce_channels",
           "build_channels", "choices", "invitation_channels"]

# The channels that are no network's, as the pages name them.
OWN = {"log": "Log (development)", "email": "E-mail"}


class Adapters(Protocol):
    """The worker's adapters (jobs.poll.Networks)."""

    def get(self, network: str) -> SocialNetwork: ...


@dataclass
class LogChannel:
    """Development and the demo: one log line per message, and a copy kept in memory."""

    name: str = "log"
    sent: list[dict] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reaches(self, recipient: Recipient) -> bool:
        return True

    def send(self, recipient: Recipient, message: Message) -> DeliveryResult:
        with self._lock:
            self.sent.append({"to": recipient.key, "subject": message.subject,
                              "text": message.text})
        logs.event("notify.log", to=recipient.key, subject=message.subject)
        return DeliveryResult(ok=True)


@dataclass
class EmailChannel:
    host: str | None
    port: int
    sender: str
    timeout: float = 10.0
    name: str = "email"

    def reaches(self, recipient: Recipient) -> bool:
        return bool(self.host and recipient.email)

    def send(self, recipient: Recipient, message: Message) -> DeliveryResult:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, recipient.email, message.subject
        mail.set_content(message.text)
        mail["Content-Language"] = recipient.language  # after: set_content drops Content-*
        try:
            with smtplib.SMTP(self.host or "", self.port, timeout=self.timeout) as smtp:
                smtp.send_message(mail)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            return DeliveryResult(ok=False, retryable=False, error=f"smtp refused: {exc}"[:300])
        except smtplib.SMTPResponseException as exc:
            return DeliveryResult(ok=False, retryable=exc.smtp_code < 500,
                                  error=f"smtp {exc.smtp_code}")
        except (OSError, smtplib.SMTPException) as exc:
            return DeliveryResult(ok=False, retryable=True, error=f"smtp: {type(exc).__name__}")
        return DeliveryResult(ok=True)


def build_channels(app: App, networks: Adapters, log_channel: LogChannel | None = None
                   ) -> list[Channel]:
    """The log, e-mail, then every registered network's channels (registration order)."""
    s = app.settings
    found: list[Channel] = [
        log_channel or LogChannel(),
        EmailChannel(s.smtp_host, s.smtp_port, s.smtp_sender, timeout=s.http_timeout_seconds),
    ]
    for spec in registry.all_networks():
        found += [offer.build(s, networks.get(spec.name)) for offer in spec.channels]
    return found


def _offers(kinds: tuple[str, ...] | None = None, *, invitations: bool = False
            ) -> list[tuple[str, str]]:
    return [(offer.name, offer.label) for spec in registry.all_networks()
            for offer in spec.channels
            if (kinds is None or offer.kind in kinds) and (offer.invitations or not invitations)]


def choices() -> dict[str, str]:
    """What a person may choose on their page: name -> label."""
    return {**OWN, **dict(_offers(CHOSEN_KINDS))}


def announce_channels() -> tuple[str, ...]:
    """"Announce my flattrs": from the person's own account, the first of these that
    reaches them."""
    return tuple(name for name, _ in _offers(("announce",)))


def invitation_channels() -> tuple[str, ...]:
    """The channels a claim invitation to a creator who has not joined may take."""
    return tuple(name for name, _ in _offers(invitations=True))
