"""An identity as people know it, for text outside the web pages (`flattr report`,
`flattr demo`): "Creator 0 (@creator0 on X)" rather than `twitter:800000001`, from the
names the networks showed (core.names) and each network's display name and handle prefix
(bots.registry). web/names.py passes the page's translation."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bots import registry
from core import identity
from core.names import Name


def _english(message: str, **params: object) -> str:
    return message % params if params else message


def who(held: str | None, names: Mapping[str, Name],
        gettext: Callable[..., str] = _english) -> str:
    """Its name and handle on its network when a network showed them; a URL identity is
    its URL; otherwise the network, the kind and the id. `gettext` translates (the pages
    pass the page's; text outside the pages is English)."""
    if not held:
        return gettext("nobody yet")
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
        return gettext("%(name)s (%(handle)s on %(network)s)", name=shown_name, handle=handle,
                       network=network)
    if handle:
        return gettext("%(handle)s on %(network)s", handle=handle, network=network)
    if shown_name:
        return f"{shown_name} ({network} {parsed.kind})"
    return f"{network} {parsed.kind} {parsed.id}"
