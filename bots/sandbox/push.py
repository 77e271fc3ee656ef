"""The sandbox's networks telling the service what happened, as the real ones do: each
registered network whose sandbox handler has `pushes` POSTs its signed webhook events,
for what its subscribed users did since the last call, to `/webhooks/<network>` of the
service. The living sandbox calls `push()` every second; the web app wakes the accounts
(the same route and checks as for X's and Facebook's own pushes)."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime

from bots import registry
from bots.sandbox.world import World
from config import Settings
from core.logs import event


class WebhookPusher:
    def __init__(self, world: World, settings: Settings, service_url: str,
                 timeout: float = 5.0) -> None:
        self.world, self.settings, self.timeout = world, settings, timeout
        self.service_url = service_url.rstrip("/")
        self.since: datetime = world.current_time()

    def push(self) -> int:
        """Send what happened since the last push; returns how many events were sent."""
        until = self.world.current_time()
        since, self.since = self.since, until
        if until <= since:
            return 0
        sent = 0
        for spec in registry.all_networks():
            handler = spec.sandbox
            if handler is None or handler.pushes is None:
                continue
            for body, headers in handler.pushes(self.world, self.settings, since, until):
                sent += self._post(f"{self.service_url}/webhooks/{spec.name}", body, headers)
        return sent

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                answer.read()
            return 1
        except (urllib.error.URLError, OSError) as exc:
            event("sandbox.push_failed", url=url, error=str(exc)[:200])
            return 0
