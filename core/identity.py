"""Identities: who holds a creation until a creator claims it, and who a linked account is.

An identity is (network, kind, id), written `<prefix><id>`: `twitter:12345`,
`facebook:page:678`, `facebook:user:9`, `url:https://example.org/post`. The strings are
stored in the database (things, claims, escrow, opt-outs), so their spelling never changes.

Each network registers its schemes (through bots.registry, since core imports no network
code): a prefix, the (network, kind) it means, and the pattern its ids must match in full.
`url:` is core's own: its id is a canonical URL. Parsing finds the one scheme whose prefix
starts the text and checks the rest, so an id may itself contain colons (a Mastodon
`host:id`, a Bluesky `did:plc:...`): no prefix may be the start of another.

This module is the only place that builds or cuts apart an identity string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import UserError
from core.urls import canonicalize

URL_PREFIX = "url:"
URL_NETWORK, URL_KIND = "web", "url"


class InvalidIdentity(UserError, ValueError):
    """Not an identity of any registered scheme."""


@dataclass(frozen=True)
class Scheme:
    """`prefix` + an id matching `id_pattern` (ASCII only: `[0-9]`, never `\\d`) means
    (network, kind). `account`: the kind a linked account of this network is."""

    prefix: str
    network: str
    kind: str
    id_pattern: str
    account: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9]*:(?:[a-z][a-z0-9]*:)*", self.prefix):
            raise ValueError(f"an identity prefix is lower-case words ending in ':': "
                             f"{self.prefix!r}")
        if not self.id_pattern.isascii() or "\\d" in self.id_pattern or "$" in self.id_pattern:
            raise ValueError(f"{self.prefix}: id patterns are ASCII, without \\d or $ "
                             "(ids are matched in full)")
        re.compile(self.id_pattern)


@dataclass(frozen=True, order=True)
class Identity:
    network: str
    kind: str
    id: str

    def __str__(self) -> str:
        return format_identity(self)

    @property
    def is_url(self) -> bool:
        return (self.network, self.kind) == (URL_NETWORK, URL_KIND)


_SCHEMES: dict[str, Scheme] = {}  # by prefix, in registration order


def register_scheme(scheme: Scheme) -> None:
    """Add a network's scheme; registering the same scheme again is a no-op."""
    if _SCHEMES.get(scheme.prefix) == scheme:
        return
    for other in (*_SCHEMES.values(), _URL):
        if other.prefix.startswith(scheme.prefix) or scheme.prefix.startswith(other.prefix):
            raise ValueError(f"identity prefix {scheme.prefix!r} overlaps {other.prefix!r}")
        if (other.network, other.kind) == (scheme.network, scheme.kind):
            raise ValueError(f"{scheme.network}/{scheme.kind} already has a scheme "
                             f"({other.prefix!r})")
    if scheme.account and any(s.account and s.network == scheme.network
                              for s in _SCHEMES.values()):
        raise ValueError(f"{scheme.network} already has an account scheme")
    _SCHEMES[scheme.prefix] = scheme


def unregister_network(network: str) -> None:
    """Forget a network's schemes (tests that add a network for a while)."""
    for prefix in [p for p, s in _SCHEMES.items() if s.network == network]:
        del _SCHEMES[prefix]


def schemes() -> tuple[Scheme, ...]:
    return tuple(_SCHEMES.values())


_URL = Scheme(URL_PREFIX, URL_NETWORK, URL_KIND, r".+")


# -- the one parse and the one format ----------------------------------------------------


def parse(text: str) -> Identity:
    """The identity a string names (surrounding spaces ignored; a url: identity's URL is
    canonicalized). Raises InvalidIdentity."""
    value = (text or "").strip()
    if value.startswith(URL_PREFIX):
        return url(canonicalize(value[len(URL_PREFIX):]))
    for scheme in _SCHEMES.values():
        if value.startswith(scheme.prefix):
            rest = value[len(scheme.prefix):]
            if re.fullmatch(scheme.id_pattern, rest):
                return Identity(scheme.network, scheme.kind, rest)
            break
    raise InvalidIdentity("not an identity: %(text)r (expected %(expected)s)",
                          text=value[:200], expected=_expected())


def try_parse(text: str | None) -> Identity | None:
    try:
        return parse(text or "")
    except (InvalidIdentity, ValueError):
        return None


def format_identity(identity: Identity) -> str:
    return _scheme_of(identity.network, identity.kind).prefix + identity.id


def of(network: str, kind: str, id: str) -> Identity:
    """A checked identity: the id must match the scheme's pattern."""
    scheme = _scheme_of(network, kind)
    if scheme is not _URL and not re.fullmatch(scheme.id_pattern, id):
        raise InvalidIdentity("not a %(prefix)sID identity: %(text)r", prefix=scheme.prefix,
                              text=id[:200])
    return Identity(network, kind, id)


def try_of(network: str, kind: str, id: str) -> Identity | None:
    """`of`, or None when the id is not one."""
    try:
        return of(network, kind, id)
    except InvalidIdentity:
        return None


def url(canonical_url: str) -> Identity:
    """A creation known only by its URL (the caller canonicalized it)."""
    return Identity(URL_NETWORK, URL_KIND, canonical_url)


def account(network: str, external_user_id: str) -> Identity:
    """Who a linked account of `network` is (its user id on that network)."""
    for scheme in _SCHEMES.values():
        if scheme.network == network and scheme.account:
            return of(network, scheme.kind, external_user_id)
    known = sorted({s.network for s in _SCHEMES.values() if s.account})
    raise InvalidIdentity("unknown network %(network)r: use %(known)s", network=network,
                          known=" or ".join(known))


def prefix(network: str, kind: str) -> str:
    """The prefix of (network, kind): for a SQL `LIKE prefix || '%'` over stored identities."""
    return _scheme_of(network, kind).prefix


def url_prefix(canonical_prefix: str) -> str:
    """The start of the identity of every thing under a claimed URL prefix."""
    return URL_PREFIX + canonical_prefix


def sql_url_identity(column: str) -> str:
    """SQL for the url: identity of a canonical-URL column."""
    return f"'{URL_PREFIX}' || {column}"


def matches_url_prefix(identity: str, canonical_prefix: str) -> bool:
    return identity.startswith(url_prefix(canonical_prefix))


def _scheme_of(network: str, kind: str) -> Scheme:
    if (network, kind) == (URL_NETWORK, URL_KIND):
        return _URL
    for scheme in _SCHEMES.values():
        if (scheme.network, scheme.kind) == (network, kind):
            return scheme
    raise InvalidIdentity("no identity scheme for %(network)s/%(kind)s", network=network,
                          kind=kind)


def _expected() -> str:
    shown = [f"{s.prefix}ID" for s in _SCHEMES.values()]
    return ", ".join(shown) + (" or " if shown else "") + "url:https://..."
