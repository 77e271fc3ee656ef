"""The networks, each described once by a NetworkSpec, and the one registry that the worker,
the web app and the CLI read.

A new network is a folder under bots/ (adapter.py, parse.py, its linking flow, sandbox.py,
webhook.py as needed, and spec.py building its NetworkSpec) plus one line in
bots/networks.py. `register` also hands the network's identity schemes to core.identity and
its trigger vocabulary to config (neither may import bots), so nothing outside the
network's folder and this registry names a network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bots.base import SocialNetwork, StreamSource
from bots.channels import ChannelOffer
from bots.oauth import AccountInfo, Authorization, Managed, Tokens
from bots.shared import SharedReader
from config import (
    Settings,
    TriggerVocabulary,
    register_trigger_setting,
    unregister_trigger_settings,
)
from core import identity, triggers
from core.activity import Activity
from core.identity import Identity, Scheme

if TYPE_CHECKING:  # types only: the sandbox package imports this module
    from bots.sandbox.faults import Fault
    from bots.sandbox.replies import Reply
    from bots.sandbox.request import Request
    from bots.sandbox.server import SandboxServer
    from bots.sandbox.world import World


@dataclass(frozen=True)
class Trigger:
    """A kind of activity a deployment (and a person) may switch on: `actions` are the
    Activity.action values it lets through."""

    name: str
    actions: frozenset[str]
    default: bool = False  # on where the deployment does not say
    always_on: bool = False  # never switched off (X: an explicit #flattr request)


@dataclass(frozen=True)
class AdapterContext:
    settings: Settings
    api_base_url: str | None  # the sandbox's address in sandbox mode, else None
    # What this adapter's accounts flattr: the effective triggers (NetworkSpec.account_triggers,
    # the deployment's narrowed by the person's choice). The worker keeps one adapter per set
    # (jobs/poll.Networks) and the adapter reads only the streams they need.
    triggers: frozenset[str]
    shared: SocialNetwork | None = None  # an adapter of this network whose HTTP session to reuse


@dataclass(frozen=True)
class ParseRequest:
    """What `flattr bots parse` hands a parser: one raw response body and its context."""

    body: Any
    actor: str
    now: datetime
    triggers: frozenset[str]
    handle: str | None = None


@dataclass(frozen=True)
class FormField:
    """One field of a form-based linking flow (Bluesky: handle and app password)."""

    name: str
    label: str
    secret: bool = False  # a password field, never echoed back nor logged
    hint: str = ""


@dataclass(frozen=True)
class LinkFlow:
    """How the web app links an account: the authorize redirect, then the callback's code
    exchanged for tokens and the account's identity; optionally a token refresh (the
    worker's `refresh` job) and the other identities a claim proves."""

    authorize: Callable[[Settings, str, bool], Authorization]  # (settings, redirect, claim)
    complete: Callable[[Settings, str, str, str | None, datetime], tuple[Tokens, AccountInfo]]
    refresh: Callable[[Settings, str, datetime], Tokens] | None = None
    managed: Callable[[Settings, str], list[Managed]] | None = None
    managed_noun: str = "account"  # what `managed` lists, in messages ("Page")
    instance: InstanceStep | None = None  # a federated network: used instead of the above
    # A form instead of a redirect (no OAuth): the web app shows `form`, then `verify`
    # proves the account from what was typed (settings, fields, now).
    form: tuple[FormField, ...] = ()
    verify: Callable[[Settings, Mapping[str, str], datetime], tuple[Tokens, AccountInfo]] \
        | None = None


@dataclass(frozen=True)
class InstanceApp:
    """The service's app on one server of a federated network (Mastodon), registered there
    once and kept by the web app (the secret sealed like a token)."""

    host: str
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never show the secret, even in a traceback
        return f"InstanceApp(host={self.host!r}, client_id={self.client_id!r})"


@dataclass(frozen=True)
class InstanceStep:
    """A federated network's linking flow: the person names their server (`parse`: what
    they typed, a server or @user@server -> its host; a UserError when it is not one); the
    web app registers the service there once (`register`: (settings, host, redirect) ->
    InstanceApp) and keeps it; then `authorize` and `complete` as in LinkFlow, with the
    server's app."""

    parse: Callable[[str], str]
    register: Callable[[Settings, str, str], InstanceApp]
    authorize: Callable[[Settings, str, bool, InstanceApp], Authorization]
    complete: Callable[[Settings, str, str, str | None, datetime, InstanceApp],
                       tuple[Tokens, AccountInfo]]


@dataclass(frozen=True)
class SandboxHandler:
    """The network's part of the sandbox server (bots/sandbox/server.py dispatches to it)."""

    owns: Callable[[str], bool]  # is this path the network's (for fault shapes)?
    route: Callable[[World, Request], Reply | None]  # None: not one of its paths
    fault: Callable[[Fault, datetime], Reply | None]  # an injected failure, in its shape
    # What the network pushes to the service's webhook for what its subscribed users did
    # in (since, until]: signed (body, headers) pairs (the living sandbox sends them).
    pushes: Callable[[World, Settings, datetime, datetime],
                     list[tuple[bytes, dict[str, str]]]] | None = None
    # Servers of its own beside the HTTP one (Bluesky's Jetstream websocket): started with
    # the sandbox, each (name, url, stop); their addresses are at GET /_sandbox/services.
    serve: Callable[[SandboxServer], list[Service]] | None = None


@dataclass(frozen=True)
class Service:
    name: str
    url: str
    stop: Callable[[], None]


@dataclass(frozen=True)
class WebhookReply:
    status: int
    body: str
    content_type: str = "text/plain"


@dataclass(frozen=True)
class Webhook:
    """What the network pushes. Every function is pure: the web app owns the database.
    `handshake` answers the subscription check (GET); `rejects` says why a POST is not
    genuinely from the network (None: verified; header names come lower-cased);
    `accounts` are the user ids an event says changed in a way that can mean a flattr
    (polled soon; an event about anything else names nobody); `revoked` the user ids whose
    access an event says was revoked (X: the account needs reconnecting, the person is
    told). A signed request names the user who removed the app or asked for their data to
    be deleted, when the network has those callbacks (Facebook)."""

    handshake: Callable[[Settings, Mapping[str, str]], WebhookReply]
    rejects: Callable[[Settings, bytes, Mapping[str, str]], str | None]
    accounts: Callable[[Any], list[str]]
    signed_user: Callable[[Settings, str], str | None] | None = None
    confirmation: Callable[[Settings, str], str] | None = None  # a data deletion's code
    verify_token: Callable[[Settings], str] | None = None  # shown to operators
    revoked: Callable[[Any], list[str]] | None = None


@dataclass(frozen=True)
class NetworkSpec:
    name: str  # social_accounts.network and Activity.network
    display_name: str
    schemes: tuple[Scheme, ...]  # its identity schemes; one has account=True
    triggers: tuple[Trigger, ...]
    adapter: Callable[[AdapterContext], SocialNetwork]
    triggers_setting: str | None = None  # the Settings field choosing its triggers
    parsers: Mapping[str, Callable[[ParseRequest], list[Activity]]] = field(default_factory=dict)
    json_lines: frozenset[str] = frozenset()  # parsers whose body is JSON lines (a list)
    link: LinkFlow | None = None
    sandbox: SandboxHandler | None = None
    webhook: Webhook | None = None
    handle_prefix: str = ""  # how a handle is shown ("@" on X)
    # Reads serving many accounts at once (bots/shared.py), or None where the deployment
    # reads each account's own streams only.
    shared_reader: Callable[[AdapterContext], SharedReader | None] | None = None
    # The monthly cap on posts read the deployment's API plan allows (None: no cap).
    read_cap: Callable[[Settings], int | None] | None = None
    # A live stream the worker reads beside the polls (Bluesky's Jetstream): jobs/stream.py.
    stream: Callable[[AdapterContext], StreamSource] | None = None
    # The notification channels it offers (bots/channels.py), in the order they are tried.
    channels: tuple[ChannelOffer, ...] = ()

    def account_identity(self, external_user_id: str) -> Identity:
        return identity.account(self.name, external_user_id)

    @property
    def account_scheme(self) -> Scheme:
        """The scheme a linked account's id becomes (register checks there is one)."""
        return next(s for s in self.schemes if s.account)

    @property
    def trigger_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.triggers)

    @property
    def always_on(self) -> frozenset[str]:
        return frozenset(t.name for t in self.triggers if t.always_on)

    def enabled_triggers(self, settings: Settings) -> frozenset[str]:
        """What the deployment runs (validated by Settings when it has a field)."""
        configured = getattr(settings, self.triggers_setting) if self.triggers_setting else None
        return triggers.deployment(configured, default=(t.name for t in self.triggers
                                                        if t.default),
                                   always_on=self.always_on)

    def account_triggers(self, settings: Settings, chosen: frozenset[str] | None
                         ) -> frozenset[str]:
        """What one account flattrs: the person's choice within the deployment's."""
        return triggers.for_account(self.enabled_triggers(settings), chosen,
                                    always_on=self.always_on)

    def allowed_actions(self, chosen: frozenset[str]) -> frozenset[str]:
        return triggers.allowed_actions(chosen, {t.name: t.actions for t in self.triggers})


class UnknownNetwork(LookupError):
    pass


_NETWORKS: dict[str, NetworkSpec] = {}


def register(spec: NetworkSpec) -> None:
    """Add a network (again: a no-op). Its identity schemes and trigger vocabulary go to
    core.identity and config, where the rules that cannot import bots/ check them."""
    if _NETWORKS.get(spec.name) is spec:
        return
    if spec.name in _NETWORKS:
        raise ValueError(f"network {spec.name!r} is registered already")
    if sum(s.account for s in spec.schemes) != 1 or any(s.network != spec.name
                                                       for s in spec.schemes):
        raise ValueError(f"{spec.name}: its schemes are its own, and one is its account's")
    taken = {o.name for other in _NETWORKS.values() for o in other.channels} | {"log", "email"}
    names = [o.name for o in spec.channels]
    if len(set(names)) != len(names) or taken & set(names):
        raise ValueError(f"{spec.name}: a channel name is taken: {sorted(taken & set(names))}")
    for scheme in spec.schemes:
        identity.register_scheme(scheme)
    if spec.triggers_setting:
        register_trigger_setting(spec.triggers_setting, TriggerVocabulary(
            spec.name, frozenset(spec.trigger_names),
            frozenset(t.name for t in spec.triggers if t.default), spec.always_on))
    _NETWORKS[spec.name] = spec


def unregister(name: str) -> None:
    """Forget a network (tests that add one for a while)."""
    _NETWORKS.pop(name, None)
    identity.unregister_network(name)
    unregister_trigger_settings(name)


def get(name: str) -> NetworkSpec:
    try:
        return _NETWORKS[name]
    except KeyError:
        raise UnknownNetwork(f"unknown network {name!r}: use "
                             f"{' or '.join(sorted(_NETWORKS))}") from None


def find(name: str) -> NetworkSpec | None:
    return _NETWORKS.get(name)


def all_networks() -> tuple[NetworkSpec, ...]:
    """In registration order (the order pages and help texts show them)."""
    return tuple(_NETWORKS.values())
