"""E-mail to a person (a reset link, an address to confirm, a notice): one port, `Mailer`,
and its adapters, chosen once from the settings by `mailer_for`:

- `SmtpMailer`: smtplib to FLATTR_SMTP_HOST:FLATTR_SMTP_PORT, from FLATTR_SMTP_SENDER,
  with STARTTLS and a login when configured;
- `OutboxMailer`: no SMTP host, FLATTR_MAIL_OUTBOX set: one .eml file per message there;
- `LogMailer`: no SMTP host and no outbox (the default, so `flattr web` works with no mail
  server): one log line per message, with its text in sandbox mode (the demo's reset link
  is in the console), without it live.

Callers send after their database transaction has committed (web/mail.py queues until
then): a slow mail server never holds a lock, and a rolled-back request sends nothing.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from config import Settings
from runtime import logs


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


class MailFailed(Exception):
    """The message could not be handed over."""


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Hand the message over, or raise MailFailed."""


def compose(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, mail.to, mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    message.set_content(mail.text)
    return message


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    def send(self, mail: Mail) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(compose(mail, self.sender))
        except (OSError, smtplib.SMTPException) as exc:
            raise MailFailed(f"smtp: {type(exc).__name__}") from exc


@dataclass
class OutboxMailer:
    folder: Path
    sender: str
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, mail: Mail) -> None:
        message = compose(mail, self.sender)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self._lock:
                path = self.folder / f"{time.time_ns()}.eml"
                path.write_bytes(bytes(message))
        except OSError as exc:
            raise MailFailed(f"outbox: {type(exc).__name__}") from exc
        logs.event("mail.outbox", subject=mail.subject, file=str(path))


@dataclass(frozen=True)
class LogMailer:
    with_text: bool = False

    def send(self, mail: Mail) -> None:
        if self.with_text:
            logs.event("mail.logged", to=mail.to, subject=mail.subject, text=mail.text)
        else:
            logs.event("mail.not_sent", subject=mail.subject,
                       reason="no FLATTR_SMTP_HOST and no FLATTR_MAIL_OUTBOX")


def mailer_for(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings.smtp_host, settings.smtp_port, settings.smtp_sender,
                          starttls=settings.smtp_starttls, username=settings.smtp_username,
                          password=settings.smtp_password,
                          timeout=settings.http_timeout_seconds)
    if settings.mail_outbox is not None:
        return OutboxMailer(settings.mail_outbox, settings.smtp_sender)
    return LogMailer(with_text=settings.networks == "sandbox")
