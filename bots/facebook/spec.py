"""Facebook, as the registry knows it (bots/networks.py registers it)."""

from __future__ import annotations

from typing import cast

from bots.base import SocialNetwork
from bots.facebook import NETWORK, PAGE_KIND, USER_KIND, oauth, sandbox, webhook
from bots.facebook.adapter import FacebookNetwork
from bots.facebook.channels import CHANNELS
from bots.facebook.parse import parse_likes, parse_posts
from bots.registry import (
    AdapterContext,
    LinkFlow,
    NetworkSpec,
    ParseRequest,
    SandboxHandler,
    Trigger,
    Webhook,
)
from core.activity import Activity
from core.identity import Scheme

TRIGGERS = (
    Trigger("page_likes", frozenset({"page_like"}), default=True),
    Trigger("shared_links", frozenset({"share"}), default=True),
)


def adapter(context: AdapterContext) -> SocialNetwork:
    settings = context.settings
    shared = cast(FacebookNetwork, context.shared) if context.shared is not None else None
    return FacebookNetwork(triggers=context.triggers, graph_version=settings.facebook_graph_version,
                           api_base_url=context.api_base_url,
                           timeout=settings.http_timeout_seconds,
                           session=shared.session if shared is not None else None)


def _likes(request: ParseRequest) -> list[Activity]:
    return parse_likes(request.body, request.actor, request.now)


def _posts(request: ParseRequest) -> list[Activity]:
    return parse_posts(request.body, request.actor, request.now)


SPEC = NetworkSpec(
    name=NETWORK,
    display_name="Facebook",
    schemes=(Scheme("facebook:page:", NETWORK, PAGE_KIND, r"[0-9]{1,25}"),
             Scheme("facebook:user:", NETWORK, USER_KIND, r"[0-9]{1,25}", account=True)),
    triggers=TRIGGERS,
    triggers_setting="facebook_triggers",
    adapter=adapter,
    parsers={"likes": _likes, "posts": _posts},
    link=LinkFlow(authorize=oauth.authorize, complete=oauth.complete, managed=oauth.managed,
                  managed_noun="Page"),
    sandbox=SandboxHandler(owns=sandbox.owns, route=sandbox.route, fault=sandbox.fault,
                           pushes=sandbox.pushes),
    webhook=Webhook(handshake=webhook.handshake, rejects=webhook.rejects,
                    accounts=webhook.accounts, signed_user=webhook.signed_user,
                    confirmation=webhook.confirmation, verify_token=webhook.verify_token),
    channels=CHANNELS,
)
