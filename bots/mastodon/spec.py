"""Mastodon, as the registry knows it (bots/networks.py registers it)."""

from __future__ import annotations

from bots.base import MalformedResponse
from bots.mastodon import ACCOUNT_KIND, ACCOUNT_PATTERN, NETWORK
from bots.mastodon.parse import Viewer, parse_favourites, parse_statuses
from bots.registry import NetworkSpec, ParseRequest, Trigger
from core.activity import Activity
from core.identity import Scheme

# An open network: a person reads their own favourites through the API, and the instance
# rules allow it, so favourites and boosts flattr by default. A #flattr reply always does.
TRIGGERS = (
    Trigger("favourites", frozenset({"favourite"}), default=True),
    Trigger("boosts", frozenset({"boost"}), default=True),
    Trigger("explicit", frozenset({"explicit"}), default=True, always_on=True),
)


def _viewer(request: ParseRequest) -> Viewer:
    try:
        return Viewer.of(request.actor, service_acct=request.handle)
    except ValueError:
        raise MalformedResponse(
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
    adapter=lambda context: _adapter(context),
    parsers={"favourites": _favourites, "statuses": _statuses},
    handle_prefix="@",
)


def _adapter(context):  # type: ignore[no-untyped-def]
    raise NotImplementedError("the Mastodon adapter comes with the next commit")
