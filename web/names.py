"""How the pages name things: an identity as "Creator 0 (@creator0 on X)" rather than
`twitter:800000001` (core.names keeps what the networks showed), a creation by its title
or its post's text rather than a bare post URL, and amounts that never wrap."""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup, escape

from bots import naming
from core import identity
from core.names import Name
from web import i18n
from web.i18n import _

# An amount in the page's language ("€0.31", "0,31 €"), never cut across two lines.
amount = i18n.amount
amount_html = i18n.amount_html


def who(held: str | None, names: Mapping[str, Name]) -> str:
    """An identity as people know it (bots.naming), in the page's language."""
    return naming.who(held, names, gettext=_)


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
