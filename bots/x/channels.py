"""X's notification channels (bots/channels.py): a DM or a mention from the service's
account, and "announce my flattrs" from the person's own account."""

from __future__ import annotations

from dataclasses import dataclass

from bots.base import DeliveryResult, LinkedAccount, OutgoingMessage, SocialNetwork
from bots.channels import ChannelOffer, Message, Recipient
from bots.x import NETWORK
from config import Settings


def service_account(settings: Settings) -> LinkedAccount | None:
    """The service's own X account, where the deployment configured its token."""
    if not settings.x_service_token:
        return None
    return LinkedAccount(NETWORK, settings.x_service_user_id or "", settings.x_service_token,
                         settings.x_service_handle)


@dataclass
class XDirectMessage:
    """A DM from the service's account to a recipient who chose DMs."""

    network: SocialNetwork
    service: LinkedAccount | None
    name: str = "x_dm"

    def reaches(self, recipient: Recipient) -> bool:
        return bool(self.service and recipient.at(NETWORK))

    def send(self, recipient: Recipient, message: Message) -> DeliveryResult:
        on_x = recipient.at(NETWORK)
        assert self.service is not None and on_x is not None
        return self.network.post(OutgoingMessage("x_dm", on_x.user_id, message.text),
                                 self.service)


@dataclass
class XMention:
    """A public post from the service's account mentioning a recipient who chose it."""

    network: SocialNetwork
    service: LinkedAccount | None
    name: str = "x_mention"

    def reaches(self, recipient: Recipient) -> bool:
        on_x = recipient.at(NETWORK)
        return bool(self.service and on_x and on_x.handle)

    def send(self, recipient: Recipient, message: Message) -> DeliveryResult:
        on_x = recipient.at(NETWORK)
        assert self.service is not None and on_x is not None
        text = f"@{on_x.handle} {message.short}"[:280]
        return self.network.post(OutgoingMessage("x_mention", on_x.user_id, text), self.service)


@dataclass
class XAnnounce:
    """"Announce my flattrs": a post from the person's own X account."""

    network: SocialNetwork
    name: str = "announce"

    def reaches(self, recipient: Recipient) -> bool:
        on_x = recipient.at(NETWORK)
        return bool(on_x and on_x.own_token)

    def send(self, recipient: Recipient, message: Message) -> DeliveryResult:
        on_x = recipient.at(NETWORK)
        assert on_x is not None and on_x.own_token is not None
        sender = LinkedAccount(NETWORK, on_x.user_id, on_x.own_token, on_x.handle)
        return self.network.post(OutgoingMessage("x_mention", on_x.user_id, message.short),
                                 sender)


CHANNELS = (
    ChannelOffer("x_dm", "dm", "X direct message",
                 lambda settings, network: XDirectMessage(network, service_account(settings)),
                 invitations=True),
    ChannelOffer("x_mention", "mention", "X mention",
                 lambda settings, network: XMention(network, service_account(settings))),
    ChannelOffer("announce", "announce", "Announce my flattrs on X",
                 lambda settings, network: XAnnounce(network)),
)
