"""Bluesky, as the registry knows it (bots/networks.py registers it)."""

from __future__ import annotations

from datetime import timedelta

import requests

from bots.base import MalformedResponse, SocialNetwork, StreamSource
from bots.bluesky import NETWORK, USER_KIND, link, parse, sandbox
from bots.bluesky.adapter import BlueskyNetwork
from bots.bluesky.budget import RequestBudget
from bots.bluesky.consumer import Jetstream, Limits
from bots.bluesky.did import PdsDirectory
from bots.bluesky.xrpc import Xrpc
from bots.registry import (
    AdapterContext,
    LinkFlow,
    NetworkSpec,
    ParseRequest,
    SandboxHandler,
    Trigger,
)
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


def stream(context: AdapterContext) -> StreamSource:
    """The Jetstream consumer: the sandbox's (its address from /_sandbox/services) when the
    networks are emulated, else the configured one."""
    settings = context.settings
    jetstream_url, appview, pds = (settings.bluesky_jetstream_url, settings.bluesky_appview_url,
                                   settings.bluesky_pds_url)
    plc, did_web = settings.bluesky_plc_url, None
    if context.api_base_url:
        appview = pds = context.api_base_url
        services = requests.get(f"{context.api_base_url}/_sandbox/services",
                                timeout=settings.http_timeout_seconds).json()["services"]
        jetstream_url = services["bluesky.jetstream"]
        plc, did_web = services["bluesky.plc"], services["bluesky.did_web"]
    directory = PdsDirectory(plc, did_web_base=did_web, timeout=settings.http_timeout_seconds)
    budget = RequestBudget(settings.bluesky_requests_per_5min)
    xrpc = Xrpc(appview, pds, timeout=settings.http_timeout_seconds, directory=directory,
                budget=budget)
    return Jetstream(jetstream_url, xrpc,
                     service_did=settings.bluesky_service_did,
                     service_handle=settings.bluesky_service_handle,
                     shard_size=settings.bluesky_dids_per_connection,
                     replay=timedelta(hours=settings.bluesky_replay_hours),
                     limits=Limits(batch_size=settings.bluesky_batch_size,
                                   max_wait=settings.bluesky_batch_wait_seconds))


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
    link=LinkFlow(authorize=link.authorize, complete=link.complete, form=link.FIELDS,
                  verify=link.verify),
    sandbox=SandboxHandler(owns=sandbox.owns, route=sandbox.route, fault=sandbox.fault,
                           serve=sandbox.serve),
    handle_prefix="@",
    stream=stream,
)
