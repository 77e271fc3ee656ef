"""Facebook's notification channel (bots/channels.py): a post on the service's own Page."""

from __future__ import annotations

from dataclasses import dataclass

from bots.base import DeliveryResult, LinkedAccount, OutgoingMessage, SocialNetwork
from bots.channels import ChannelOffer, Message, Recipient
from bots.facebook import NETWORK


@dataclass
class FacebookPagePost:
    """A post on the service's own Page (where the deployment configured one)."""

    network: SocialNetwork
    page_id: str | None
    page_token: str | None
    name: str = "facebook_page"

    def reaches(self, recipient: Recipient) -> bool:
        return bool(self.page_id and self.page_token)

    def send(self, recipient: Recipient, message: Message) -> DeliveryResult:
        assert self.page_id is not None and self.page_token is not None
        sender = LinkedAccount(NETWORK, self.page_id, self.page_token)
        return self.network.post(
            OutgoingMessage("facebook_page_post", self.page_id, message.short), sender)


CHANNELS = (
    ChannelOffer("facebook_page", "page_post", "A post on the service's Facebook Page",
                 lambda settings, network: FacebookPagePost(
                     network, settings.facebook_page_id, settings.facebook_page_token)),
)
