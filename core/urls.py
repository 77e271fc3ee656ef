"""Canonical URLs: pure functions, no network. (Identities: core/identity.py.)"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from core.errors import UserError

MAX_URL_LENGTH = 2048
_MAX_UNWRAP = 4

# Query parameters that only track the click; they never change what the page is.
_TRACKING_EXACT = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid",
     "yclid", "_hsenc", "_hsmi", "mkt_tok", "ref_src", "ref_url", "s_cid", "twclid", "si"}
)
_TRACKING_PREFIXES = ("utm_", "__cft__", "__tn__", "hsa_")

# Redirect wrappers that carry their target in a query parameter.
_WRAPPERS: dict[str, tuple[str, ...]] = {
    "l.facebook.com": ("u",),
    "lm.facebook.com": ("u",),
    "l.messenger.com": ("u",),
    "l.instagram.com": ("u",),
    "www.google.com": ("q", "url"),
    "google.com": ("q", "url"),
    "www.youtube.com": ("q",),
    "out.reddit.com": ("url",),
    "href.li": (),  # the whole query is the target
    "t.umblr.com": ("z",),
}
_WRAPPER_PATHS = {"www.google.com": "/url", "google.com": "/url", "www.youtube.com": "/redirect"}

_X_HOSTS = frozenset({"x.com", "www.x.com", "twitter.com", "www.twitter.com",
                      "mobile.twitter.com", "mobile.x.com"})
_X_STATUS = re.compile(r"^/(?:[A-Za-z0-9_]{1,15}|i(?:/web)?)/status(?:es)?/(\d{1,25})(?:/.*)?$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidURL(UserError, ValueError):
    """Not an absolute http(s) URL we can stand behind."""


def canonicalize(url: str) -> str:
    """The one spelling of a URL used to recognise a creation.

    Lower-cases scheme and host, drops default ports, user info, fragments and tracking
    parameters, unwraps redirect wrappers whose target is in the URL itself, and spells
    every X post as https://x.com/i/status/ID. Raises InvalidURL.
    """
    current = url
    for _ in range(_MAX_UNWRAP + 1):
        parts = _split(current)
        target = _wrapped_target(parts)
        if target is None:
            return _rebuild(parts)
        current = target
    raise InvalidURL(f"too many nested redirect wrappers: {url[:200]!r}")


def x_post_id(url: str) -> str | None:
    """The post id when a canonical URL is an X post, else None."""
    parts = urlsplit(url)
    if parts.hostname not in _X_HOSTS:
        return None
    match = _X_STATUS.match(parts.path)
    return match.group(1) if match else None


def x_post_url(post_id: str) -> str:
    return f"https://x.com/i/status/{post_id}"


def is_x_url(url: str) -> bool:
    return urlsplit(url).hostname in _X_HOSTS


def _split(url: str):  # type: ignore[no-untyped-def]
    text = (url or "").strip()
    if not text or len(text) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in text):
        raise InvalidURL(f"not a URL: {text[:200]!r}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"not a URL: {text[:200]!r} ({exc})") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host or not re.fullmatch(r"[a-z0-9.\-\[\]:_]+", host):
        raise InvalidURL(f"not an absolute http(s) URL: {text[:200]!r}")
    return scheme, host, port, parts.path, parts.query


def _wrapped_target(parts) -> str | None:  # type: ignore[no-untyped-def]
    _scheme, host, _port, path, query = parts
    if host not in _WRAPPERS:
        return None
    if host in _WRAPPER_PATHS and path != _WRAPPER_PATHS[host]:
        return None
    names = _WRAPPERS[host]
    if not names:
        candidate = unquote(query)
        return candidate if _is_http(candidate) else None
    params = dict(parse_qsl(query, keep_blank_values=True))
    for name in names:
        value = params.get(name, "")
        if _is_http(value):
            return value
    return None


def _is_http(text: str) -> bool:
    return text[:8].lower().startswith(("http://", "https://"))


def _rebuild(parts) -> str:  # type: ignore[no-untyped-def]
    scheme, host, port, path, query = parts
    if host in _X_HOSTS:
        match = _X_STATUS.match(path)
        if match:
            return x_post_url(match.group(1))
        host = "x.com"
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    # '%' is not safe: decoding then re-encoding it keeps canonicalization idempotent.
    path = quote(unquote(path), safe="/:@!$&'()*+,;=-._~") or "/"
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _is_tracking(k)]
    return urlunsplit((scheme, netloc, path, urlencode(kept, doseq=True), ""))


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_EXACT or lowered.startswith(_TRACKING_PREFIXES)
