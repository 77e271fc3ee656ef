"""Bluesky behind the SocialNetwork Protocol. Likes and reposts are read live from Jetstream
by bots.bluesky.consumer (jobs/stream.py runs it), not polled: the poll job finds nothing
here and comes back a day later. The service posts nothing on Bluesky (the developer
guidelines count automated replies and mentions as spam)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bots.base import DeliveryResult, FetchResult, LinkedAccount, OutgoingMessage
from bots.bluesky import NETWORK

STREAMED_POLL_INTERVAL = timedelta(days=1)


class BlueskyNetwork:
    name = NETWORK

    def fetch_activity(self, account: LinkedAccount, cursor: dict | None,
                       now: datetime) -> FetchResult:
        return FetchResult([], cursor or {}, now + STREAMED_POLL_INTERVAL, "ok")

    def post(self, message: OutgoingMessage, sender: LinkedAccount) -> DeliveryResult:
        return DeliveryResult(ok=False, retryable=False,
                              error="the service never posts on Bluesky")
