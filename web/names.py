"""How the pages name things: an identity as "Creator 0 (@creator0 on X)" rather than
`twitter:800000001` (core.names keeps what the networks showed), a creation by its title
or its post's text rather than a bare post URL, and amounts that never wrap."""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup, escape

from bots import registry
from core import identity
from core.names import Name
from web import i18n
from web.i18n import _

# An amount in the page's language ("€0.31", "0,31 €"), never cut across two lines.
amount = i18n.amount
amount_html = i18n.amount_html


def who(held: str | None, names: Mapping[str, Name]) -> str:
    """An identity as people know it: its name and handle on its network, when a network
    showed them; a URL identity is its URL."""
    if not held:
        return _("nobody yet")
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
        return _("%(name)s (%(handle)s on %(network)s)", name=shown_name, handle=handle,
                 network=network)
    if handle:
        return _("%(handle)s on %(network)s", handle=handle, network=network)
    if shown_name:
        return f"{shown_name} ({network} {parsed.kind})"
    return f"{network} {parsed.kind} {parsed.id}"


def link_text(url: str, title: str | None, held: str | None,
              names: Mapping[str, Name]) -> str:
    """What a link to a creation says: its title (a page's, or the start of a post);
    else, for a network's own post, whose post it is; else the URL."""
    if title:
        return title
    parsed = identity.try_parse(held) if held else None
    if parsed is not None and not parsed.is_url:
        return _("a post by %(who)s", who=who(held, names))
    return url


def who_html(held: str | None, names: Mapping[str, Name]) -> Markup:
    """`who`, with the identity itself in a title attribute (for the curious)."""
    return Markup('<span class="who" title="{}">{}</span>').format(held or "",
                                                                  escape(who(held, names)))
