"""What the bots hand to the core: plain values, no network and no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Target:
    """Something an activity may flattr.

    `url` is canonical (core.urls.canonicalize) or None; `identity` is who holds the
    creation until a creator claims it (twitter:ID, facebook:page:ID, url:...). `title`:
    what the creation is called (a page's title, the start of a post's text);
    `holder_name` and `holder_handle`: how the network shows `identity` (its display name
    and handle, without the network's prefix), when the response said (core.names keeps
    them for the pages).
    """

    url: str | None
    identity: str | None
    title: str | None = None
    holder_name: str | None = None
    holder_handle: str | None = None


@dataclass(frozen=True)
class Activity:
    """One thing a person did on a network that may become a flattr.

    Targets are in order of preference: links first, the post itself last. The core
    flattrs the first link that is a registered thing (or under a claimed URL prefix),
    else the last target.
    """

    network: str  # a registered network's name (bots.registry), or "web" for a manual flattr
    action: str  # what the network's triggers let through (bots.registry.Trigger.actions)
    external_id: str
    actor: str
    occurred_at: datetime
    targets: tuple[Target, ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        """Idempotency key: the same action on the same object by the same actor."""
        return f"{self.network}:{self.actor}:{self.action}:{self.external_id}"
