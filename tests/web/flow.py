"""Steps shared by the flow tests and the browser test: the worker's poll (jobs/poll.py),
a signed webhook as a network would send it, and the month's settlement."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask.testing import FlaskClient

from bots.facebook.webhook import hub_signature
from bots.x.webhook import x_signature
from core.settlement import settle
from jobs.poll import Networks, Poller, PollStats
from runtime.app import App


def poll(app: App) -> PollStats:
    """One round of the real poll job against the sandbox."""
    poller = Poller(app, Networks(app, app.settings.sandbox_url), "web-test", concurrency=2,
                    ordered=True)
    try:
        return poller.run_once()
    finally:
        poller.close()


def push_webhooks(client: FlaskClient, app: App, x_user: str, facebook_user: str) -> None:
    """What X and Facebook send when the person likes something: both signed."""
    x_body = json.dumps({"for_user_id": x_user, "favorite_events": [{"id": "1"}]}).encode()
    fb_body = json.dumps({"object": "user", "entry": [
        {"uid": facebook_user, "id": facebook_user, "changed_fields": ["likes"]}]}).encode()
    assert client.post("/webhooks/x", data=x_body, headers={
        "x-twitter-webhooks-signature": x_signature(app.settings.x_client_secret, x_body),
    }).status_code == 200
    assert client.post("/webhooks/facebook", data=fb_body, headers={
        "X-Hub-Signature-256": hub_signature(app.settings.facebook_app_secret, fb_body),
    }).status_code == 200


def close_october(app: App) -> None:
    result = settle(app.db, app.rules, "2026-10", now=datetime(2026, 11, 1, 0, 5, tzinfo=UTC))
    assert result.status == "settled"
