"""Where notifications go: X reply/mention and DM, a post on the service's Facebook Page, a
Mastodon direct message from the service's account, a post from the person's own X or
Mastodon account ("announce my flattrs"), e-mail over SMTP, and a log.

Each channel says whether it can reach a recipient and sends one rendered message; the
social channels go through the bots' adapters (the same code that polls), never a mock.
"""

from __future__ import annotations

import smtplib
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from bots import facebook, mastodon, x
from bots.base import DeliveryResult, LinkedAccount, OutgoingMessage, SocialNetwork
from jobs.templates import Rendered
from runtime import logs


@dataclass(frozen=True)
class Recipient:
    key: str  # person:<id> or an identity (core.identity)
    name: str
    email: str | None = None
    x_user_id: str | None = None
    x_handle: str | None = None
    x_own_token: str | None = None  # the person's own token: only for announcements
    mastodon_account: str | None = None  # <host>:<id>, linked or claimed
    mastodon_handle: str | None = None  # user@host, when known
    mastodon_own_token: str | None = None  # only for announcements


class Channel(Protocol):
    name: str

    def reaches(self, recipient: Recipient) -> bool: ...

    def send(self, recipient: Recipient, message: Rendered) -> DeliveryResult: ...


@dataclass
class LogChannel:
    """Development and the demo: one log line per message, and a copy kept in memory."""

    name: str = "log"
    sent: list[dict] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reaches(self, recipient: Recipient) -> bool:
        return True

    def send(self, recipient: Recipient, message: Rendered) -> DeliveryResult:
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

    def send(self, recipient: Recipient, message: Rendered) -> DeliveryResult:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, recipient.email, message.subject
        mail.set_content(message.text)
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


@dataclass
class XDirectMessage:
    """A DM from the service's account to a recipient who chose DMs."""

    network: SocialNetwork
    service: LinkedAccount | None
    name: str = "x_dm"

    def reaches(self, recipient: Recipient) -> bool:
        return bool(self.service and recipient.x_user_id)

    def send(self, recipient: Recipient, message: Rendered) -> DeliveryResult:
        assert self.service is not None and recipient.x_user_id is not None
        return self.network.post(OutgoingMessage("x_dm", recipient.x_user_id, message.text),
                                 self.service)


@dataclass
class XMention:
    """A public post from the service's account mentioning a recipient who chose it."""

    network: SocialNetwork
    service: LinkedAccount | None
    name: str = "x_mention"

    def reaches(self, recipient: Recipient) -> bool:
        return bool(self.service and recipient.x_handle)

    def send(self, recipient: Recipient, message: Rendered) -> DeliveryResult:
        assert self.service is not None
        text = f"@{recipient.x_handle} {message.short}"[:280]
        return self.network.post(OutgoingMessage("x_mention", recipient.x_user_id or "", text),
                                 self.service)


@dataclass
class FacebookPagePost:
    """A post on the service's own Page (where the deployment configured one)."""

    network: SocialNetwork
    page_id: str | None
    page_token: str | None
    name: str = "facebook_page"

    def reaches(self, recipient: Recipient) -> bool:
        return bool(self.page_id and self.page_token)

    def send(self, recipient: Recipient, message: Rendered) -> DeliveryResult:
        assert self.page_id is not None and self.page_token is not None
        sender = LinkedAccount(facebook.NETWORK, self.page_id, self.page_token)
        return self.network.post(
            OutgoingMessage("facebook_page_post", self.page_id, message.short), sender)


@dataclass
class XAnnounce:
    """"Announce my flattrs": a post from the person's own X account."""

    network: SocialNetwork
    name: str = "announce"

    def reaches(self, recipient: Recipient) -> bool:
        return bool(recipient.x_own_token and recipient.x_user_id)

    def send(self, recipient: Recipient, message: Rendered) -> DeliveryResult:
        assert recipient.x_own_token is not None and recipient.x_user_id is not None
        sender = LinkedAccount(x.NETWORK, recipient.x_user_id, recipient.x_own_token,
                               recipient.x_handle)
        return self.network.post(OutgoingMessage("x_mention", recipient.x_user_id, message.short),
                                 sender)


@dataclass
class MastodonDirectMessage:
    """A direct message (a `direct` status mentioning them) from the service's Mastodon
    account to a creator who chose it; a claimed account's handle is asked of its home
    instance when it is not known."""

    network: SocialNetwork
    service: LinkedAccount | None
    name: str = "mastodon_dm"

    def reaches(self, recipient: Recipient) -> bool:
        return bool(self.service and (recipient.mastodon_handle or recipient.mastodon_account))

    def send(self, recipient: Recipient, message: Rendered) -> DeliveryResult:
        assert self.service is not None
        handle = recipient.mastodon_handle
        if handle is None and recipient.mastodon_account is not None:
            handle_of = getattr(self.network, "handle_of", None)
            handle = handle_of(recipient.mastodon_account) if handle_of else None
        if handle is None:
            return DeliveryResult(ok=False, retryable=True,
                                  error="mastodon: the recipient's handle is not known yet")
        return self.network.post(OutgoingMessage("mastodon_dm", handle, message.short),
                                 self.service)


@dataclass
class MastodonAnnounce:
    """"Announce my flattrs": a public post from the person's own Mastodon account."""

    network: SocialNetwork
    name: str = "announce_mastodon"

    def reaches(self, recipient: Recipient) -> bool:
        return bool(recipient.mastodon_own_token and recipient.mastodon_account)

    def send(self, recipient: Recipient, message: Rendered) -> DeliveryResult:
        assert recipient.mastodon_own_token is not None
        assert recipient.mastodon_account is not None
        sender = LinkedAccount(mastodon.NETWORK, recipient.mastodon_account,
                               recipient.mastodon_own_token, recipient.mastodon_handle)
        return self.network.post(OutgoingMessage("mastodon_post", recipient.mastodon_account,
                                                 message.short), sender)
