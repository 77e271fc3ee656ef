"""The canonicalisation table: which hosts are the networks themselves, which are URL
shorteners, which spellings name the same page, and which query parameters only track a
share. Data only; core.urls applies it. Every entry is something we are sure of: a host or
parameter missing here is left alone, never guessed at.

A domain in these tables matches the host itself and every subdomain of it
("twitter.com" covers help.twitter.com, pic.twitter.com and mobile.twitter.com).
"""

from __future__ import annotations

# -- the networks' own pages -------------------------------------------------------------
# Links to these are the network itself (help pages, media, short links, profiles and
# settings), never an outside creation. A post on the network is flattred as the post
# (its author's identity), never as a url: identity.
PLATFORM_DOMAINS: dict[str, tuple[str, ...]] = {
    "x": (
        "twitter.com",  # every subdomain: help., support., pic., mobile., developer., ...
        "x.com",  # pic.x.com, help.x.com, ...
        "t.co",  # X's link wrapper, never fetched
        "twimg.com",  # pbs.twimg.com, video.twimg.com: X's media servers
        "twttr.com",
    ),
    "facebook": (
        "facebook.com",
        "fb.com",
        "fb.me",  # Facebook's own short links
        "fb.watch",
        "fbcdn.net",  # photos and videos served by Facebook
        "fbsbx.com",
        "facebook.net",
        "messenger.com",
    ),
}

# -- URL shorteners ----------------------------------------------------------------------
# Their path is an opaque code: a short link says nothing about the creation it leads to,
# so it is never a creation's identity. X's `unwound_url` may name the target.
SHORTENER_DOMAINS: frozenset[str] = frozenset({
    "bit.ly", "bitly.com", "j.mp", "bit.do", "buff.ly", "ow.ly", "tinyurl.com", "goo.gl",
    "dlvr.it", "trib.al", "ift.tt", "is.gd", "tiny.cc", "t.ly", "rebrand.ly", "cutt.ly",
    "shorturl.at", "rb.gy", "lnkd.in", "amzn.to", "wp.me", "eepurl.com", "po.st",
    "shar.es", "spoti.fi", "apple.co", "flip.it", "hubs.ly", "hubs.la",
    # newspapers' and broadcasters' own shorteners
    "wapo.st", "reut.rs", "nyti.ms", "bbc.in", "cnn.it", "econ.st", "on.ft.com",
    "bloom.bg", "politi.co", "theatln.tc", "wrd.cm", "ti.me", "nbcnews.to", "abcn.ws",
    "cbsn.ws", "huffp.st", "n.pr", "gu.com", "lat.ms", "ind.pn",
})

# -- well-known equivalent spellings -----------------------------------------------------
# Hosts that are another spelling of one host (mobile sites, bare domains, old domains).
HOST_ALIASES: dict[str, str] = {
    "youtube.com": "www.youtube.com",
    "m.youtube.com": "www.youtube.com",
    "facebook.com": "www.facebook.com",
    "m.facebook.com": "www.facebook.com",
    "mobile.facebook.com": "www.facebook.com",
    "web.facebook.com": "www.facebook.com",
    "instagram.com": "www.instagram.com",
    "instagr.am": "www.instagram.com",
    "m.instagram.com": "www.instagram.com",
}
# `<lang>.m.wikipedia.org` is the mobile spelling of `<lang>.wikipedia.org` (same for the
# sister projects): the ".m" label is dropped.
MOBILE_LABEL_DOMAINS: tuple[str, ...] = (
    "wikipedia.org", "wiktionary.org", "wikimedia.org", "wikiquote.org", "wikibooks.org",
)
# A YouTube video has one page: https://www.youtube.com/watch?v=ID. These hosts and paths
# name the same video: youtu.be/ID, /watch?v=ID, /shorts/ID, /embed/ID, /live/ID, /v/ID.
# Everything else in such a URL (start time, playlist, share id) is not the creation.
YOUTUBE_HOSTS: frozenset[str] = frozenset({
    "youtu.be", "www.youtube.com", "youtube.com", "m.youtube.com", "music.youtube.com",
    "www.youtube-nocookie.com", "youtube-nocookie.com",
})
YOUTUBE_VIDEO_PATHS: tuple[str, ...] = ("shorts", "embed", "live", "v", "e")

# -- per-share tracking parameters -------------------------------------------------------
# Dropped on every host: they only say who clicked, where or when a link was shared.
TRACKING_PARAMS: frozenset[str] = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "twclid", "yclid",
    "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "s_cid", "_gl",
    "igshid", "igsh",  # Instagram share ids
    "ref_src", "ref_url",  # X's embed and share marks (ref_src=twsrc^tfw)
    "hss_channel",  # Hootsuite's per-channel mark (hss_channel=tw-<id>, fbp-<id>)
    "ssm",  # social share medium (ssm=FB_CC, TW_CC) added by share buttons
})
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "__cft__", "__tn__", "hsa_")
# Dropped only on these hosts (and their subdomains): elsewhere the same name may mean
# something, so it is kept.
HOST_TRACKING_PARAMS: dict[str, frozenset[str]] = {
    "youtube.com": frozenset({"feature", "si", "pp", "ab_channel"}),
    "youtu.be": frozenset({"feature", "si"}),
    "x.com": frozenset({"s", "t"}),  # ?s=20&t=<share token> on shared X links
    "twitter.com": frozenset({"s", "t"}),
    "open.spotify.com": frozenset({"si", "nd", "context"}),
    "tiktok.com": frozenset({
        "_r", "_t", "is_from_webapp", "sender_device", "sender_web_id", "web_id",
        "is_copy_url", "share_app_id", "share_item_id", "share_link_id", "social_sharing",
        "u_code", "tt_from", "checksum", "timestamp", "user_id", "sec_user_id", "preview_pb",
    }),
    "facebook.com": frozenset({
        "mibextid", "ref", "fref", "hc_ref", "refsrc", "_rdr", "sfnsn", "rdid", "share_url",
    }),
    "instagram.com": frozenset({"utm_source", "igshid", "igsh", "img_index_share"}),
    "reddit.com": frozenset({"share_id", "ref", "ref_source", "context"}),
    "linkedin.com": frozenset({"trk", "trackingid", "lipi", "rcm"}),
    "medium.com": frozenset({"source"}),
    "substack.com": frozenset({"r", "s", "showwelcomeonshare"}),
}

# -- pages that never identify a creation ------------------------------------------------
# Where an unwound link may end when the real page would not open: sign-in, consent and
# error pages. A link ending here is less specific than the one it came from.
SIGN_IN_PATH_WORDS: frozenset[str] = frozenset({
    "login", "log-in", "signin", "sign-in", "sign_in", "logon", "auth", "oauth",
    "authorize", "consent", "checkpoint", "sorry", "captcha", "challenge", "sso",
    "login.php", "signin.php",
})
SIGN_IN_HOST_PREFIXES: tuple[str, ...] = ("login.", "accounts.", "consent.", "auth.", "sso.")
# Hosts whose one-segment paths (without a query) are profiles: instagram.com/name,
# tiktok.com/@name, youtube.com/@name. A profile is a person, not the post that was shared.
PROFILE_HOSTS: frozenset[str] = frozenset({
    "www.instagram.com", "www.tiktok.com", "tiktok.com", "www.youtube.com",
    "www.facebook.com", "x.com", "www.linkedin.com", "www.threads.net", "threads.net",
    "medium.com", "www.pinterest.com", "bsky.app", "soundcloud.com", "www.twitch.tv",
    "github.com",
})
# Two-segment profile paths: youtube.com/channel/ID, /c/name, /user/name.
PROFILE_PREFIXES: dict[str, frozenset[str]] = {
    "www.youtube.com": frozenset({"channel", "c", "user"}),
}
