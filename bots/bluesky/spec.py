"""Bluesky, as the registry knows it (bots/networks.py registers it)."""

from __future__ import annotations

from bots.base import MalformedResponse, SocialNetwork
from bots.bluesky import NETWORK, USER_KIND, parse, sandbox
from bots.bluesky.adapter import BlueskyNetwork
from bots.registry import AdapterContext, NetworkSpec, ParseRequest, SandboxHandler, Trigger
from core.activity import Activity
from core.identity import Scheme

# Likes and reposts are public records, and no rule we found forbids acting on them: both
# are on by default. An explicit #flattr reply or quote always counts.
TRIGGERS = (
    Trigger("likes", frozenset({"like"}), default=True),
    Trigger("reposts", frozenset({"repost"}), default=True),
    Trigger("explicit", frozenset({"explicit"}), default=True, always_on=True),
)
SCHEME = Scheme("bluesky:", NETWORK, USER_KIND, parse.DID_PATTERN, account=True)


def adapter(context: AdapterContext) -> SocialNetwork:
    return BlueskyNetwork()


def _jetstream(request: ParseRequest) -> list[Activity]:
    """JSON lines of Jetstream v1 events (a list once read). Withdrawals are not
    activities: they are left out here."""
    if not isinstance(request.body, list):
        raise MalformedResponse("a Jetstream recording is JSON lines of events")
    events = [parse.parse_event(e, service_handle=request.handle) for e in request.body]
    return [parse.activity(e.intent) for e in events if e.intent is not None]


def _list_records(request: ParseRequest) -> list[Activity]:
    intents, _ = parse.parse_list_records(request.body, now=request.now,
                                          service_handle=request.handle)
    return [parse.activity(i) for i in intents]


SPEC = NetworkSpec(
    name=NETWORK,
    display_name="Bluesky",
    schemes=(SCHEME,),
    triggers=TRIGGERS,
    triggers_setting="bluesky_triggers",
    adapter=adapter,
    parsers={"jetstream": _jetstream, "listRecords": _list_records},
    json_lines=frozenset({"jetstream"}),
    sandbox=SandboxHandler(owns=sandbox.owns, route=sandbox.route, fault=sandbox.fault,
                           serve=sandbox.serve),
    handle_prefix="@",
)
