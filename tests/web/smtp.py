"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, and the web
settings that send account mail to it."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from config import Settings
from tests.web.conftest import SESSION_SECRET, TOKEN_KEY


class Inbox:
    """handle_DATA keeps every message; `wait` reads one for an address."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for rcpt, m in self.messages if address in rcpt]

    def wait(self, address: str, *, count: int = 1, timeout: float = 10.0) -> EmailMessage:
        """The `count`-th message to `address` (mail leaves after the response, on a thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.02)
        raise AssertionError(f"no message #{count} to {address} within {timeout} s")


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def link(message: EmailMessage) -> str:
    match = re.search(r"https?://\S+", body(message))
    assert match, body(message)
    return match.group(0)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    controller_module = pytest.importorskip("aiosmtpd.controller")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = controller_module.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def inbox(smtp: tuple[Inbox, int]) -> Inbox:
    return smtp[0]


@pytest.fixture
def settings(database_url: str, sandbox: Any, smtp: tuple[Inbox, int]) -> Settings:
    """The web tests' settings, with account mail going to the local SMTP server."""
    return Settings(database_url=database_url, token_keys=TOKEN_KEY,
                    session_secret=SESSION_SECRET, sandbox_url=sandbox.base_url,
                    x_triggers="likes,reposts,explicit", smtp_host="127.0.0.1",
                    smtp_port=smtp[1], smtp_sender="flattr@test.example")
