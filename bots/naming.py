"""An identity as people know it, for text outside the web pages (`flattr report`,
`flattr demo`): "Creator 0 (@creator0 on X)" rather than `twitter:800000001`, from the
names the networks showed (core.names) and each network's display name and handle prefix
(bots.registry). web/names.py says the same for the pages."""

from __future__ import annotations

from collections.abc import Mapping

from bots import registry
from core import identity
from core.names import Name


def who(held: str | None, names: Mapping[str, Name]) -> str:
    """Its name and handle on its network when a network showed them; a URL identity is
    its URL; otherwise the network, the kind and the id."""
    if not held:
        return "nobody yet"
    parsed = identity.try_parse(held)
    if parsed is None:
        return held
    if parsed.is_url:
        return parsed.id
    spec = registry.find(parsed.network)
    network = spec.display_name if spec is not None else parsed.network
    prefix = spec.handle_prefix if spec is not None else ""
    name = names.get(held)
    shown_name = name.display_name if name else None
    handle = f"{prefix}{name.handle}" if name and name.handle else None
    if shown_name and handle:
        return f"{shown_name} ({handle} on {network})"
    if handle:
        return f"{handle} on {network}"
    if shown_name:
        return f"{shown_name} ({network} {parsed.kind})"
    return f"{network} {parsed.kind} {parsed.id}"
