"""Words the pages show for values kept in the database or named by the networks (trigger
names, claim kinds, notification channels): marked for the catalogue here, translated
where shown."""

from __future__ import annotations

from web.i18n import N_, _

TRIGGERS = {"likes": N_("likes"), "reposts": N_("reposts"), "explicit": N_("explicit"),
            "page_likes": N_("page likes"), "shared_links": N_("shared links"),
            "favourites": N_("favourites"), "boosts": N_("boosts")}
CLAIM_KINDS = {"identity": N_("identity"), "prefix": N_("URL prefix")}
CHANNELS = {"log": N_("Log (development)"), "email": N_("E-mail"),
            "x_dm": N_("X direct message"), "x_mention": N_("X mention"),
            "mastodon_dm": N_("Mastodon direct message")}


def trigger_label(name: str) -> str:
    return _(TRIGGERS.get(name, name.replace("_", " ")))
