"""The networks this service knows. Adding one: a folder under bots/ (see bots/registry.py
for what it provides) and one line in BUILTIN."""

from __future__ import annotations

from bots import registry
from bots.bluesky.spec import SPEC as BLUESKY
from bots.facebook.spec import SPEC as FACEBOOK
from bots.mastodon.spec import SPEC as MASTODON
from bots.registry import NetworkSpec
from bots.x.spec import SPEC as X

BUILTIN: tuple[NetworkSpec, ...] = (X, FACEBOOK, MASTODON, BLUESKY)


def install() -> None:
    """Register the built-in networks (again: a no-op). The composition roots call this at
    start-up (runtime.app.build_app, the `flattr` command, the tests' conftest)."""
    for spec in BUILTIN:
        registry.register(spec)
