"""Mastodon's notification channels (bots/channels.py): a direct message from the service's
account, and "announce my flattrs" from the person's own account."""

from __future__ import annotations

from dataclasses import dataclass

from bots.base import DeliveryResult, LinkedAccount, OutgoingMessage, SocialNetwork
from bots.channels import Message, Reach, Recipient
from bots.mastodon import NETWORK


def full_handle(reach: Reach) -> str | None:
    """user@host: a handle the instance gave without its host gets the account's."""
    if not reach.handle:
        return None
    if "@" in reach.handle:
        return reach.handle
    return f"{reach.handle}@{reach.user_id.rpartition(':')[0]}"


@dataclass
class MastodonDirectMessage:
    """A direct message (a `direct` status mentioning them) from the service's Mastodon
    account to a creator who chose it; a claimed account's handle is asked of its home
    instance when it is not known."""

    network: SocialNetwork
    service: LinkedAccount | None
    name: str = "mastodon_dm"

    def reaches(self, recipient: Recipient) -> bool:
        return bool(self.service and recipient.at(NETWORK))

    def send(self, recipient: Recipient, message: Message) -> DeliveryResult:
        on_mastodon = recipient.at(NETWORK)
        assert self.service is not None and on_mastodon is not None
        handle = full_handle(on_mastodon)
        if handle is None:
            handle_of = getattr(self.network, "handle_of", None)
            handle = handle_of(on_mastodon.user_id) if handle_of else None
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
        on_mastodon = recipient.at(NETWORK)
        return bool(on_mastodon and on_mastodon.own_token)

    def send(self, recipient: Recipient, message: Message) -> DeliveryResult:
        on_mastodon = recipient.at(NETWORK)
        assert on_mastodon is not None and on_mastodon.own_token is not None
        sender = LinkedAccount(NETWORK, on_mastodon.user_id, on_mastodon.own_token,
                               full_handle(on_mastodon))
        return self.network.post(OutgoingMessage("mastodon_post", on_mastodon.user_id,
                                                 message.short), sender)
