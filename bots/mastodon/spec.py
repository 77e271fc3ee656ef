"""Mastodon, as the registry knows it (bots/networks.py registers it)."""

from __future__ import annotations

from typing import cast

from bots.base import BadParseArgument, LinkedAccount, SocialNetwork
from bots.channels import ChannelOffer
from bots.mastodon import ACCOUNT_KIND, ACCOUNT_PATTERN, NETWORK, account_key, oauth, sandbox
from bots.mastodon.adapter import MastodonNetwork
from bots.mastodon.channels import MastodonAnnounce, MastodonDirectMessage
from bots.mastodon.parse import Viewer, parse_favourites, parse_statuses
from bots.registry import (
    AdapterContext,
    InstanceStep,
    LinkFlow,
    NetworkSpec,
    ParseRequest,
    SandboxHandler,
    Trigger,
)
from config import Settings
from core.activity import Activity
from core.identity import Scheme

# An open network: a person reads their own favourites through the API, and the instance
# rules allow it, so favourites and boosts flattr by default. A #flattr reply always does.
TRIGGERS = (
    Trigger("favourites", frozenset({"favourite"}), default=True),
    Trigger("boosts", frozenset({"boost"}), default=True),
    Trigger("explicit", frozenset({"explicit"}), default=True, always_on=True),
)


def adapter(context: AdapterContext) -> SocialNetwork:
    settings = context.settings
    shared = cast(MastodonNetwork, context.shared) if context.shared is not None else None
    return MastodonNetwork(triggers=context.triggers, api_base_url=context.api_base_url,
                           timeout=settings.mastodon_timeout_seconds,
                           service=service_key(settings),
                           service_acct=settings.mastodon_service_account, shared=shared)


def service_key(settings: Settings) -> str | None:
    """The service's own account as `host:id`, when the deployment has one."""
    acct, user_id = settings.mastodon_service_account, settings.mastodon_service_user_id
    host = (acct or "").rpartition("@")[2].lower()
    if not host or not user_id:
        return None
    try:
        return account_key(host, user_id)
    except ValueError:
        return None


def service_account(settings: Settings) -> LinkedAccount | None:
    """The service's own Mastodon account (direct messages to creators who chose them)."""
    key = service_key(settings)
    if key is None or not settings.mastodon_service_token:
        return None
    return LinkedAccount(NETWORK, key, settings.mastodon_service_token,
                         settings.mastodon_service_account)


CHANNELS = (
    ChannelOffer("mastodon_dm", "dm", "Mastodon direct message",
                 lambda settings, network: MastodonDirectMessage(network,
                                                                 service_account(settings))),
    ChannelOffer("announce_mastodon", "announce", "Announce my flattrs on Mastodon",
                 lambda settings, network: MastodonAnnounce(network)),
)


def _viewer(request: ParseRequest) -> Viewer:
    try:
        return Viewer.of(request.actor, service_acct=request.handle)
    except ValueError:
        raise BadParseArgument(
            f"--actor must be the account as HOST:ID (its instance and its id there), "
            f"not {request.actor!r}") from None


def _favourites(request: ParseRequest) -> list[Activity]:
    return parse_favourites(request.body, _viewer(request), request.now)


def _statuses(request: ParseRequest) -> list[Activity]:
    return parse_statuses(request.body, _viewer(request), request.now, request.triggers)


SPEC = NetworkSpec(
    name=NETWORK,
    display_name="Mastodon",
    schemes=(Scheme("mastodon:", NETWORK, ACCOUNT_KIND, ACCOUNT_PATTERN, account=True),),
    triggers=TRIGGERS,
    triggers_setting="mastodon_triggers",
    adapter=adapter,
    parsers={"favourites": _favourites, "statuses": _statuses},
    link=LinkFlow(authorize=oauth.needs_instance, complete=oauth.needs_instance,
                  instance=InstanceStep(parse=oauth.parse_instance, register=oauth.register,
                                        authorize=oauth.authorize, complete=oauth.complete)),
    sandbox=SandboxHandler(owns=sandbox.owns, route=sandbox.route, fault=sandbox.fault),
    handle_prefix="@",
    channels=CHANNELS,
)
