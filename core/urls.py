"""Canonical URLs: pure functions, no network. (Identities: core/identity.py.)

A canonical URL is the one spelling used to recognise a creation. Only what is certain
is changed: scheme and host case, default ports, user info, fragments, redirect wrappers
whose target is in the URL, percent-encoding case, percent-encoded unreserved characters,
dot segments, internationalised host names (stored as IDNA ASCII), and the entries of the
table in core.url_rules (equivalent spellings, per-share tracking parameters). Reserved
characters stay as they were given: `%2F` and `/` are two different paths.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import idna

from core import url_rules
from core.errors import UserError

MAX_URL_LENGTH = 2048
_MAX_UNWRAP = 4

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

    Lower-cases scheme and host (internationalised names become their IDNA ASCII form),
    drops default ports, user info, fragments and tracking parameters, normalises
    percent-encoding without decoding reserved characters, unwraps redirect wrappers whose
    target is in the URL itself, spells every X post as https://x.com/i/status/ID and every
    YouTube video as https://www.youtube.com/watch?v=ID. Idempotent. Raises InvalidURL, and
    nothing else, for anything that is not an absolute http(s) URL with a valid host, or
    whose canonical form is longer than MAX_URL_LENGTH.
    """
    if not isinstance(url, str):
        raise InvalidURL("not a URL: %(text).200r", text=url)
    try:
        canonical = _canonicalize(url)
    except InvalidURL:
        raise
    except (ValueError, UnicodeError) as exc:  # what urllib, idna or ipaddress refuse
        raise InvalidURL("not a URL: %(text)r (%(reason)s)", text=url[:200],
                         reason=type(exc).__name__) from exc
    if len(canonical) > MAX_URL_LENGTH:
        raise InvalidURL(
            "URL too long: %(length)s characters once encoded (at most %(max)s): %(text)r...",
            length=len(canonical), max=MAX_URL_LENGTH, text=url[:100],
        )
    return canonical


def _canonicalize(url: str) -> str:
    current = url
    for _ in range(_MAX_UNWRAP + 1):
        parts = _split(current)
        target = _wrapped_target(parts)
        if target is None:
            return _rebuild(parts)
        current = target
    raise InvalidURL("too many nested redirect wrappers: %(text)r", text=url[:200])


def x_post_id(url: str) -> str | None:
    """The post id when a canonical URL is an X post, else None."""
    parts = urlsplit(url)
    if parts.hostname not in _X_HOSTS:
        return None
    match = _X_STATUS.match(parts.path)
    return match.group(1) if match else None


def x_post_url(post_id: str) -> str:
    return f"https://x.com/i/status/{post_id}"


def host_of(url: str) -> str:
    """The lower-case host of a URL ('' when there is none or it cannot be read)."""
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""


def platform_of(url: str) -> str | None:
    """'x' or 'facebook' when the URL is a page of the network itself, else None."""
    host = host_of(url)
    for network, domains in url_rules.PLATFORM_DOMAINS.items():
        if _under(host, domains):
            return network
    return None


def is_x_url(url: str) -> bool:
    """Is this one of X's own pages (any subdomain of x.com or twitter.com, t.co, ...)?"""
    return platform_of(url) == "x"


def is_facebook_url(url: str) -> bool:
    return platform_of(url) == "facebook"


def is_shortener(url: str) -> bool:
    """A URL shortener's link: its path is an opaque code, never a creation's identity."""
    return _under(host_of(url), url_rules.SHORTENER_DOMAINS)


def is_creation_host(url: str) -> bool:
    """May a page at this URL be an outside creation? False for the networks' own pages
    (X, Facebook), for URL shorteners, and for anything that is not a URL."""
    host = host_of(url)
    return bool(host) and platform_of(url) is None and not is_shortener(url)


def is_less_specific(url: str) -> bool:
    """Is this canonical URL a site's root, a sign-in, consent or captcha page, or a bare
    profile? Such a page never identifies the creation a link was meant to share."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return True
    host = (parts.hostname or "").rstrip(".")
    segments = [s for s in parts.path.split("/") if s]
    if not segments and not parts.query:
        return True
    if host.startswith(url_rules.SIGN_IN_HOST_PREFIXES):
        return True
    if any(unquote(s).lower() in url_rules.SIGN_IN_PATH_WORDS for s in segments):
        return True
    if host in url_rules.PROFILE_HOSTS and len(segments) == 1 and not parts.query:
        return True
    prefixes = url_rules.PROFILE_PREFIXES.get(host, frozenset())
    return len(segments) == 2 and segments[0] in prefixes


def pick_entity_url(entity: Mapping[str, object]) -> str | None:
    """The canonical link an X URL entity stands for, or None when it names no page we can
    stand behind.

    The expanded URL (what the person posted) is preferred. The unwound URL (where X's
    crawler ended after redirects) is taken only when the expanded URL is a shortener or
    X's own t.co, the unwinding did not fail (`status` 4xx/5xx), and it is at least as
    specific: never a site's root, a sign-in or consent page, a bare profile, or another
    short link. A short link that cannot be unwound is no one's creation: None.
    """
    expanded = _canonical_or_none(entity.get("expanded_url"))
    if expanded is not None and not _is_opaque(expanded):
        return expanded
    unwound = _canonical_or_none(entity.get("unwound_url"))
    if unwound is None or _unwinding_failed(entity.get("status")):
        return None
    if _is_opaque(unwound) or is_less_specific(unwound):
        return None
    return unwound


def _canonical_or_none(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return canonicalize(value)
    except InvalidURL:
        return None


def _is_opaque(url: str) -> bool:
    return is_shortener(url) or _under(host_of(url), ("t.co",))


def _unwinding_failed(status: object) -> bool:
    if isinstance(status, bool):
        return False
    if isinstance(status, str) and status.isascii() and status.isdigit():
        status = int(status)
    return isinstance(status, int) and status >= 400


def _under(host: str, domains: tuple[str, ...] | frozenset[str]) -> bool:
    """Is `host` one of `domains` or a subdomain of one?"""
    if not host:
        return False
    if host in domains:
        return True
    return any(host.endswith("." + domain) for domain in domains)


def _split(url: str):  # type: ignore[no-untyped-def]
    text = url.strip()
    if not text or len(text) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in text):
        raise InvalidURL("not a URL: %(text)r", text=text[:200])
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL("not a URL: %(text)r (%(reason)s)", text=text[:200],
                         reason=str(exc)) from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise InvalidURL("not an absolute http(s) URL: %(text)r", text=text[:200])
    host = _canonical_host(parts.hostname, text)
    return scheme, host, port, parts.path, parts.query


_LABEL = re.compile(r"(?!-)(?!_+$)[a-z0-9_-]{1,63}(?<!-)")


def _canonical_host(host: str, text: str) -> str:
    """A DNS name as lower-case ASCII (IDNA for internationalised names), or an IP literal.
    Refuses empty labels, labels over 63 characters, leading or trailing hyphens and
    labels of underscores only."""
    refused = InvalidURL("not a valid host name in %(text)r", text=text[:200])
    if ":" in host:  # urlsplit gives IPv6 literals without their brackets; no zone ids
        if "%" in host:
            raise refused
        try:
            return ipaddress.IPv6Address(host).compressed
        except ValueError:
            raise refused from None
    if host.endswith("."):  # the root label: example.org. is example.org
        host = host[:-1]
    if not host.isascii() or "xn--" in host:
        try:
            host = idna.encode(host, uts46=True, transitional=False, std3_rules=False).decode()
        except (idna.IDNAError, UnicodeError):
            raise refused from None
    host = host.lower()
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in host.split(".")):
        raise refused
    return host


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


_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")


def _rebuild(parts) -> str:  # type: ignore[no-untyped-def]
    scheme, host, port, path, query = parts
    host = _alias(host)
    path = _remove_dot_segments(_normalise_percent(path, _PATH_KEEP)) or "/"
    default_port = port in (None, _DEFAULT_PORTS[scheme])
    if host in _X_HOSTS:
        match = _X_STATUS.match(path)
        if match:
            return x_post_url(match.group(1))
        host = "x.com"
    video = _youtube_video(host, path, query) if default_port else None
    if video:
        return f"https://www.youtube.com/watch?v={video}"
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = host if default_port else f"{host}:{port}"
    pairs = parse_qsl(query, keep_blank_values=True, errors="surrogateescape")
    kept = [(k, v) for k, v in pairs if not _is_tracking(k, host)]
    query = urlencode(kept, encoding="utf-8", errors="surrogateescape")
    return urlunsplit((scheme, netloc, path, query, ""))


def _alias(host: str) -> str:
    """The usual spelling of a host that has several (mobile sites, bare domains)."""
    if host in url_rules.HOST_ALIASES:
        return url_rules.HOST_ALIASES[host]
    for domain in url_rules.MOBILE_LABEL_DOMAINS:
        if host.endswith(".m." + domain):
            return host[: -len(".m." + domain)] + "." + domain
    return host


def _youtube_video(host: str, path: str, query: str) -> str | None:
    if host not in url_rules.YOUTUBE_HOSTS:
        return None
    segments = [s for s in path.split("/") if s]
    candidate = ""
    if host == "youtu.be":
        candidate = segments[0] if len(segments) == 1 else ""
    elif segments == ["watch"]:
        candidate = next((v for k, v in parse_qsl(query) if k == "v"), "")
    elif len(segments) == 2 and segments[0] in url_rules.YOUTUBE_VIDEO_PATHS:
        candidate = segments[1]
    return candidate if _YOUTUBE_ID.fullmatch(candidate) else None


_UNRESERVED = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)
_PATH_KEEP = _UNRESERVED | frozenset(b"!$&'()*+,;=:@/")
_HEX = frozenset(b"0123456789abcdefABCDEF")


def _normalise_percent(text: str, keep: frozenset[int]) -> str:
    """Percent-encoding in one spelling: upper-case hex digits, unreserved characters
    decoded, reserved ones left encoded or not as given (so %2F stays apart from /), and
    everything else (spaces, non-ASCII as UTF-8, a stray %) encoded."""
    data = text.encode("utf-8", "surrogatepass")
    out: list[str] = []
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == 0x25 and i + 2 < len(data) and data[i + 1] in _HEX and data[i + 2] in _HEX:
            value = int(data[i + 1 : i + 3], 16)
            out.append(chr(value) if value in _UNRESERVED else "%" + f"{value:02X}")
            i += 3
            continue
        out.append(chr(byte) if byte in keep else f"%{byte:02X}")
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 for an absolute path: /a/./b/../c is /a/c."""
    segments = path.split("/")
    if "." not in segments and ".." not in segments:
        return path
    out: list[str] = []
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment in (".", ".."):
            if segment == ".." and len(out) > 1:
                out.pop()
            if index == last:
                out.append("")
            continue
        out.append(segment)
    return "/".join(out)


def _is_tracking(name: str, host: str = "") -> bool:
    lowered = name.lower()
    if lowered in url_rules.TRACKING_PARAMS or lowered.startswith(url_rules.TRACKING_PREFIXES):
        return True
    return any(
        _under(host, (domain,)) and lowered in names
        for domain, names in url_rules.HOST_TRACKING_PARAMS.items()
    )
