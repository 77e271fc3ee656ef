"""Notification channels a network offers (its spec's `channels`), in the network's own
terms: a recipient as each network knows them, and what a channel does with a message.
The notify job (jobs/notify.py) builds the recipient and picks the channel; the channels
send through the network's adapter (the same code that polls), never a mock.

Kinds: `dm` (a direct message from the service's account), `mention` (a public post from
the service's account naming the recipient), `page_post` (a post on the service's own
page), `announce` ("announce my flattrs": a post from the person's own account). A person
chooses among the `dm` and `mention` channels (their `label` is what the pages show);
`announce` channels carry the day's announcements, the first that reaches the person; a
channel with `invitations` may carry a claim invitation to a creator who has not joined.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from bots.base import DeliveryResult, SocialNetwork
from config import Settings

KINDS = ("dm", "mention", "page_post", "announce")
CHOSEN_KINDS = ("dm", "mention")  # what a person picks on their page


class Message(Protocol):
    """A rendered notification (jobs.templates.Rendered)."""

    @property
    def subject(self) -> str: ...

    @property
    def text(self) -> str: ...  # the full message (e-mail, DM, log)

    @property
    def short(self) -> str: ...  # one post-sized line (mentions, page posts)


@dataclass(frozen=True)
class Reach:
    """The recipient on one network: their account id there (linked, else claimed), their
    handle when known, and their own token (only for announcements, only while active)."""

    user_id: str
    handle: str | None = None
    own_token: str | None = None


@dataclass(frozen=True)
class Recipient:
    key: str  # person:<id> or an identity (core.identity)
    name: str
    email: str | None = None
    on: Mapping[str, Reach] = field(default_factory=dict)  # network name -> Reach
    # The language messages are written in: a person's setting; English for an identity
    # who has not joined (we know nothing of them).
    language: str = "en"

    def at(self, network: str) -> Reach | None:
        return self.on.get(network)


class Channel(Protocol):
    name: str

    def reaches(self, recipient: Recipient) -> bool: ...

    def send(self, recipient: Recipient, message: Message) -> DeliveryResult: ...


@dataclass(frozen=True)
class ChannelOffer:
    """One channel of a network: `name` is what people.notify_channels stores and what the
    notify counts are keyed by; `build(settings, adapter)` makes it (the adapter is the
    worker's, with the deployment's triggers)."""

    name: str
    kind: str
    label: str
    build: Callable[[Settings, SocialNetwork], Channel]
    invitations: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"channel {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
