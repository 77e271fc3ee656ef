"""X, as the registry knows it (bots/networks.py registers it)."""

from __future__ import annotations

from typing import cast

from bots.base import SocialNetwork
from bots.registry import (
    AdapterContext,
    LinkFlow,
    NetworkSpec,
    ParseRequest,
    SandboxHandler,
    Trigger,
    Webhook,
)
from bots.shared import SharedReader
from bots.x import NETWORK, USER_KIND, oauth, sandbox, webhook
from bots.x.adapter import XNetwork
from bots.x.channels import CHANNELS
from bots.x.parse import check_page, parse_liked_tweets, parse_users_tweets
from bots.x.search import XSearch, parse_requests
from config import Settings
from core.activity import Activity
from core.identity import Scheme

# X's developer policy forbids paying for likes and reposts: a deployment switches them on
# only where that is allowed. An explicit #flattr request (a reply or quote) always counts.
TRIGGERS = (
    Trigger("likes", frozenset({"like"})),
    Trigger("reposts", frozenset({"repost", "quote"})),
    Trigger("explicit", frozenset({"explicit"}), default=True, always_on=True),
)


def search_token(settings: Settings) -> str | None:
    """The bearer token the search and mentions run with (the app's; else the service
    account's), or None: then explicit requests are found by reading timelines."""
    if settings.x_find_requests != "search":
        return None
    return settings.x_app_bearer_token or settings.x_service_token or None


def adapter(context: AdapterContext) -> SocialNetwork:
    settings = context.settings
    shared = cast(XNetwork, context.shared) if context.shared is not None else None
    return XNetwork(triggers=context.triggers, service_handle=settings.x_service_handle,
                    service_user_id=settings.x_service_user_id,
                    api_base_url=context.api_base_url, timeout=settings.http_timeout_seconds,
                    session=shared.session if shared is not None else None,
                    find_requests="search" if search_token(settings) else "timelines")


def shared_reader(context: AdapterContext) -> SharedReader | None:
    settings = context.settings
    token = search_token(settings)
    if token is None:
        return None
    shared = cast(XNetwork, context.shared) if context.shared is not None else None
    return XSearch(bearer_token=token, service_handle=settings.x_service_handle,
                   service_user_id=settings.x_service_user_id,
                   api_base_url=context.api_base_url, timeout=settings.http_timeout_seconds,
                   session=shared.session if shared is not None else None,
                   query_limit=settings.x_search_query_limit)


def _liked_tweets(request: ParseRequest) -> list[Activity]:
    found = (parse_liked_tweets(request.body, request.actor, request.now,
                                service_handle=request.handle)
             if "likes" in request.triggers else [])
    check_page(request.body)  # a body that is not a page is an error, even unread
    return found


def _requests(request: ParseRequest) -> list[Activity]:
    return parse_requests(request.body, request.now, request.handle)


def _users_tweets(request: ParseRequest) -> list[Activity]:
    return parse_users_tweets(request.body, request.actor, request.now, request.triggers,
                              request.handle)


SPEC = NetworkSpec(
    name=NETWORK,
    display_name="X",
    schemes=(Scheme("twitter:", NETWORK, USER_KIND, r"[0-9]{1,25}", account=True),),
    triggers=TRIGGERS,
    triggers_setting="x_triggers",
    adapter=adapter,
    parsers={"liked_tweets": _liked_tweets, "users_tweets": _users_tweets,
             "search_recent": _requests, "users_mentions": _requests},
    link=LinkFlow(authorize=oauth.authorize, complete=oauth.complete, refresh=oauth.refresh),
    sandbox=SandboxHandler(owns=sandbox.owns, route=sandbox.route, fault=sandbox.fault,
                           pushes=sandbox.pushes),
    webhook=Webhook(handshake=webhook.handshake, rejects=webhook.rejects,
                    accounts=webhook.accounts, revoked=webhook.revoked),
    handle_prefix="@",
    shared_reader=shared_reader,
    read_cap=lambda settings: settings.x_monthly_read_cap,
    channels=CHANNELS,
)
